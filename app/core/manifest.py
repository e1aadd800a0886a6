"""What a domain declares about itself, once: the value each domain package exports as ``DOMAIN``.

The application, the worker, provisioning, the scope catalogue and the quality gates read
these declarations from the one list in ``app/domains/__init__.py``; nothing outside a
domain's package names its modules.

A declaration is light: plain data, plus the dotted paths of the domain's heavier modules
(``"app.domains.complaints.controllers:CONTROLLERS"``), which are imported when the
application or the worker is assembled. Importing the list therefore imports no controller
or service, so that the scope catalogue (which route declarations validate against) and
provisioning can read it without an import circle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class Beat:
    """A periodic task: the task's registered name and its period in seconds."""

    task: str
    every: float


@dataclass(frozen=True)
class Domain:
    """One domain: its API surface, its data and its background work.

    - ``tags``: the OpenAPI tags its operations carry, name → description, in the order the
      document lists them.
    - ``scopes``: the OAuth scopes it adds to the catalogue, scope → description.
    - ``controllers``: ``"module:ATTR"``, a sequence of route handlers or controllers.
    - ``models``: modules whose import maps its tables (the metadata must be complete before
      provisioning compiles the DDL).
    - ``seeds``: the module of its tenant seeders (``app.tenants.seeding.seeder``); seeders run
      in the order of the domain list.
    - ``tasks``: modules of its Celery tasks; ``beat``: its periodic tasks, by schedule name.
    - ``approvals``: ``"module:ATTR"``, a sequence of the approval request types it declares.
    - ``catalogue``: the test module whose ``FACTORIES`` make a resource for each of its route
      templates (the cross-tenant, scope, audit and fuzz gates read it).
    - ``demo``: ``"module:FUNCTION"``, ``async (session, people)`` adding the domain's records
      to the demo tenant (``app/demo.py``: ``people`` names its staff and owner accounts).
    - ``personal``: ``"module:ATTR"``, a ``PersonalData`` (``app/core/personal.py``): what it
      holds about a person and how to copy and anonymise it, and its kinds of record that age
      out (the privacy domain's requests and retention scan read it).
    - ``timeline``: ``"module:ATTR"``, a sequence of the parts it contributes to a customer's
      history (``app.domains.customers.timeline.TimelineSource``).
    """

    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    scopes: Mapping[str, str] = field(default_factory=dict)
    controllers: str | None = None
    models: tuple[str, ...] = ()
    seeds: str | None = None
    tasks: tuple[str, ...] = ()
    beat: Mapping[str, Beat] = field(default_factory=dict)
    approvals: str | None = None
    catalogue: str | None = None
    demo: str | None = None
    personal: str | None = None
    timeline: str | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or not self.name.islower():
            raise ValueError(f"domain name {self.name!r}: a lower-case identifier")
        for ref in (self.controllers, self.approvals, self.demo, self.personal, self.timeline):
            if ref is not None and ref.count(":") != 1:
                raise ValueError(f"domain {self.name}: {ref!r} is not 'module:ATTR'")

    def route_handlers(self) -> list[Any]:
        return list(load(self.controllers)) if self.controllers else []

    def request_types(self) -> list[Any]:
        return list(load(self.approvals)) if self.approvals else []

    def personal_data(self) -> Any:
        """Its ``PersonalData`` declaration, or None."""
        return load(self.personal) if self.personal else None

    def timeline_sources(self) -> list[Any]:
        return list(load(self.timeline)) if self.timeline else []


def load(ref: str) -> Any:
    """The object ``"module:ATTR"`` names, or the module a plain dotted path names."""
    module, _, attr = ref.partition(":")
    loaded = import_module(module)
    return getattr(loaded, attr) if attr else loaded
