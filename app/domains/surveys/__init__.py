"""Return visits and satisfaction: return-visit plans, questionnaires on a 1–5 scale, results per
customer, statistics."""

from app.core.manifest import Domain

DOMAIN = Domain(
    name="surveys",
    tags={"Return visits": "Return-visit plans, questionnaires and their results, satisfaction statistics."},
    scopes={"surveys:read": "Read return-visit plans, questionnaires, results and satisfaction statistics.",
            "surveys:write": "Plan return visits, define questionnaires, record results."},
    controllers="app.domains.surveys.controllers:CONTROLLERS",
    models=("app.domains.surveys.models",),
    seeds="app.domains.surveys.seeds",
    catalogue="tests.catalogue.relations",
    timeline="app.domains.surveys.timeline:TIMELINE",
)
