"""Recording a fan-out run and each tenant's outcome, written by the tasks as they go.

Delivery is at-least-once, so every step is guarded by the state of the tenant's row: a
done tenant's row is gone and a failed one's is final, so a late or repeated delivery finds
nothing to claim and nothing to count. The last step of each tenant takes the run's row lock:
counts add up, and exactly one tenant's task sees the run complete.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

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


async def claim(db: Database, run_id: uuid.UUID, tenant: str, attempt: int) -> bool | None:
    """Mark the tenant's row running as ``attempt``: True to run the body, False when the
    tenant is no longer active (suspended since the run started), None when its row is
    finished (done or failed: nothing to do)."""
    async with db.platform_transaction() as session:
        claimed = await session.scalar(
            update(FanoutTenant).where(*_unfinished(run_id, tenant))
            .values(state=TenantState.running, attempts=attempt, updated_at=func.now())
            .returning(FanoutTenant.tenant))
        if claimed is None:
            return None
        return await session.scalar(select(Tenant.status).where(Tenant.slug == tenant)) == TenantStatus.active


async def _locked_run(session: AsyncSession, run_id: uuid.UUID) -> FanoutRun | None:
    return await session.scalar(select(FanoutRun).where(FanoutRun.id == run_id).with_for_update()
                                .execution_options(populate_existing=True))


def _close_if_complete(run: FanoutRun) -> None:
    if run.finished_at is None and run.pending <= 0:
        run.finished_at = func.now()  # type: ignore[assignment]


async def finish(db: Database, run_id: uuid.UUID, tenant: str, counts: Mapping[str, int] | None) -> bool:
    """The tenant is done (``counts`` from its body) or skipped (None): its row goes and the
    run counts it. False when another delivery had finished it already."""
    async with db.platform_transaction() as session:
        run = await _locked_run(session, run_id)
        if run is None:
            return False
        gone = await session.scalar(delete(FanoutTenant).where(*_unfinished(run_id, tenant))
                                    .returning(FanoutTenant.tenant))
        if gone is None:
            return False
        if counts is None:
            run.skipped += 1
        else:
            run.done += 1
            totals = dict(run.totals)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + int(value)
            run.totals = totals
        _close_if_complete(run)
    return True


async def record_failure(db: Database, task: str, run_id: uuid.UUID, tenant: str, attempt: int, error: str,
                         *, final: bool) -> bool:
    """Note a failed attempt. On the last one the tenant is failed for good, counted once,
    and audited on the platform log; True when this call counted it."""
    values = {"attempts": attempt, "last_error": error[:ERROR_MAX], "updated_at": func.now()}
    async with db.platform_transaction() as session:
        if not final:
            await session.execute(update(FanoutTenant).where(*_unfinished(run_id, tenant))
                                  .values(state=TenantState.retrying, **values))
            return False
        run = await _locked_run(session, run_id)
        failed = await session.scalar(update(FanoutTenant).where(*_unfinished(run_id, tenant))
                                      .values(state=TenantState.failed, **values).returning(FanoutTenant.tenant))
        if run is None or failed is None:
            return False
        run.failed += 1
        _close_if_complete(run)
        await audit.append(session, schema=None, actor=SYSTEM, action="fanout.tenant.fail", entity_type="fanout_run",
                           entity_id=run_id, after={"task": task, "tenant": tenant, "attempts": attempt,
                                                    "error": error[:ERROR_MAX]})
    return True
