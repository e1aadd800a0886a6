"""Customer forums (座谈会): purpose and plan through approval, invitations and attendance, minutes,
classified findings turned into improvement actions, followed up, overdue ones flagged daily."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="forums",
    tags={"Forums": "Customer forums: plan through approval, invitations and attendance, minutes, findings and the "
                    "improvement actions they become."},
    scopes={"forums:read": "Read customer forums, their minutes, findings and improvement actions.",
            "forums:write": "Plan forums, invite, record minutes and findings, follow up improvement actions."},
    controllers="app.domains.forums.controllers:CONTROLLERS",
    approvals="app.domains.forums.services:REQUEST_TYPES",
    models=("app.domains.forums.models",),
    tasks=("app.domains.forums.tasks",),
    # Improvement actions past their due date: flagged, their owners told once.
    beat={"forums-overdue-actions": Beat("forums.overdue_scan", 86400.0)},
    catalogue="tests.catalogue.forums",
    personal="app.domains.forums.personal:PERSONAL",
)
