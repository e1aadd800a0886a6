"""Customer information management (seed 001 §2.2, 000 §17, 004 §4.8): the quarterly review of
the customer base, customer development from screening to periodic reports, and the
departments' information needs served by customer affairs."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="custinfo",
    tags={"Customer information": "The quarterly review of the customer base, customer development (screening, "
                                  "application through approval, periodic reports), and the departments' "
                                  "information needs: collected, reviewed, classified and provided on demand."},
    scopes={"custinfo:read": "Read quarterly reviews, prospect screenings, developments, information needs, "
                             "collected information and what was provided.",
            "custinfo:write": "Open and work quarterly reviews, screen prospects and apply for their development, "
                              "state information needs, collect, review, classify and provide information."},
    controllers="app.domains.custinfo.controllers:CONTROLLERS",
    approvals="app.domains.custinfo.services:REQUEST_TYPES",
    models=("app.domains.custinfo.models",),
    seeds="app.domains.custinfo.seeds",
    tasks=("app.domains.custinfo.tasks",),
    # Daily: the quarter's review opens on its first day in each tenant's time zone.
    beat={"custinfo-review-scan": Beat("custinfo.review_scan", 86400.0)},
    catalogue="tests.catalogue.custinfo",
    personal="app.domains.custinfo.personal:PERSONAL",
    demo="app.domains.custinfo.demo:seed_demo",
)
