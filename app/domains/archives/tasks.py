"""The archives domain's background work: re-verifying completed uploads, integrity
verifications with progress, clearing storage of the objects of removed pages and volumes,
and the hourly clean-up of uploads that were never completed (one task per tenant).

The store is the worker's own (``get_store()``: the same settings as the API's)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import Progress, run_job
from app.domains.archives import services
from app.fanout.tasks import BoundTenant, for_each_tenant
from app.storage import StorageUnavailable, get_store
from app.worker import enqueue_after_commit, tenant_task

CLEAN_EXPIRED_UPLOADS = "archives.clean_expired_uploads"
# Storage being down is a reason to try again later (10 s, 20 s, 40 s, … up to 10 minutes
# apart), not to give up: both tasks are safe to run again, and the hourly clean-up goes
# over the removal list too.
RETRY_WHILE_STORAGE_IS_DOWN = {"autoretry_for": (StorageUnavailable,), "retry_backoff": 10, "max_retries": 8}
# Removal batches one tenant's hourly clean-up works through (the rest waits an hour).
CLEAN_UP_BATCHES = 20


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


@tenant_task("archives.remove_objects", **RETRY_WHILE_STORAGE_IS_DOWN)
async def remove_objects(session: AsyncSession, *, batch: int = services.REMOVAL_BATCH) -> dict[str, int]:
    """The due keys of the removal list, right after the deletion that queued them; a full
    batch sends the task again for the rest."""
    done = await services.remove_objects(session, get_store(), batch=batch)
    if done["due"] == batch:
        enqueue_after_commit(session, remove_objects, tenant=services.tenant_of(session), batch=batch)
    return done


async def clean_tenant(tenant: BoundTenant) -> dict[str, int]:
    """One tenant: expired uploads to the removal list (one transaction, the database only),
    then the due removals (a transaction per batch), then stale multipart uploads."""
    store = get_store()
    async with tenant.transaction() as session:
        uploads = await services.clean_expired_uploads(session)
    keys = versions = 0
    for _ in range(CLEAN_UP_BATCHES):
        async with tenant.transaction() as session:
            done = await services.remove_objects(session, store)
        keys, versions = keys + done["keys"], versions + done["versions"]
        if done["due"] < services.REMOVAL_BATCH:
            break
    multipart = await store.abort_incomplete(tenant.slug, services.UPLOAD_GRACE)
    return {"uploads": uploads, "keys": keys, "versions": versions, "multipart": multipart}


# Storage being down fails a tenant's clean-up; its retries (and the next hourly run, which
# goes over the removal list too) take it up again.
clean_expired_uploads = for_each_tenant(CLEAN_EXPIRED_UPLOADS, clean_tenant)
