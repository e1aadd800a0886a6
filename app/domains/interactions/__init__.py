"""Interactions with customers: visits (plan → visit → report), receptions and hospitality with
their application through the approval engine, gifts, inbound and outbound calls."""

from app.core.manifest import Domain

DOMAIN = Domain(
    name="interactions",
    tags={"Interactions": "Visits, receptions and hospitality (with their application through approval), gifts, "
                          "inbound and outbound calls."},
    scopes={"interactions:read": "Read visits, receptions, gifts and calls.",
            "interactions:write": "Plan and report visits, apply for receptions and gifts, log calls."},
    controllers="app.domains.interactions.controllers:CONTROLLERS",
    approvals="app.domains.interactions.services:REQUEST_TYPES",
    models=("app.domains.interactions.models",),
    seeds="app.domains.interactions.seeds",
    catalogue="tests.catalogue.relations",
    personal="app.domains.interactions.personal:PERSONAL",
    timeline="app.domains.interactions.timeline:TIMELINE",
)
