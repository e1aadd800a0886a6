"""The grading domain's background work: grades recomputed on demand (a job with progress)
and every day for every tenant."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import SYSTEM
from app.core.db import Database
from app.core.jobs import JobError, Progress, run_job
from app.domains.grading.services import KIND, recompute
from app.domains.org.models import OrgNode
from app.tenants.models import Tenant, TenantStatus, schema_name
from app.worker import celery_app, run_in_worker, tenant_task

log = logging.getLogger(__name__)
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


@celery_app.task(name=RECOMPUTE_ALL)
def recompute_all() -> dict[str, int]:
    return run_in_worker(recompute_every_tenant)


async def recompute_every_tenant(db: Database) -> dict[str, int]:
    """Grade every active tenant's customers, one transaction each; a failing tenant is
    logged and the others go on (the next day's run retries it)."""
    async with db.platform_transaction() as session:
        slugs = (await session.scalars(select(Tenant.slug).where(Tenant.status == TenantStatus.active))).all()
    graded, failed = 0, []
    for slug in slugs:
        try:
            async with db.tenant_session(schema_name(slug)) as session, session.begin():
                session.info["actor"] = SYSTEM
                graded += (await recompute(session))["customers"]
        except Exception:  # noqa: BLE001 - logged; one tenant never stops the others
            log.exception("the daily grading of tenant %s failed", slug)
            failed.append(slug)
    if failed:
        raise RuntimeError(f"the daily grading failed for {len(failed)} tenants: {', '.join(failed[:20])}")
    return {"customers": graded, "tenants": len(slugs)}
