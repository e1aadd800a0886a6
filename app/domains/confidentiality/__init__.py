"""Confidentiality of customer records (seed 000 §17): classification levels on customers, the
numbered register of classified material handed over, breaches and their remediation."""

from app.core.manifest import Domain

DOMAIN = Domain(
    name="confidentiality",
    tags={"Confidentiality": "Classification levels of customer records, the numbered register of classified "
                             "material handed over, and confidentiality breaches with their remediation."},
    scopes={"confidentiality:read": "Read the register of confidential material handed over and of breaches.",
            "confidentiality:write": "Classify customer records, hand material over and take it back, report and "
                                     "remedy breaches."},
    controllers="app.domains.confidentiality.controllers:CONTROLLERS",
    models=("app.domains.confidentiality.models",),
    seeds="app.domains.confidentiality.seeds",
    catalogue="tests.catalogue.confidentiality",
    demo="app.domains.confidentiality.demo:seed_demo",
)
