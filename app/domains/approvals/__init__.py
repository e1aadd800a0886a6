"""One approval engine for every request type: see ``registry`` for how a domain plugs in."""

from app.core.manifest import Domain

DOMAIN = Domain(
    name="approvals",
    tags={"Approvals": "One approval engine for every request type: chains per type, requests and their rounds, "
                       "decisions, the approver's inbox."},
    scopes={"approvals:read": "Read approval chains, the approval requests one may see, and one's approval inbox.",
            "approvals:write": "Submit, decide, withdraw, resubmit and delegate approval requests; configure "
                               "chains."},
    controllers="app.domains.approvals.controllers:CONTROLLERS",
    approvals="app.domains.approvals.services:REQUEST_TYPES",
    models=("app.domains.approvals.models",),
    seeds="app.domains.approvals.seeds",
)
