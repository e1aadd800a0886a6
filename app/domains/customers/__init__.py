"""Customers: person and enterprise profiles, consents, unit ownership, imports (DOMAIN.md,
"Customer information")."""

from app.core.manifest import Domain

DOMAIN = Domain(
    name="customers",
    tags={"Customers": "Person and enterprise customers: profiles with personal data encrypted and masked, "
                       "consents, unit ownership, protected changes and merges through approval, CSV imports."},
    scopes={"customers:read": "Read customers (personal data masked), their units and consents; reveal with the "
                              "permission customers.reveal.",
            "customers:write": "Create and change customers, record consents and ownership, ask for protected "
                               "changes, merges and imports."},
    controllers="app.domains.customers.controllers:CONTROLLERS",
    approvals="app.domains.customers.services:REQUEST_TYPES",
    models=("app.domains.customers.models",),
    tasks=("app.domains.customers.tasks",),
    personal="app.domains.customers.personal:PERSONAL",
)
