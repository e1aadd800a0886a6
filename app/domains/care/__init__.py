"""Care campaigns (客户关怀): birthday and holiday greetings and handover anniversaries, sent by an
hourly scan through the outbox to customers who consented, once per occasion, outside quiet hours."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="care",
    tags={"Care": "Care campaigns: birthday and holiday greetings, handover anniversaries; the messages sent."},
    scopes={"care:read": "Read the care campaigns and the care messages sent.",
            "care:admin": "Define the group's care campaigns."},
    controllers="app.domains.care.controllers:CONTROLLERS",
    models=("app.domains.care.models",),
    tasks=("app.domains.care.tasks",),
    # Hourly: each tenant sends in its own morning, after its quiet hours end.
    beat={"care-scan": Beat("care.scan", 3600.0)},
    catalogue="tests.catalogue.care",
    personal="app.domains.care.personal:PERSONAL",
    demo="app.domains.care.demo:seed_demo",
)
