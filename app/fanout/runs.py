"""Recording a fan-out run and each tenant's outcome, written by the tasks as they go.

Delivery is at-least-once, so every step is guarded by the state of the tenant's row: a
done tenant's row is gone and a failed one's is final, so a late or repeated delivery finds
nothing to claim and nothing to count. Each step is one statement: a tenant's last step
finishes its row and counts it on the run's row at once, so counts add up and the run is
stamped complete once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Executable,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.core import audit
from app.core.audit import SYSTEM
from app.core.db import Database
from app.fanout.models import FanoutRun, FanoutTenant, TenantState
from app.tenants.models import Tenant, TenantStatus

RUN_RETENTION = timedelta(days=14)  # runs of a task older than this go when its next run starts
ERROR_MAX = 2000


async def start_run(db: Database, task: str, run_id: uuid.UUID, where: ColumnElement[bool] | None = None
                    ) -> list[str]:
    """Record run ``run_id`` of ``task`` over the active tenants (those ``where`` selects
    too), committed; the tenants whose task is still to be sent. Called again with the same
    id (a redelivered beat task), it finds the run and answers the tenants not started yet."""
    async with db.platform_transaction() as session:
        await session.execute(delete(FanoutRun).where(FanoutRun.task == task,
                                                      FanoutRun.started_at < func.now() - RUN_RETENTION))
        created = await session.scalar(pg_insert(FanoutRun).values(id=run_id, task=task, tenants=0)
                                       .on_conflict_do_nothing().returning(FanoutRun.id))
        if created is not None:
            chosen = select(literal(run_id), Tenant.slug, literal(TenantState.queued.value)).where(
                Tenant.status == TenantStatus.active)
            if where is not None:
                chosen = chosen.where(where)
            result = await session.execute(insert(FanoutTenant).from_select(["run_id", "tenant", "state"], chosen))
            count = result.rowcount  # type: ignore[attr-defined]
            await session.execute(update(FanoutRun).where(FanoutRun.id == run_id).values(
                tenants=count, finished_at=func.now() if count == 0 else None))
        return list((await session.scalars(select(FanoutTenant.tenant).where(
            FanoutTenant.run_id == run_id, FanoutTenant.state == TenantState.queued)
            .order_by(FanoutTenant.tenant))).all())


def _unfinished(run_id: uuid.UUID, tenant: str) -> tuple[ColumnElement[bool], ...]:
    # A failed row is final: a late delivery neither reruns nor recounts it.
    return (FanoutTenant.run_id == run_id, FanoutTenant.tenant == tenant, FanoutTenant.state != TenantState.failed)


async def _one(db: Database, stmt: Executable) -> Any:
    """Run one statement in a transaction of its own that does not wait for its WAL flush at
    commit; the first column of its first row, or None. The rows are the platform's note of
    its own work: a server crash may lose the last fraction of a second of it (the next run
    visits every tenant again), and not waiting saves each tenant's task two disk flushes.
    The bodies' own transactions, and a tenant's final failure, commit as usual."""
    async with db.engine.begin() as conn:
        await conn.execute(text("SET LOCAL synchronous_commit = off"))
        return (await conn.execute(stmt)).scalar()


def _count(run_id: uuid.UUID, gone: Any, column: str, counts: Mapping[str, int] | None = None) -> Any:
    """The run's UPDATE counting one tenant in ``column`` when ``gone`` (a CTE that finished its
    row) returned it. Concurrent ones queue on the run's row and each re-reads it (READ
    COMMITTED), so counts add up and the one that completes the run stamps ``finished_at``."""
    counted = {"done": FanoutRun.done, "skipped": FanoutRun.skipped, "failed": FanoutRun.failed}[column]
    values: dict[str, Any] = {column: counted + 1, "finished_at": case(
        (FanoutRun.done + FanoutRun.skipped + FanoutRun.failed + 1 >= FanoutRun.tenants, func.now()),
        else_=FanoutRun.finished_at)}
    if counts:
        added = [part for key, value in counts.items() for part in (
            literal(key), func.coalesce(FanoutRun.totals[key].astext.cast(BigInteger), 0) + int(value))]
        values["totals"] = FanoutRun.totals.op("||")(func.jsonb_build_object(*added))
    return (update(FanoutRun).where(FanoutRun.id == run_id, FanoutRun.id.in_(select(gone.c.run_id)))
            .values(**values).returning(FanoutRun.id))


async def claim(db: Database, run_id: uuid.UUID, tenant: str, attempt: int) -> bool | None:
    """Mark the tenant's row running as ``attempt``: True to run the body, False when the
    tenant is no longer active (suspended since the run started), None when its row is
    finished (done or failed: nothing to do)."""
    status = await _one(db, update(FanoutTenant).where(*_unfinished(run_id, tenant), Tenant.slug == FanoutTenant.tenant)
                        .values(state=TenantState.running, attempts=attempt, updated_at=func.now())
                        .returning(Tenant.status))
    return None if status is None else status == TenantStatus.active


async def finish(db: Database, run_id: uuid.UUID, tenant: str, counts: Mapping[str, int] | None) -> bool:
    """The tenant is done (``counts`` from its body) or skipped (None): its row goes and the
    run counts it. False when another delivery had finished it already."""
    gone = delete(FanoutTenant).where(*_unfinished(run_id, tenant)).returning(FanoutTenant.run_id).cte("gone")
    stmt = _count(run_id, gone, "skipped" if counts is None else "done", counts).add_cte(gone)
    return await _one(db, stmt) is not None


async def record_failure(db: Database, task: str, run_id: uuid.UUID, tenant: str, attempt: int, error: str,
                         *, final: bool) -> bool:
    """Note a failed attempt. On the last one the tenant is failed for good, counted once,
    and audited on the platform log; True when this call counted it."""
    values = {"attempts": attempt, "last_error": error[:ERROR_MAX], "updated_at": func.now()}
    if not final:
        await _one(db, update(FanoutTenant).where(*_unfinished(run_id, tenant))
                   .values(state=TenantState.retrying, **values).returning(FanoutTenant.tenant))
        return False
    failed = (update(FanoutTenant).where(*_unfinished(run_id, tenant)).values(state=TenantState.failed, **values)
              .returning(FanoutTenant.run_id).cte("failed"))
    async with db.platform_transaction() as session:
        conn = await session.connection()  # Core: the ORM reads no RETURNING past a DML CTE
        if (await conn.execute(_count(run_id, failed, "failed").add_cte(failed))).scalar() is None:
            return False
        await audit.append(session, schema=None, actor=SYSTEM, action="fanout.tenant.fail", entity_type="fanout_run",
                           entity_id=run_id, after={"task": task, "tenant": tenant, "attempts": attempt,
                                                    "error": error[:ERROR_MAX]})
    return True
