"""Celery tasks. Tenant tasks are async bodies registered with :func:`app.worker.tenant_task`.

Delivery is at-least-once: every body here is safe to run twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.core import audit, counters
from app.core.audit import SYSTEM
from app.core.clock import utcnow
from app.core.db import Database
from app.core.idempotency import platform_keys, tenant_keys
from app.core.jobs import Progress, run_job
from app.domains.org.models import NodeKind, OrgNode
from app.tenants.models import Tenant, TenantStatus, schema_name
from app.tenants.spares import fill_pool
from app.worker import celery_app, run_in_worker, tenant_task

log = logging.getLogger(__name__)

EXPORT_BRANCHES = "org.export_branches"
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


@celery_app.task(name="platform.purge_counters")
def purge_counters() -> int:
    return run_in_worker(counters.purge_expired)


@celery_app.task(name="platform.purge_idempotency_keys")
def purge_idempotency_keys() -> dict[str, int]:
    return run_in_worker(purge_expired_keys)


async def purge_expired_keys(db: Database) -> dict[str, int]:
    """Delete idempotency keys past their TTL: the platform's, then each active tenant's.

    One short transaction per schema; a failing tenant is logged and the rest go on.
    """
    cutoff = utcnow() - IDEMPOTENCY_KEY_TTL
    async with db.platform_transaction() as session:
        session.info["actor"] = SYSTEM
        deleted = await _purge(session, platform_keys, cutoff)
        slugs = (await session.scalars(select(Tenant.slug).where(Tenant.status == TenantStatus.active))).all()
    failed: list[str] = []
    for slug in slugs:
        try:
            async with db.tenant_session(schema_name(slug)) as session, session.begin():
                session.info["actor"] = SYSTEM
                deleted += await _purge(session, tenant_keys, cutoff)
        except Exception:  # noqa: BLE001 - logged; one tenant never stops the others
            log.exception("purging idempotency keys of tenant %s failed", slug)
            failed.append(slug)
    if failed:
        raise RuntimeError(f"purging idempotency keys failed for {len(failed)} tenants: {', '.join(failed[:20])}")
    return {"deleted": deleted, "tenants": len(slugs)}


async def _purge(session: AsyncSession, table: Table, cutoff: datetime) -> int:
    result = await session.execute(delete(table).where(table.c.created_at < cutoff))
    count = result.rowcount  # type: ignore[attr-defined]
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
