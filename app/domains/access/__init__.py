"""Roles (sets of permissions), their assignment to accounts at org nodes, and the one
permission check every domain uses (``authz``)."""

from app.core.manifest import Domain

DOMAIN = Domain(
    name="access",
    tags={"Access": "Roles (sets of permissions) and their assignment to accounts at org nodes: a role holds on "
                    "the node's whole subtree."},
    scopes={"access:read": "Read roles, permissions and role assignments.",
            "access:write": "Define roles and assign them to accounts."},
    controllers="app.domains.access.controllers:CONTROLLERS",
    models=("app.domains.access.models",),
    seeds="app.domains.access.seeds",
)
