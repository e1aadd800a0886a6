"""The domain list: every domain the product has, in the order their tenant defaults are seeded.

Adding a domain is its own package (with ``DOMAIN`` in its ``__init__``, see
``app/core/manifest.py``) and one line here. The application (``app/asgi.py``), the scope
catalogue (``app/auth/scopes.py``), the mapped tables (``app/models.py``), tenant seeding
(``app/tenants/seeding.py``), the worker (``app/worker.py``) and the quality gates read this
list; none of them names a domain.

Order matters once: a domain's seeders run after those of the domains before it (the root
org node first; roles before the approval chains that name them; calendars before the
complaint clocks that count in them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from app.core.manifest import Domain
from app.domains import (
    access,
    approvals,
    archives,
    audit,
    calendars,
    care,
    certificates,
    club,
    complaints,
    confidentiality,
    custinfo,
    customers,
    forums,
    grading,
    inquiries,
    interactions,
    keyaccounts,
    org,
    privacy,
    property,
    service,
    surveys,
    visiting,
)

DOMAINS: tuple[Domain, ...] = (
    org.DOMAIN,  # the root node first: everything hangs off it
    access.DOMAIN,  # the default roles
    approvals.DOMAIN,  # default approval chains; after the roles they name
    customers.DOMAIN,
    inquiries.DOMAIN,
    interactions.DOMAIN,
    surveys.DOMAIN,
    grading.DOMAIN,
    visiting.DOMAIN,  # after interactions and grading: visits and grades make its figures
    calendars.DOMAIN,  # before complaints: SLA clocks count in a calendar
    complaints.DOMAIN,
    archives.DOMAIN,
    confidentiality.DOMAIN,  # after archives: the same classification scale
    property.DOMAIN,  # after complaints: its manager role gets the committee sign-off
    certificates.DOMAIN,  # after customers: cases, guarantees and collections name their units' owners
    club.DOMAIN,  # after surveys: activities are evaluated with a questionnaire
    forums.DOMAIN,
    care.DOMAIN,  # after club: birthdays are members'
    service.DOMAIN,  # after care and interactions: progress goes by care channels; calls are evaluated
    keyaccounts.DOMAIN,  # after grading and surveys: big customers are graded, findings come from surveys
    audit.DOMAIN,
    privacy.DOMAIN,  # after every domain whose personal data it reaches
    custinfo.DOMAIN,  # after customers and approvals: reviews, developments and information name customers
)


T = TypeVar("T")


def domains() -> tuple[Domain, ...]:
    """The list as it is now (read at call time, so that a test can extend it)."""
    return DOMAINS


def route_handlers() -> Iterator[Any]:
    for domain in domains():
        yield from domain.route_handlers()


def load() -> None:
    """Import every part of every domain (controllers, models, tasks, seeds): what registers
    itself at import (permissions, request types, settings, org hooks) is then complete, in
    the API, the worker and the CLI alike."""
    from app.core.manifest import load as load_ref

    for domain in domains():
        for ref in (domain.controllers, *domain.models, domain.seeds, *domain.tasks, domain.approvals,
                    domain.personal):
            if ref is not None:
                load_ref(ref)


def declared(what: str, part: Callable[[Domain], Mapping[str, T]], *, first: Mapping[str, T] | None = None,
             last: Mapping[str, T] | None = None) -> dict[str, T]:
    """One catalogue (scopes, tags, beat entries…) from every domain's ``part``, between the
    platform's own ``first`` and ``last`` entries; a name declared twice is refused."""
    catalogue = dict(first or {})
    for owner, entries in [*((d.name, part(d)) for d in domains()), ("the platform", last or {})]:
        twice = catalogue.keys() & entries.keys()
        if twice:
            raise ValueError(f"{owner} declares {what} that exist already: {sorted(twice)}")
        catalogue.update(entries)
    return catalogue
