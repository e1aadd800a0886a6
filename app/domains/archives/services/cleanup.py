"""Storage cleanup: uploads never completed, and the objects of removed pages cleared from
storage after the rows that name them are gone."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.domains.archives.models import (
    PAGE_UPLOADS,
    ArchiveObjectRemoval,
    ArchivePage,
)
from app.domains.archives.services.common import OBJECT_ENTITY, PAGE_ENTITY, concurrently, tenant_of
from app.storage import ObjectLocked, ObjectStore, uploads

log = logging.getLogger(__name__)


# A PUT begun before its URL expired may still be arriving this long after; then the upload is
# cleaned up, and a removed page's key is cleared once more.
UPLOAD_GRACE = PAGE_UPLOADS.grace
# Versions deleted under one key per removal run (a signed PUT can be replayed until it expires).
KEY_VERSIONS = 100
LOCKED_RETRY = timedelta(days=1)
REMOVAL_BATCH = 500


def remove_later(session: AsyncSession, pages: Iterable[ArchivePage]) -> None:
    """Queue the objects of pages whose rows are being deleted: at once, and once more when
    their upload URL has expired, for a PUT it signed may still arrive until then."""
    now = clock.utcnow()
    for page in pages:
        session.add(ArchiveObjectRemoval(object_key=page.object_key, not_before=now))
        if (late := page.upload_expires_at + UPLOAD_GRACE) > now:
            session.add(ArchiveObjectRemoval(object_key=page.object_key, not_before=late))


async def clean_expired_uploads(session: AsyncSession, *, batch: int = 500) -> int:
    """Pending uploads whose URL expired more than UPLOAD_GRACE ago (no PUT can add to them
    any more; :func:`app.storage.uploads.expire`): the rows go, their keys join the removal
    list, which clears storage after the commit. A completion holding a row's lock keeps it
    (SKIP LOCKED); one that comes after finds no page. Returns how many."""

    async def queue(pages: Sequence[ArchivePage]) -> Sequence[ArchivePage]:
        remove_later(session, pages)
        return pages

    pages = await uploads.expire(session, ArchivePage, PAGE_UPLOADS, queue, batch=batch)
    await audit.record_many(session, [
        {"action": "archives.page.upload_expired", "entity_type": PAGE_ENTITY, "entity_id": p.id,
         "before": audit.snapshot(p)} for p in pages])
    return len(pages)


async def _remove_key(store: ObjectStore, tenant: str, key: str, now: datetime) -> tuple[int, datetime | None]:
    """Delete every version under ``key``: how many, and when to try again (None: nothing is
    left). A version that refuses deletion is kept until its retention ends (a legal hold
    has no date: a day, then again)."""
    try:
        deleted = await store.delete_key(tenant, key, max_versions=KEY_VERSIONS)
    except ObjectLocked:
        locked = await store.stat(tenant, key)  # delete_key stops at the newest locked version
        log.warning("archives: %s of tenant %s is locked (%s until %s); its removal waits", key, tenant,
                    "legal hold" if locked.legal_hold else locked.retention_mode, locked.retain_until)
        until = locked.retain_until
        return 0, until if until is not None and until > now and not locked.legal_hold else now + LOCKED_RETRY
    return deleted, now if deleted == KEY_VERSIONS else None  # perhaps more left: the next run goes on


async def remove_objects(session: AsyncSession, store: ObjectStore, *, batch: int = REMOVAL_BATCH
                         ) -> dict[str, int]:
    """Clear storage of the due keys of the removal list; a key's entries go once nothing is
    left under it (audited as ``archives.object.remove``). How many entries were due, keys
    cleared (and the versions they held) and keys put off."""
    tenant, now = tenant_of(session), clock.utcnow()
    due = list((await session.scalars(select(ArchiveObjectRemoval).where(ArchiveObjectRemoval.not_before <= now)
                                      .order_by(ArchiveObjectRemoval.not_before).limit(batch)
                                      .with_for_update(skip_locked=True))).all())
    by_key: dict[str, list[ArchiveObjectRemoval]] = {}
    for row in due:
        by_key.setdefault(row.object_key, []).append(row)
    keys = list(by_key)
    outcomes = await concurrently([partial(_remove_key, store, tenant, k, now) for k in keys])
    cleared: list[tuple[str, int]] = []
    for key, (deleted, again) in zip(keys, outcomes, strict=True):
        for row in by_key[key]:
            if again is None:
                await session.delete(row)
            else:
                row.not_before = again
        if again is None:
            cleared.append((key, deleted))
    await session.flush()
    await audit.record_many(session, [
        {"action": "archives.object.remove", "entity_type": OBJECT_ENTITY, "entity_id": key,
         "after": {"versionsDeleted": deleted}} for key, deleted in cleared])
    return {"due": len(due), "keys": len(cleared), "versions": sum(d for _, d in cleared),
            "deferred": len(keys) - len(cleared)}
