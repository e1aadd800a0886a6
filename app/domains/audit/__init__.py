"""The audit trail: search, CSV export for auditors, retention of the append-only log."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="audit",
    tags={"Audit": "The append-only audit trail: search, CSV export for auditors."},
    scopes={"audit:read": "Search and export the audit trail (with the permission audit.read at the group)."},
    controllers="app.domains.audit.controllers:CONTROLLERS",
    models=("app.domains.audit.models",),
    tasks=("app.domains.audit.tasks",),
    beat={"enforce-audit-retention": Beat("audit.enforce_retention", 86400.0)},
)
