"""Key accounts (大客户) and return visits followed through (seed 000 Ch 4 §11–14, Ch 5 §12–13;
seed 001 §3.3.3): improvement actions from surveys, big-customer strategies approved by the
GM, on-site return visits with approved and archived reports, after-sales service plans."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="keyaccounts",
    tags={"Key accounts": "Improvement actions from return visits and surveys; big customers' strategies and "
                          "on-site return visits with their reports; after-sales service plans through approval, "
                          "trial and force."},
    scopes={"keyaccounts:read": "Read improvement actions, big-customer strategies and visits, after-sales plans.",
            "keyaccounts:write": "Raise and track improvement actions, draft strategies, issue and report big-"
                                 "customer visits, draft after-sales service plans."},
    controllers="app.domains.keyaccounts.controllers:CONTROLLERS",
    approvals="app.domains.keyaccounts.services:REQUEST_TYPES",
    models=("app.domains.keyaccounts.models",),
    tasks=("app.domains.keyaccounts.tasks",),
    # Daily: an action is overdue the day after its due day.
    beat={"keyaccounts-improvements-overdue": Beat("keyaccounts.improvements_overdue", 86400.0)},
    catalogue="tests.catalogue.keyaccounts",
    demo="app.domains.keyaccounts.demo:seed_demo",
    timeline="app.domains.keyaccounts.services.visits:TIMELINE",
    personal="app.domains.keyaccounts.personal:PERSONAL",
)
