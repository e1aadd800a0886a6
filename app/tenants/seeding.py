"""The defaults a tenant has (roles, approval chains, calendars, categories…), contributed by
each domain, for new tenants and for tenants that existed before the domain did.

A domain registers ``async def seed(session, tenant)`` with the tenant revision that made the
tables its defaults live in::

    @seeder("calendars.default", since="0008_complaints")

Provisioning runs every seeder in its transaction: the tenant's data keys first, then each
domain's in the order of the domain list (``app/domains/__init__.py``), then the tenant's
bucket. The migration runner, in the transaction that migrates a tenant from revision
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

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import keystore
from app.domains import domains, load
from app.storage import get_store

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
    """Every seeder, in the order they run: the tenant's keys, each domain's (in the order of
    the domain list, then their own within a module), the tenant's bucket."""
    load()  # every domain's parts: their seeders, and what those read (approval request types…)
    modules = [d.seeds for d in domains() if d.seeds]
    position = {module: i for i, module in enumerate(modules)}
    unordered = sorted({s.seed.__module__ for s in SEEDERS} - position.keys())
    if unordered:
        raise RuntimeError(f"seeders of {unordered} belong to no domain of app.domains")
    return [KEYS, *sorted(SEEDERS, key=lambda s: position[s.seed.__module__]), BUCKET]


async def _create_keys(session: AsyncSession, tenant: Tenant) -> None:
    await keystore.create_keys(session)


async def _create_bucket(session: AsyncSession, tenant: Tenant) -> None:
    await get_store().ensure_bucket(tenant.slug)


# Provisioning only: a tenant migrated from before the keys existed makes its keys on first use.
KEYS = Seeder("core.data_keys", None, False, _create_keys)
# Every tenant gets its own bucket at provisioning (object lock exists only if the bucket is
# created with it, so the bucket comes before any data); a tenant that existed before the
# first records kept in storage (complaint attachments, 0008) gets it at that migration, and a
# storage outage then fails that tenant's migration, to be re-run.
#
# Last: a provisioning that fails in an earlier seeder makes no bucket. One that fails later
# (or whose transaction rolls back) leaves an empty bucket behind; that is harmless and
# deliberate: creation is idempotent, so provisioning the slug again reuses it, and nothing can
# write to it without the API signing a URL for a tenant that exists. A storage outage makes
# provisioning fail as a whole (503), like a database outage.
BUCKET = Seeder("storage.bucket", "0008_complaints", False, _create_bucket)


async def seed_tenant(session: AsyncSession, tenant: Tenant) -> None:
    """A new tenant's defaults: every seeder."""
    for entry in registered():
        await entry.seed(session, tenant)


async def seed_migrated(session: AsyncSession, tenant: Tenant, *, applied: Collection[str],
                        lineage: Collection[str]) -> list[str]:
    """The defaults a migration that applied ``applied`` brings; the names of the seeders run."""
    due = [entry for entry in registered() if entry.due(applied, lineage)]
    for entry in due:
        await entry.seed(session, tenant)
    return [entry.name for entry in due]
