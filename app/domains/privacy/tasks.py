"""The privacy domain's background work: building a person's copy (a tenant job), and two
daily scans over every tenant: requests past their deadline, and retention."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.privacy import retention, rotation, services
from app.fanout.tasks import BoundTenant, for_each_tenant
from app.worker import tenant_task

DEADLINE_SCAN = "privacy.deadline_scan"
RETENTION_SCAN = "privacy.retention_scan"


@tenant_task(services.PACKAGE_KIND)
async def build_package(session: AsyncSession, *, job_id: str) -> None:
    """A redelivered task finds the job finished and does nothing."""
    await services.build_package(session, uuid.UUID(job_id))


async def deadline_tenant(tenant: BoundTenant) -> dict[str, int]:
    async with tenant.transaction() as session:
        return {"overdue": await services.note_overdue(session)}


async def retention_tenant(tenant: BoundTenant) -> dict[str, int]:
    """Each kind in its own transaction: a kind that fails leaves the others' work done."""
    async with tenant.transaction() as session:
        rules = await retention.enabled_rules(session)
    total = 0
    for kind, days in rules:
        async with tenant.transaction() as session:
            total += await retention.run_kind(session, kind, days)
    return {"anonymised": total, "kinds": len(rules)}


deadline_scan = for_each_tenant(DEADLINE_SCAN, deadline_tenant)
retention_scan = for_each_tenant(RETENTION_SCAN, retention_tenant)


@tenant_task(rotation.KIND)
async def rotate_data_key(session: AsyncSession, *, job_id: str) -> None:
    """Seal every value again with the tenant's newest data key (app/domains/privacy/rotation.py)."""
    await rotation.rotate(session, uuid.UUID(job_id))
