"""A throw-away domain, as small as a domain can be: the proof that adding one touches its own
package and one line of the domain list (tests/quality/test_domain_kit.py adds this one)."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="kitnotes",
    tags={"Kit notes": "Notes of a domain that exists only in a test."},
    scopes={"kitnotes:read": "Read the kit notes."},
    controllers="tests.kit_sample.controllers:CONTROLLERS",
    models=("tests.kit_sample.models",),
    seeds="tests.kit_sample.seeds",
    tasks=("tests.kit_sample.tasks",),
    beat={"kitnotes-tidy": Beat("kitnotes.tidy", 600.0)},
    approvals="tests.kit_sample.controllers:REQUEST_TYPES",
    catalogue="tests.kit_sample.catalogue",
)
