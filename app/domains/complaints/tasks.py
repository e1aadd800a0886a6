"""The complaints domain's background work: the SLA scan (beat, every few minutes, over every
tenant; it also removes attachments whose upload was never confirmed) and the statistics
export (a tenant job with progress)."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import SYSTEM
from app.core.db import Database
from app.core.jobs import run_job
from app.domains.access.authz import SYSTEM_PRINCIPAL, Authorizer
from app.domains.complaints import services, statistics
from app.domains.complaints.models import Register
from app.storage import get_store
from app.tenants.models import Tenant, TenantStatus, schema_name
from app.worker import celery_app, run_in_worker, tenant_task

log = logging.getLogger(__name__)
SLA_SCAN = "complaints.sla_scan"
# Batches per tenant and run: a backlog larger than this waits for the next run.
MAX_BATCHES = 20


@celery_app.task(name=SLA_SCAN)
def sla_scan() -> dict[str, int]:
    return run_in_worker(scan_all_tenants)


async def scan_all_tenants(db: Database) -> dict[str, int]:
    """The SLA scan in every active tenant, one transaction per batch; a failing tenant is
    logged and the rest go on (the next run retries it)."""
    async with db.platform_transaction() as session:
        slugs = (await session.scalars(select(Tenant.slug).where(Tenant.status == TenantStatus.active))).all()
    totals = {"tenants": len(slugs), "checked": 0, "warnings": 0, "breaches": 0, "escalations": 0, "messages": 0,
              "moved": 0, "expiredUploads": 0}
    failed = []
    for slug in slugs:
        try:
            for _ in range(MAX_BATCHES):
                async with db.tenant_session(schema_name(slug)) as session, session.begin():
                    session.info["actor"] = SYSTEM
                    counts = await services.scan(session)
                for key, value in counts.items():
                    totals[key] += value
                if counts["checked"] < services.SCAN_BATCH:
                    break
            async with db.tenant_session(schema_name(slug)) as session, session.begin():
                session.info["actor"] = SYSTEM
                totals["expiredUploads"] += await services.expire_uploads(session, get_store(), slug)
        except Exception:  # noqa: BLE001 - logged; one tenant never stops the others
            log.exception("the complaints SLA scan of tenant %s failed", slug)
            failed.append(slug)
    if failed:
        raise RuntimeError(f"the complaints SLA scan failed for {len(failed)} tenants: {', '.join(failed[:20])}")
    return totals


@tenant_task(statistics.EXPORT_KIND)
async def export_statistics(session: AsyncSession, *, job_id: str, month: str, months: int, register: str | None,
                            paths: list[str] | None) -> None:
    """``paths``: where the requester could read complaints when asking (None: the whole group)."""
    authz = Authorizer(principal=SYSTEM_PRINCIPAL, grants={services.READ: paths or []}, whole_group=paths is None)
    period = await statistics.period_of(session, month, months)
    await run_job(session, uuid.UUID(job_id), statistics.EXPORT_KIND,
                  lambda progress: statistics.run_export(session, progress, authz, period,
                                                         Register(register) if register else None))
