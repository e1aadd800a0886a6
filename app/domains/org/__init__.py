"""The org tree: group → branches → projects → buildings → units, and who is responsible for a
unit's customers."""

from app.core.manifest import Domain

DOMAIN = Domain(
    name="org",
    tags={"Organisation": "The org tree: group → branches → projects → buildings → units; who is responsible "
                          "for a unit's customers."},
    scopes={"org:read": "Read the organisation tree: group, branches, projects.",
            "org:write": "Change the organisation tree."},
    controllers="app.domains.org.controllers:CONTROLLERS",
    models=("app.domains.org.models",),
    seeds="app.domains.org.seeds",
)
