"""The pool of spare schemas: tenant schemas built in advance, so that creating a tenant
renames one instead of running the DDL.

Building a schema (54 tables, their indexes and constraints: some 300 relation files) is
most of what provisioning costs, and it is the same work for every tenant. A spare is that
schema built ahead of time under a name no tenant can have (``spare_<32 hex>``), with no
rows, recorded in ``platform.spare_schemas`` with the tenant revision it was built at.

- **Taking one** (:func:`take_spare`, in the creation's own transaction): one statement
  deletes the oldest record at the current head, locked ``FOR UPDATE SKIP LOCKED`` so two
  creations never get the same spare and neither waits for the other, and one
  ``ALTER SCHEMA … RENAME`` makes it the tenant's. If the creation fails, both roll back:
  the spare is back in the pool under its own name and no tenant schema is left.
- **Filling the pool** (:func:`fill_pool`: the beat task every minute and
  ``cornerstone tenants prepare``), one spare per transaction: spares built at an older
  revision than head (stale after a deploy that added a tenant migration) are dropped, never
  handed out; spares beyond the pool size are dropped; missing ones are built. A
  transaction-level advisory lock makes concurrent fillers take turns, so they never build
  more than the pool size between them.
- Spares at a revision this code does not know were made by newer code (a rolling deploy):
  they are neither used nor dropped here, like a tenant schema at such a revision is never
  restamped by the runner.

Spares are not tenants: they are not in the registry, so the migration runner, ``db
status``, the platform API and the purge never see them, and their names never match the
tenant schema pattern a tenant session can be bound to (app/core/db.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.audit import Actor
from app.core.db import Database
from app.tenants.migrations import TENANT_SCRIPTS, lineage, tenant_head
from app.tenants.models import SPARE_PREFIX, SpareSchema
from app.tenants.provisioning import create_schema, drop_schema, rename_schema

ENTITY = "spare_schema"
# Key of the transaction-level advisory lock fillers take turns on ("spar"): released at
# commit, so it is safe behind PgBouncer in transaction mode.
POOL_LOCK = 0x73706172
_spares = SpareSchema.__table__


def new_spare_name() -> str:
    return SPARE_PREFIX + uuid.uuid4().hex


async def take_spare(session: AsyncSession, schema: str, slug: str) -> str | None:
    """Rename a spare at the current tenant head to ``schema`` in the session's transaction,
    audited on the platform log; the spare's name, or None when the pool has none free."""
    head = tenant_head()
    oldest_free = (
        select(_spares.c.name).where(_spares.c.revision == head)
        .order_by(_spares.c.created_at, _spares.c.name).limit(1)
        .with_for_update(skip_locked=True).scalar_subquery()
    )
    spare: str | None = await session.scalar(
        delete(_spares).where(_spares.c.name == oldest_free).returning(_spares.c.name))
    if spare is None:
        return None
    await rename_schema(await session.connection(), spare, schema)
    await audit.record(session, action="spare_schema.use", entity_type=ENTITY, entity_id=spare,
                       before={"revision": head}, after={"tenant": slug, "schema": schema})
    return spare


@dataclass
class PoolReport:
    head: str
    size: int
    ready: int = 0  # spares at head when the run ended
    built: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    # At revisions this code does not know (made by newer code): left alone, not counted.
    foreign: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"head": self.head, "size": self.size, "ready": self.ready, "built": len(self.built),
                "dropped": len(self.dropped), "foreign": self.foreign, "seconds": round(self.seconds, 3)}


@dataclass
class _Pool:
    ready: list[str]  # at head, oldest first
    stale: dict[str, str]  # name -> the older revision it was built at
    foreign: int


async def _read_pool(session: AsyncSession, head: str, known: set[str]) -> _Pool:
    rows = (await session.execute(
        select(_spares.c.name, _spares.c.revision).order_by(_spares.c.created_at, _spares.c.name)
    )).all()
    return _Pool(ready=[name for name, revision in rows if revision == head],
                 stale={name: revision for name, revision in rows if revision != head and revision in known},
                 foreign=sum(1 for _, revision in rows if revision not in known))


async def _step(db: Database, head: str, known: set[str], size: int, actor: Actor,
                report: PoolReport) -> str | None:
    """One change to the pool in one transaction: drop a stale spare, else drop a surplus
    one, else build a missing one; what was done, or None when the pool is as it should be."""
    async with db.platform_transaction() as session:
        session.info["actor"] = actor
        await session.execute(select(func.pg_advisory_xact_lock(POOL_LOCK)))
        pool = await _read_pool(session, head, known)
        report.ready, report.foreign = len(pool.ready), pool.foreign
        # Newest first among the surplus: the oldest spares are the ones creations take next.
        unwanted = [*pool.stale, *reversed(pool.ready[size:])]
        if unwanted:
            # A spare a creation is taking right now is locked: skip it (it is leaving anyway).
            victim = await session.scalar(
                select(_spares.c.name).where(_spares.c.name.in_(unwanted))
                .order_by(_spares.c.revision == head, _spares.c.created_at.desc()).limit(1)
                .with_for_update(skip_locked=True)
            )
            if victim is not None:
                await session.execute(delete(_spares).where(_spares.c.name == victim))
                await drop_schema(await session.connection(), victim)
                stale = victim in pool.stale
                revision = pool.stale.get(victim, head)
                await audit.record(
                    session, action="spare_schema.drop", entity_type=ENTITY, entity_id=victim,
                    before={"revision": revision},
                    reason=(f"built at tenant revision {revision}, head is {head}" if stale
                            else f"more spares than the pool size ({size})"),
                )
                report.dropped.append(victim)
                return "dropped"
        if len(pool.ready) >= size:
            return None
        name = new_spare_name()
        await create_schema(await session.connection(), name)
        await session.execute(insert(_spares).values(name=name, revision=head))
        await audit.record(session, action="spare_schema.prepare", entity_type=ENTITY, entity_id=name,
                           after={"revision": head})
        report.built.append(name)
        return "built"


async def fill_pool(
    db: Database,
    size: int,
    *,
    actor: Actor,
    on_start: Callable[[int], Any] | None = None,
    on_done: Callable[[str], Any] | None = None,
) -> PoolReport:
    """Bring the pool to ``size`` spares at the current tenant head (0 empties it), dropping
    stale ones; each change is its own transaction, audited on the platform log as ``actor``."""
    if size < 0:
        raise ValueError("the pool size cannot be negative")
    started = time.perf_counter()
    head = tenant_head()
    known = lineage(head, TENANT_SCRIPTS)
    report = PoolReport(head=head, size=size)
    if on_start:
        async with db.platform_session() as session:
            pool = await _read_pool(session, head, known)
        on_start(len(pool.stale) + abs(size - len(pool.ready)))
    while (done := await _step(db, head, known, size, actor, report)) is not None:
        if on_done:
            on_done(done)
    report.seconds = time.perf_counter() - started
    return report
