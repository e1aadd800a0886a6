"""Property management after handover: the handover of each home, warranty repairs, the property
companies and their clients, the coordination log and its cadence, supervision, the owners'
committee and the replacement of the property company."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="property",
    tags={"Handover": "Handing homes over: appointment, inspection against the checklist, defects, the owner's "
                      "confirmation, keys; the move-in rate.",
          "Warranty repairs": "Warranty periods per category and repair orders from the owner's app, complaints, "
                              "handovers and inspections, through the owner's sign-off.",
          "Property companies": "The property companies, their contracts per project, and the company's own client.",
          "Property coordination": "The coordination log with the property company, action items and the cadence.",
          "Property supervision": "Routine and special inspections of the property company, findings, the scorecard.",
          "Owners' committee": "The committee's formation within the statutory period, and the replacement of the "
                               "property company."},
    scopes={"property:read": "Read handovers, repairs, property companies, coordination, inspections and committees.",
            "property:write": "Hand homes over, work repairs, keep the coordination log, inspect, drive the committee.",
            "property:partner": "A property company's own client: its repair orders, its side of the coordination "
                                "log and its findings, in the projects it is commissioned for."},
    controllers="app.domains.property.work_controllers:ROUTES",
    models=("app.domains.property.models",),
    seeds="app.domains.property.seeds",
    tasks=("app.domains.property.tasks",),
    # Daily: a missed cadence or an overdue action item is a finding of the day.
    beat={"property-cadence-scan": Beat("property.cadence_scan", 86400.0)},
    approvals="app.domains.property.committee:REQUEST_TYPES",
    catalogue="tests.catalogue.property",
    personal="app.domains.property.personal:PERSONAL",
    demo="app.domains.property.demo:seed_demo",
)
