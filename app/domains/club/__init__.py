"""The customer club (客户会): its establishment plan through approval, members with tiers and a points
ledger, activities from plan to evaluation with registration, waitlist and QR check-in."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="club",
    tags={"Club": "The customer club: its establishment plan, members, tiers and points; activities from plan "
                  "through approval, publication, registration with waitlist and QR check-in, to evaluation."},
    scopes={"club:read": "Read clubs, members, points ledgers, activities and registrations.",
            "club:write": "Plan clubs and activities, enrol members, move points, register and check in members."},
    controllers="app.domains.club.controllers:CONTROLLERS",
    approvals="app.domains.club.services:REQUEST_TYPES",
    models=("app.domains.club.models",),
    tasks=("app.domains.club.tasks",),
    beat={"club-points-expiry": Beat("club.points_expiry", 86400.0)},  # daily: points earned expire
    catalogue="tests.catalogue.club",
    personal="app.domains.club.personal:PERSONAL",
    demo="app.domains.club.demo:seed_demo",
)
