"""First-responder inquiries (首问负责制) and the handover switch."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="inquiries",
    tags={"Inquiries": "Inquiries under first-responder responsibility: the first responder owns one until "
                       "answered or transferred with a stated need; overdue ones surface to their owner."},
    scopes={"inquiries:read": "Read inquiries and their transfers; list overdue ones and one's own.",
            "inquiries:write": "Record, transfer and answer inquiries."},
    controllers="app.domains.inquiries.controllers:CONTROLLERS",
    models=("app.domains.inquiries.models",),
    tasks=("app.domains.inquiries.tasks",),
    # Hourly, so that a project's handover day starts within the hour in any time zone.
    beat={"inquiries-handover-switch": Beat("inquiries.handover_switch", 3600.0)},
    personal="app.domains.inquiries.personal:PERSONAL",
    timeline="app.domains.inquiries.timeline:TIMELINE",
)
