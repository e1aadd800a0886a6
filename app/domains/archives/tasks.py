"""The archives domain's background work: re-verifying completed uploads, integrity
verifications with progress, deleting the objects of removed pages and volumes, and the
hourly clean-up of uploads that were never completed.

The store is the worker's own (``get_store()``: the same settings as the API's)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import SYSTEM
from app.core.db import Database
from app.core.jobs import Progress, run_job
from app.domains.archives import services
from app.storage import ObjectLocked, StorageUnavailable, get_store
from app.tenants.models import Tenant, TenantStatus, schema_name
from app.worker import celery_app, run_in_worker, tenant_task

log = logging.getLogger(__name__)
CLEAN_EXPIRED_UPLOADS = "archives.clean_expired_uploads"
# Storage being down is a reason to try again later (10 s, 20 s, 40 s, … up to 10 minutes
# apart), not to give up: both tasks are safe to run again.
RETRY_WHILE_STORAGE_IS_DOWN = {"autoretry_for": (StorageUnavailable,), "retry_backoff": 10, "max_retries": 8}


@tenant_task("archives.reverify_pages", **RETRY_WHILE_STORAGE_IS_DOWN)
async def reverify_pages(session: AsyncSession, *, page_ids: list[str]) -> dict[str, int]:
    return await services.reverify_pages(session, get_store(), [uuid.UUID(p) for p in page_ids])


@tenant_task(services.VERIFY_KIND)
async def verify_volume(session: AsyncSession, *, job_id: str, volume_id: str) -> None:
    """A redelivered task finds the job finished and does nothing."""
    job = uuid.UUID(job_id)

    async def work(progress: Progress) -> dict[str, Any]:
        return await services.verify_volume(session, get_store(), uuid.UUID(volume_id), job, progress)

    await run_job(session, job, services.VERIFY_KIND, work)


@tenant_task("archives.delete_objects", **RETRY_WHILE_STORAGE_IS_DOWN)
async def delete_objects(session: AsyncSession, *, keys: list[str]) -> dict[str, int]:
    """Every version under the keys of removed page revisions (no row names them any more)."""
    tenant, store, deleted = services.tenant_of(session), get_store(), 0
    for key in keys:
        try:
            deleted += await store.delete_key(tenant, key)
        except ObjectLocked:
            log.warning("archives: %s of tenant %s is still locked; kept", key, tenant)
    return {"keys": len(keys), "versions": deleted}


@celery_app.task(name=CLEAN_EXPIRED_UPLOADS)
def clean_expired_uploads() -> dict[str, int]:
    return run_in_worker(clean_all_tenants)


async def clean_all_tenants(db: Database) -> dict[str, int]:
    """Run the clean-up in every active tenant, one transaction each; a failing tenant (its
    storage down, say) is logged and the others go on; the next run retries it."""
    async with db.platform_transaction() as session:
        slugs = (await session.scalars(select(Tenant.slug).where(Tenant.status == TenantStatus.active))).all()
    totals: dict[str, int] = {"uploads": 0, "objects": 0, "multipart": 0}
    failed = []
    store = get_store()
    for slug in slugs:
        try:
            async with db.tenant_session(schema_name(slug)) as session, session.begin():
                session.info["actor"] = SYSTEM
                for name, count in (await services.clean_expired_uploads(session, store)).items():
                    totals[name] += count
        except Exception:  # noqa: BLE001 - logged; one tenant never stops the others
            log.exception("the clean-up of expired archive uploads failed for tenant %s", slug)
            failed.append(slug)
    if failed:
        raise RuntimeError(f"the archive upload clean-up failed for {len(failed)} tenants: {', '.join(failed[:20])}")
    return {**totals, "tenants": len(slugs)}
