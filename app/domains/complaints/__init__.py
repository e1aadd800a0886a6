"""Complaints and disputes: the registers, the resolution loop, corrective actions, SLA clocks in business
time, statistics."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="complaints",
    tags={"Complaints": "The complaint register and its resolution loop: investigate, propose, approve, "
                        "negotiate, handle, feedback, corrective action.",
          "Disputes": "The dispute register: the same loop, its own numbering."},
    scopes={"complaints:read": "Read complaints and disputes, their history and statistics.",
            "complaints:write": "Register complaints and disputes and move them through the resolution loop."},
    controllers="app.domains.complaints.controllers:CONTROLLERS",
    approvals="app.domains.complaints.services:REQUEST_TYPES",
    models=("app.domains.complaints.models",),
    seeds="app.domains.complaints.seeds",
    tasks=("app.domains.complaints.tasks",),
    # SLA breaches and near-breaches, found and notified, escalated by rule.
    beat={"complaints-sla-scan": Beat("complaints.sla_scan", 300.0)},
    catalogue="tests.catalogue.complaints",
    personal="app.domains.complaints.personal:PERSONAL",
    timeline="app.domains.complaints.timeline:TIMELINE",
)
