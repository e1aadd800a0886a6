"""Celery tasks. Tenant tasks are async bodies registered with :func:`app.worker.tenant_task`.

Delivery is at-least-once: every body here is safe to run twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.core import audit, counters
from app.core.audit import SYSTEM
from app.core.clock import utcnow
from app.core.db import Database, rowcount
from app.core.idempotency import platform_keys, tenant_keys
from app.core.jobs import Progress, run_job
from app.domains.org.models import NodeKind, OrgNode
from app.fanout.tasks import BoundTenant, for_each_tenant
from app.tenants.spares import fill_pool
from app.worker import celery_app, run_in_worker, tenant_task

EXPORT_BRANCHES = "org.export_branches"
PURGE_IDEMPOTENCY_KEYS = "platform.purge_idempotency_keys"
PREPARE_SPARES = "tenants.prepare_spares"
EXPORT_BATCH = 500
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)  # docs/api.md promises clients 24 hours


@tenant_task(EXPORT_BRANCHES)
async def export_branches(session: AsyncSession, *, job_id: str) -> None:
    """The tenant's branches (code and name, by code) as the job's result."""
    branches = OrgNode.kind == NodeKind.branch

    async def work(progress: Progress) -> dict[str, Any]:
        await progress.report(0, await session.scalar(select(func.count()).where(branches)))
        rows: list[dict[str, str]] = []
        stream = await session.stream(
            select(OrgNode.code, OrgNode.name).where(branches).order_by(OrgNode.code)
            .execution_options(yield_per=EXPORT_BATCH)
        )
        async for batch in stream.partitions():
            rows.extend({"code": code, "name": name} for code, name in batch)
            await progress.report(len(rows))
        # Small enough to live on the job row; large exports will go to the object store.
        return {"rows": rows}

    await run_job(session, uuid.UUID(job_id), EXPORT_BRANCHES, work)


async def purge_tenant_keys(tenant: BoundTenant) -> dict[str, int]:
    """Delete one tenant's idempotency keys past their TTL."""
    async with tenant.transaction() as session:
        return {"deleted": await _purge(session, tenant_keys, utcnow() - IDEMPOTENCY_KEY_TTL)}


@celery_app.task(name="platform.purge_counters")
def purge_counters() -> int:
    return run_in_worker(counters.purge_expired)


async def purge_platform_keys(db: Database) -> dict[str, int]:
    """Delete the platform's own idempotency keys past their TTL (once per run)."""
    async with db.platform_transaction() as session:
        session.info["actor"] = SYSTEM
        return {"platformDeleted": await _purge(session, platform_keys, utcnow() - IDEMPOTENCY_KEY_TTL)}


purge_idempotency_keys = for_each_tenant(PURGE_IDEMPOTENCY_KEYS, purge_tenant_keys, once=purge_platform_keys)


async def _purge(session: AsyncSession, table: Table, cutoff: datetime) -> int:
    result = await session.execute(delete(table).where(table.c.created_at < cutoff))
    count = rowcount(result)
    if count:
        await audit.record(session, action="idempotency.purge", entity_type="idempotency_keys",
                           entity_id="expired", after={"deleted": count, "createdBefore": cutoff.isoformat()})
    return count


@celery_app.task(name=PREPARE_SPARES)
def prepare_spares() -> dict[str, Any]:
    """Keep CORNERSTONE_SPARE_SCHEMAS spare schemas at the tenant head (beat, every minute):
    a full pool costs one short transaction, so it can run often."""
    report = run_in_worker(lambda db: fill_pool(db, get_settings().spare_schemas, actor=SYSTEM))
    return report.summary()
