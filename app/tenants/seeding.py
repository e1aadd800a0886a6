"""The defaults a tenant has (roles, approval chains, calendars, categories…), contributed by
each domain, for new tenants and for tenants that existed before the domain did.

A domain registers ``async def seed(session, tenant)`` with the tenant revision that made the
tables its defaults live in::

    @seeder("calendars.default", since="0008_complaints")

Provisioning runs every seeder, in the order of their modules in ``app/seeds.py``, in its
transaction. The migration runner, in the transaction that migrates a tenant from revision
R, runs the seeders whose ``since`` it applies: a group that upgrades finds the new domain
with the defaults a new group gets, once. Seeders with ``every_migration`` also run on each
later migration: their defaults grow with later revisions (a role a later domain adds to the
default roles, the chain of a request type a later domain registers), and they create only
what is missing. ``since=None``: provisioning only (what a tenant otherwise makes on first use).

Because a seeder can meet a tenant with data, it must:

- create only what is missing, by a key the group cannot delete or reuse unawares (a role's
  code; a whole table the group has not started filling), so running twice changes nothing;
- never change what exists: a default the group edited is the group's. The one exception is
  giving a role that a new domain's work falls to the permissions that work needs (the
  complaint approver's), by adding only: nothing the group gave the role is taken away.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from app.tenants.models import Tenant

SeedFn = Callable[[AsyncSession, "Tenant"], Awaitable[None]]


@dataclass(frozen=True)
class Seeder:
    name: str
    since: str | None  # the tenant revision that made its tables; None: provisioning only
    every_migration: bool
    seed: SeedFn

    def due(self, applied: Collection[str], lineage: Collection[str]) -> bool:
        """Whether a migration that applies ``applied`` runs it (``lineage``: every revision up
        to the migration's target, itself included)."""
        if self.since is None:
            return False
        return self.since in lineage if self.every_migration else self.since in applied


SEEDERS: list[Seeder] = []


def seeder(name: str, *, since: str | None, every_migration: bool = False) -> Callable[[SeedFn], SeedFn]:
    if every_migration and since is None:
        raise ValueError(f"seeder {name!r}: every_migration needs the revision its tables came with")

    def register(fn: SeedFn) -> SeedFn:
        if any(existing.name == name for existing in SEEDERS):
            raise ValueError(f"seeder {name!r} registered twice")
        SEEDERS.append(Seeder(name, since, every_migration, fn))
        return fn

    return register


def registered() -> list[Seeder]:
    """Every domain's seeders, in the order they run: their modules' in ``app.seeds.ORDER``,
    then their own within a module."""
    from app.seeds import ORDER

    position = {module.__name__: i for i, module in enumerate(ORDER)}
    unordered = sorted({s.seed.__module__ for s in SEEDERS} - position.keys())
    if unordered:
        raise RuntimeError(f"seeders of {unordered} are not in app.seeds.ORDER")
    return sorted(SEEDERS, key=lambda s: position[s.seed.__module__])  # stable: a module's own order


async def seed_tenant(session: AsyncSession, tenant: "Tenant") -> None:
    """A new tenant's defaults: every seeder."""
    for entry in registered():
        await entry.seed(session, tenant)


async def seed_migrated(session: AsyncSession, tenant: "Tenant", *, applied: Collection[str],
                        lineage: Collection[str]) -> list[str]:
    """The defaults a migration that applied ``applied`` brings; the names of the seeders run."""
    due = [entry for entry in registered() if entry.due(applied, lineage)]
    for entry in due:
        await entry.seed(session, tenant)
    return [entry.name for entry in due]
