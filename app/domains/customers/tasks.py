"""The customers domain's background work: CSV imports."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import Progress, run_job
from app.domains.customers.imports import IMPORT_KIND, run_import
from app.worker import tenant_task


@tenant_task(IMPORT_KIND)
async def import_customers(session: AsyncSession, *, job_id: str) -> None:
    """Run an uploaded import; a redelivered task finds the job finished and does nothing."""
    job = uuid.UUID(job_id)

    async def work(progress: Progress) -> dict[str, Any]:
        return await run_import(session, job, progress)

    await run_job(session, job, IMPORT_KIND, work)
