"""The grading domain's background work: grades recomputed on demand (a job with progress)
and every day in every tenant (one task per tenant)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import JobError, Progress, run_job
from app.domains.grading.services import KIND, recompute
from app.domains.org.models import OrgNode
from app.fanout.tasks import BoundTenant, for_each_tenant
from app.worker import tenant_task

RECOMPUTE_ALL = "grading.recompute_all"


@tenant_task(KIND)
async def recompute_grades(session: AsyncSession, *, job_id: str, node_id: str | None = None) -> None:
    """An on-demand recomputation; a redelivered task finds the job finished and does nothing."""
    job = uuid.UUID(job_id)

    async def work(progress: Progress) -> dict[str, Any]:
        path = None
        if node_id is not None:
            # Read now, not when asked: the node may have moved in the tree meanwhile.
            path = await session.scalar(select(OrgNode.path).where(OrgNode.id == uuid.UUID(node_id)))
            if path is None:
                raise JobError(f"The org node {node_id} no longer exists.")
        return await recompute(session, node_path=path, progress=progress, job_id=job)

    await run_job(session, job, KIND, work)


async def recompute_tenant(tenant: BoundTenant) -> dict[str, int]:
    """Every customer of one tenant graded by its rules, in one transaction."""
    async with tenant.transaction() as session:
        return {"customers": (await recompute(session))["customers"]}


recompute_all = for_each_tenant(RECOMPUTE_ALL, recompute_tenant)
