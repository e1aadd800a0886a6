"""Tenant working calendars: working hours, lunch break, public holidays and make-up working days; business time."""

from app.core.manifest import Domain

DOMAIN = Domain(
    name="calendars",
    tags={"Calendars": "The group's working calendars: working hours, public holidays and make-up working days, "
                       "that business-time clocks count in."},
    scopes={"calendars:read": "Read the group's working calendars.",
            "calendars:write": "Change the group's working calendars (hours, holidays, make-up working days)."},
    controllers="app.domains.calendars.controllers:CONTROLLERS",
    models=("app.domains.calendars.models",),
    seeds="app.domains.calendars.seeds",
)
