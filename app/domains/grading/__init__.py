"""Customer grading and credit: tenant-configurable rules (RFM and a weighted score, grades A–E),
grades with their history, credit limits and their change applications."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="grading",
    tags={"Grading and credit": "Grading rules, customer grades and their history, credit limits and their "
                                "change applications."},
    scopes={"grading:read": "Read grading rules, customer grades with their history, and credit limits.",
            "grading:write": "Configure grading rules, recompute grades, apply for credit-limit changes."},
    controllers="app.domains.grading.controllers:CONTROLLERS",
    approvals="app.domains.grading.services:REQUEST_TYPES",
    models=("app.domains.grading.models",),
    seeds="app.domains.grading.seeds",
    tasks=("app.domains.grading.tasks",),
    # Every tenant's grades, recomputed by its rules once a day.
    beat={"grading-recompute": Beat("grading.recompute_all", 86400.0)},
    catalogue="tests.catalogue.relations",
    timeline="app.domains.grading.timeline:TIMELINE",
)
