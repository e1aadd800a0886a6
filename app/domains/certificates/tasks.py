"""Background work of the certificates domain, each a daily fan-out (one task per tenant, a
transaction per batch): the lateness scan of certificate cases and the litigation rule over
overdue collection cases; and the referral package of a collection case (a job)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import run_job
from app.domains.certificates import collections, documents, lateness, package
from app.fanout.tasks import BoundTenant, for_each_tenant
from app.storage import get_store
from app.worker import tenant_task

LATENESS_SCAN = "certificates.lateness_scan"
LITIGATION_RULE = "collections.litigation_rule"
MAX_BATCHES = 200  # 100,000 late cases a run; a larger backlog waits for the next day


async def lateness_tenant(tenant: BoundTenant) -> dict[str, int]:
    """The lateness scan in batches; then the guarantee documents whose upload was never completed."""
    totals = {"checked": 0, "urged": 0, "told": 0}
    for _ in range(MAX_BATCHES):
        async with tenant.transaction() as session:
            counts = await lateness.scan(session)
        for key, value in counts.items():
            totals[key] += value
        if counts["checked"] < lateness.SCAN_BATCH:
            break
    async with tenant.transaction() as session:
        totals["expiredDocuments"] = await documents.expire(session, get_store(), tenant.slug)
    return totals


lateness_scan = for_each_tenant(LATENESS_SCAN, lateness_tenant)


async def litigation_tenant(tenant: BoundTenant) -> dict[str, int]:
    totals = {"checked": 0, "referred": 0}
    for _ in range(MAX_BATCHES):
        async with tenant.transaction() as session:
            counts = await collections.scan(session)
        for key, value in counts.items():
            totals[key] += value
        if counts["checked"] < collections.SCAN_BATCH:
            break
    return totals


litigation_rule = for_each_tenant(LITIGATION_RULE, litigation_tenant)


@tenant_task(package.KIND)
async def build_package(session: AsyncSession, *, job_id: str, case_id: str) -> None:
    """The referral package of a collection case, as a job with progress."""
    await run_job(session, uuid.UUID(job_id), package.KIND,
                  lambda progress: package.build(session, progress, uuid.UUID(case_id)))
