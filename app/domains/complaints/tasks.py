"""The complaints domain's background work: the SLA scan (beat, every few minutes, one task
per tenant; it also removes attachments whose upload was never confirmed) and the statistics
export (a tenant job with progress)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import run_job
from app.domains.access.authz import SYSTEM_PRINCIPAL, Authorizer
from app.domains.complaints import services, statistics
from app.domains.complaints.models import Register
from app.fanout.tasks import BoundTenant, for_each_tenant
from app.storage import get_store
from app.worker import tenant_task

SLA_SCAN = "complaints.sla_scan"
# Batches per tenant and run: a backlog larger than this waits for the next run.
MAX_BATCHES = 20


async def scan_tenant(tenant: BoundTenant) -> dict[str, int]:
    """The SLA scan in one tenant, one transaction per batch; then the expired uploads."""
    totals = {"checked": 0, "warnings": 0, "breaches": 0, "escalations": 0, "messages": 0, "moved": 0}
    for _ in range(MAX_BATCHES):
        async with tenant.transaction() as session:
            counts = await services.scan(session)
        for key, value in counts.items():
            totals[key] += value
        if counts["checked"] < services.SCAN_BATCH:
            break
    async with tenant.transaction() as session:
        totals["expiredUploads"] = await services.expire_uploads(session, get_store(), tenant.slug)
    return totals


sla_scan = for_each_tenant(SLA_SCAN, scan_tenant)


@tenant_task(statistics.EXPORT_KIND)
async def export_statistics(session: AsyncSession, *, job_id: str, month: str, months: int, register: str | None,
                            paths: list[str] | None) -> None:
    """``paths``: where the requester could read complaints when asking (None: the whole group)."""
    authz = Authorizer(principal=SYSTEM_PRINCIPAL, grants={services.READ: paths or []}, whole_group=paths is None)
    period = await statistics.period_of(session, month, months)
    await run_job(session, uuid.UUID(job_id), statistics.EXPORT_KIND,
                  lambda progress: statistics.run_export(session, progress, authz, period,
                                                         Register(register) if register else None))
