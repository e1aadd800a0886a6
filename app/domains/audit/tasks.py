"""Background work of the audit trail: the CSV export (a tenant job) and the daily purge."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.audit import services
from app.domains.audit.schemas import AuditFilter
from app.worker import celery_app, run_in_worker, tenant_task

EXPORT = services.EXPORT_KIND
ENFORCE_RETENTION = "audit.enforce_retention"


@tenant_task(EXPORT)
async def export_audit(session: AsyncSession, *, job_id: str, filters: dict[str, Any]) -> None:
    await services.run_export(session, uuid.UUID(job_id), msgspec.convert(filters, AuditFilter))


@celery_app.task(name=ENFORCE_RETENTION)
def enforce_retention() -> dict[str, int]:
    return run_in_worker(services.enforce_retention)
