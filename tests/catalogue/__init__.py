"""Route-catalogue entries that domains keep in a module of their own (one per domain here).

Each module ``tests/catalogue/<domain>.py``, named by its domain's declaration
(``catalogue="tests.catalogue.complaints"`` in ``app/domains/complaints/__init__.py``), defines:

- ``FACTORIES``: path template -> factory, in the shape of ``tests.routes.FACTORIES`` (which
  merges them): the cross-tenant matrix, the audit gate and the fuzzer read them;
- ``SUBTREE``: a :class:`SubtreeSpec`, merged into the tables of
  ``tests/isolation/test_subtree.py``: the kinds of record the domain adds, how its routes are
  classified, valid write bodies, and ``populate``, which puts records of those kinds into the
  subtree matrix's world (2 branches × 3 projects).

A module imports what it needs from ``tests.routes`` (``Ctx``, ``Made``, ``Factory``, the
shared makers such as ``_new_project``); ``tests.routes`` imports these modules last.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from sqlalchemy import Select


@dataclass(frozen=True)
class Kind:
    permission: str  # the permission whose subtrees decide who sees a record of this kind
    truth: Callable[[], Select[Any]]  # every record: (id, node path, a distinctive value, version)


@dataclass(frozen=True)
class WorldSeed:
    """What ``populate`` builds on: the subtree world's org tree, made through the API."""

    client: Any  # an httpx client on the app
    admin: dict[str, str]  # a token of the tenant with every tenant scope, acting for the whole group
    db: Any
    slug: str
    nodes: dict[str, dict[str, Any]]  # code -> node as the API shows it: GROUP, SZ, SZ1, SZ1-B1, ...
    projects: list[dict[str, Any]]  # the six projects
    units: dict[str, dict[str, Any]]  # unit number (e.g. "SZ1-1-101") -> unit as the API shows it


# A valid body for a write, given the world and the person making it.
WriteBody = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class SubtreeSpec:
    """One domain's part of the subtree matrix (see tests/isolation/test_subtree.py)."""

    kinds: dict[str, Kind] = field(default_factory=dict)
    lists: dict[str, str] = field(default_factory=dict)  # GET path -> kind: exactly the caller's subtree
    subset_lists: dict[str, str] = field(default_factory=dict)  # narrowed further ("mine", "overdue")
    details: dict[str, str] = field(default_factory=dict)  # path with an id -> kind
    read_urls: dict[str, str] = field(default_factory=dict)  # kind -> "/api/v1/.../{}"
    singletons: dict[str, str] = field(default_factory=dict)
    no_node: dict[str, str] = field(default_factory=dict)  # path -> why its records have no org node
    write_bodies: dict[tuple[str, str], WriteBody] = field(default_factory=dict)
    # Creating under a parent: path -> (parent kind, body naming the parent, the permission it needs).
    creates: dict[str, tuple[str, Callable[[uuid.UUID], dict[str, Any]], str]] = field(default_factory=dict)
    populate: Callable[[WorldSeed], Awaitable[None]] | None = None


def modules() -> list[ModuleType]:
    """The catalogue modules the domains declare (``Domain.catalogue``), in the domain list's
    order; several domains may share one."""
    from app.domains import domains

    return [importlib.import_module(name) for name in dict.fromkeys(d.catalogue for d in domains() if d.catalogue)]
