"""Background work of the audit trail: the CSV export (a tenant job) and the daily purge
(one task per tenant with a retention policy)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.audit import services
from app.domains.audit.schemas import AuditFilter
from app.fanout.tasks import BoundTenant, for_each_tenant
from app.tenants.models import Tenant
from app.worker import tenant_task

EXPORT = services.EXPORT_KIND
ENFORCE_RETENTION = "audit.enforce_retention"


@tenant_task(EXPORT)
async def export_audit(session: AsyncSession, *, job_id: str, filters: dict[str, Any]) -> None:
    await services.run_export(session, uuid.UUID(job_id), msgspec.convert(filters, AuditFilter))


async def purge_expired(tenant: BoundTenant) -> dict[str, int]:
    """Purge one tenant's records older than its policy, read now (it may have changed since
    the run started; without one, nothing goes), in batches of their own transactions."""
    async with tenant.transaction() as session:
        days = await session.scalar(select(Tenant.audit_retention_days).where(Tenant.slug == tenant.slug))
    return {"deleted": await services.purge_tenant(tenant.db, tenant.slug, days) if days is not None else 0}


enforce_retention = for_each_tenant(ENFORCE_RETENTION, purge_expired,
                                    where=Tenant.audit_retention_days.is_not(None))
