"""Small property certificates through agencies, the company's mortgage guarantees and their
release, and the collection of overdue mortgage repayments with the litigation rule (seed 004
§4.5–4.6). One domain: the three share the unit, its owner and the certificate that makes a
guarantee releasable."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="certificates",
    tags={"Certificates": "Certificate agencies, their agreements, certificate cases per unit and owner, "
                          "lateness and statistics; the owner's view.",
          "Mortgage guarantees": "The company's guarantees on owners' mortgage loans: releasable once the "
                                 "certificate is issued and the mortgage registered; release through finance; "
                                 "the contingent liability.",
          "Overdue collection": "Finance's overdue feed, collection cases with their reminders, the litigation "
                                "rule and the referral to the general management department."},
    scopes={"certificates:read": "Read certificate agencies, agreements, cases and statistics.",
            "certificates:write": "Register agencies and agreements, open and move certificate cases.",
            "guarantees:read": "Read mortgage guarantees, the releasable list and the contingent liability.",
            "guarantees:write": "Record guarantees and mortgage registrations; request and record releases.",
            "collections:read": "Read overdue collection cases, their reminders and litigation materials.",
            "collections:write": "Import the overdue feed, log reminders and record litigation outcomes."},
    controllers="app.domains.certificates.controllers:CONTROLLERS",
    approvals="app.domains.certificates.requests:REQUEST_TYPES",
    models=("app.domains.certificates.models",),
    seeds="app.domains.certificates.seeds",
    tasks=("app.domains.certificates.tasks",),
    # Daily: cases past their deadline are marked late and their agency urged.
    beat={"certificates-lateness-scan": Beat("certificates.lateness_scan", 86400.0),
          # Daily: the litigation rule refers qualifying overdue cases.
          "collections-litigation-rule": Beat("collections.litigation_rule", 86400.0)},
    catalogue="tests.catalogue.certificates",
    personal="app.domains.certificates.personal:PERSONAL",
    demo="app.domains.certificates.demo:seed_demo",
)
