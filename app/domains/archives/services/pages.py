"""A volume's pages: uploads of declared bytes through presigned PUTs, verified on completion;
corrections of filed pages as new revisions; order, deletion, downloads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.ids import new_id
from app.core.problems import FieldError, ProblemError, field_error
from app.domains.access.authz import Authorizer
from app.domains.archives.models import (
    PAGE_UPLOADS,
    ArchivePage,
    ArchiveVolume,
    CheckOutcome,
    PageStatus,
    VolumeStatus,
)
from app.domains.archives.schemas import (
    ArchivePolicy,
    CorrectionIn,
    PageDeclaration,
    PageDownloadOut,
    PresignedPut,
)
from app.domains.archives.services.cleanup import remove_later
from app.domains.archives.services.common import (
    CORRECT,
    ENTITY,
    PAGE_ENTITY,
    WRITE,
    concurrently,
    require_status,
    tenant_of,
    touch,
)
from app.domains.archives.services.reads import page_numbers
from app.storage import ObjectInfo, ObjectStore, PresignedRequest, uploads


def _require_size(policy: ArchivePolicy, size: int, field: str) -> FieldError | None:
    if size > policy.max_page_bytes:
        return field_error(field, f"above the group's limit of {policy.max_page_bytes} bytes per page")
    return None


def _refuse_oversize(errors: list[FieldError | None]) -> None:
    found = [e for e in errors if e is not None]
    if found:
        raise ProblemError("conflict", "A page is larger than the group's archive policy allows.", errors=found)


def _declared(data: PageDeclaration | CorrectionIn, at: str = "") -> tuple[uploads.Declared, list[FieldError]]:
    return PAGE_UPLOADS.problems(content_type=data.content_type.value, size=data.size, sha256=data.sha256,
                                 file_name=data.file_name, at=at)


async def _presign(store: ObjectStore, tenant: str, page: ArchivePage, declared: uploads.Declared,
                   policy: ArchivePolicy) -> PresignedRequest:
    # Derived from ids only, inside the tenant's own bucket; a fresh key per revision.
    key = PAGE_UPLOADS.key(volume=page.volume_id, page=page.id)
    return await uploads.start(store, tenant, PAGE_UPLOADS, page, key, declared,
                               expires=timedelta(minutes=policy.upload_url_minutes))


def presigned(signed: PresignedRequest) -> PresignedPut:
    return PresignedPut(method=signed.method, url=signed.url, headers=dict(signed.headers),
                        expires_at=signed.expires_at)


@dataclass
class Issued:
    page: ArchivePage
    upload: PresignedRequest


async def issue_uploads(session: AsyncSession, authz: Authorizer, store: ObjectStore, volume: ArchiveVolume,
                        path: str, policy: ArchivePolicy, pages: list[PageDeclaration]) -> list[Issued]:
    """Pending pages at the end of a draft volume, each with a presigned PUT for exactly the
    declared bytes; nothing counts as stored until completed."""
    authz.require(WRITE, path)
    require_status(volume, VolumeStatus.draft, doing="add pages to it")
    checked = [_declared(p, f"pages.{i}.") for i, p in enumerate(pages)]
    uploads.refuse([e for _, errors in checked for e in errors])
    _refuse_oversize([_require_size(policy, p.size, f"pages.{i}.size") for i, p in enumerate(pages)])
    await store.health()  # a URL to a server that is down is no use to the scanning station
    tenant = tenant_of(session)
    last = await session.scalar(select(func.max(ArchivePage.seq)).where(ArchivePage.volume_id == volume.id)) or 0
    issued: list[Issued] = []
    for n, (declared, _) in enumerate(checked, 1):
        page_id = new_id()
        page = ArchivePage(id=page_id, volume_id=volume.id, lineage_id=page_id, revision=1, seq=last + n,
                           file_name=declared.file_name, uploaded_by=authz.principal.subject)
        issued.append(Issued(page, await _presign(store, tenant, page, declared, policy)))
    session.add_all([i.page for i in issued])
    await session.flush()
    await audit.record_many(session, [
        {"action": "archives.page.upload", "entity_type": PAGE_ENTITY, "entity_id": i.page.id,
         "after": {**audit.snapshot(i.page), "volumeId": str(volume.id)}} for i in issued])
    return issued


def _require_correctable(volume: ArchiveVolume) -> None:
    """Corrections are new revisions of a filed volume's pages, locked until its date: while it runs."""
    if volume.status is not VolumeStatus.filed:
        raise ProblemError("conflict", f"Volume {volume.archive_number or volume.id} is {volume.status.value}: "
                                       "before filing, delete the page and upload it again.")
    if volume.retain_until is not None and volume.retain_until <= clock.utcnow():
        raise ProblemError("conflict", f"The retention of volume {volume.archive_number} ended on "
                                       f"{volume.retain_until.isoformat()}: it is due for disposal, not correction.")


async def issue_correction(session: AsyncSession, authz: Authorizer, store: ObjectStore, page: ArchivePage,
                           volume: ArchiveVolume, path: str, policy: ArchivePolicy, data: CorrectionIn) -> Issued:
    """A new revision of a page of a filed volume (a fresh object; the old one stays locked)."""
    authz.require(CORRECT, path)
    _require_correctable(volume)
    if page.status is not PageStatus.stored:
        raise ProblemError("conflict", f"Page {page.id} is {page.status.value}: only a current page is corrected.")
    declared, errors = _declared(data)
    uploads.refuse(errors)
    _refuse_oversize([_require_size(policy, data.size, "size")])
    pending = await session.scalar(select(ArchivePage.id).where(
        ArchivePage.lineage_id == page.lineage_id, ArchivePage.status == PageStatus.pending))
    if pending is not None:
        raise ProblemError("conflict", f"A correction of this page is already being uploaded (page {pending}): "
                                       "complete it first, or let it expire.")
    await store.health()
    revision = await session.scalar(select(func.max(ArchivePage.revision)).where(
        ArchivePage.lineage_id == page.lineage_id)) or page.revision
    correction = ArchivePage(id=new_id(), volume_id=volume.id, lineage_id=page.lineage_id, revision=revision + 1,
                             seq=page.seq, file_name=declared.file_name, reason=data.reason,
                             uploaded_by=authz.principal.subject)
    signed = await _presign(store, tenant_of(session), correction, declared, policy)
    session.add(correction)
    await session.flush()
    await audit.record(session, action="archives.page.correct", entity_type=PAGE_ENTITY, entity_id=correction.id,
                       after={**audit.snapshot(correction), "corrects": str(page.id)}, reason=data.reason)
    return Issued(correction, signed)


async def inspect_page(store: ObjectStore, tenant: str, page: ArchivePage, version: str | None
                       ) -> tuple[ObjectInfo | None, CheckOutcome, str | None]:
    """Storage's copy of a page revision (``version``; the newest when None) against its
    record (:func:`app.storage.uploads.inspect`: size, SHA-256 read back, stored type, format)."""
    found = await uploads.inspect(store, tenant, page, version)
    return found.info, CheckOutcome(found.outcome.value), found.detail


async def complete_pages(session: AsyncSession, authz: Authorizer, store: ObjectStore, volume: ArchiveVolume,
                         path: str, page_ids: list[uuid.UUID]) -> list[ArchivePage]:
    """Confirm uploads: each object must be the declared file (:func:`inspect_page`). All or
    nothing: a page that is not there (409) or not the declared file (422) fails the whole
    call, naming it, and nothing is recorded. Already stored pages are answered as they are.
    A correction of a filed volume is locked like its volume before it replaces the page it
    corrects. The caller holds the volume for update (completing renumbers its pages)."""
    authz.require(WRITE, path)
    ids = list(dict.fromkeys(page_ids))
    rows = {p.id: p for p in (await session.scalars(select(ArchivePage).where(
        ArchivePage.id.in_(ids), ArchivePage.volume_id == volume.id).with_for_update())).all()}
    unknown = [field_error(f"pageIds.{page_ids.index(i)}", "no such page in this volume") for i in ids
               if i not in rows]
    if unknown:
        raise ProblemError("not-found", "A page is not one of this volume's.", errors=unknown)
    pending = [rows[i] for i in ids if rows[i].status is PageStatus.pending]
    for page in pending:
        if page.revision > 1:
            authz.require(CORRECT, path)
            _require_correctable(volume)
        else:
            require_status(volume, VolumeStatus.draft, doing="complete its uploads")
    tenant = tenant_of(session)
    inspected = await concurrently([partial(inspect_page, store, tenant, p, None) for p in pending])
    missing = [field_error(f"pageIds.{page_ids.index(p.id)}", "not uploaded yet")
               for p, (_, outcome, _) in zip(pending, inspected, strict=True) if outcome is CheckOutcome.missing]
    wrong = [field_error(f"pageIds.{page_ids.index(p.id)}", f"the stored object is not the declared file: {detail}")
             for p, (_, outcome, detail) in zip(pending, inspected, strict=True)
             if outcome not in (CheckOutcome.ok, CheckOutcome.missing)]
    if wrong:
        raise ProblemError("validation", "An upload is not the declared file (size, SHA-256 or type): delete the "
                                         "page and declare it again, or upload it again with its URL.",
                           errors=wrong + missing)
    if missing:
        raise ProblemError("conflict", "An upload has not arrived in storage yet.", errors=missing)
    results = [(p, info) for p, (info, _, _) in zip(pending, inspected, strict=True) if info is not None]
    now = clock.utcnow()
    corrections = [(p, info) for p, info in results if p.revision > 1]
    if corrections:
        mode, until = volume.retention_mode, volume.retain_until
        assert mode is not None and until is not None  # a filed volume has both
        await concurrently([partial(store.set_retention, tenant, p.object_key, i.version_id, mode, until)
                            for p, i in corrections])
        if volume.legal_hold:
            await concurrently([partial(store.set_legal_hold, tenant, p.object_key, i.version_id, True)
                                for p, i in corrections])
    replaced: list[ArchivePage] = []
    for page, info in results:
        page.mark_stored(info, now)
        if page.revision > 1:
            page.locked_until = volume.retain_until
            current = await session.scalar(select(ArchivePage).where(
                ArchivePage.lineage_id == page.lineage_id, ArchivePage.status == PageStatus.stored,
                ArchivePage.id != page.id).with_for_update())
            if current is not None:
                current.status, current.superseded_at = PageStatus.superseded, now
                replaced.append(current)
    if results:
        touch(volume)
    await session.flush()
    await audit.record_many(session, [
        {"action": "archives.page.complete", "entity_type": PAGE_ENTITY, "entity_id": p.id,
         "after": {"volumeId": str(volume.id), "versionId": p.object_version, "size": p.size, "sha256": p.sha256,
                   "revision": p.revision, "supersedes": next((str(r.id) for r in replaced
                                                               if r.lineage_id == p.lineage_id), None)}}
        for p, _ in results])
    return [rows[i] for i in ids]


def _order_problems(page_ids: list[uuid.UUID], pages: dict[uuid.UUID, ArchivePage]) -> list[FieldError]:
    """Why ``page_ids`` is not an order of the volume's stored pages, each once (sets: an
    order may list ten thousand pages)."""
    seen: set[uuid.UUID] = set()
    errors: list[FieldError] = []
    for n, page_id in enumerate(page_ids):
        if page_id in seen:
            errors.append(field_error(f"pageIds.{n}", "listed twice"))
        seen.add(page_id)
    errors += [field_error(f"pageIds.{n}", "not stored yet: complete it first") for n, i in enumerate(page_ids)
               if pages[i].status is not PageStatus.stored]
    missing = [p for p in pages.values() if p.status is PageStatus.stored and p.id not in seen]
    if missing:
        errors.append(field_error("pageIds", f"{len(missing)} stored pages are missing from the order, e.g. "
                                             f"{missing[0].id}"))
    return errors


async def reorder(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                  page_ids: list[uuid.UUID]) -> ArchiveVolume:
    """Put the current pages in a new order (before assembly); pending uploads follow them."""
    authz.require(WRITE, path)
    require_status(volume, VolumeStatus.draft, doing="reorder its pages")
    pages = {p.id: p for p in (await session.scalars(select(ArchivePage).where(
        ArchivePage.volume_id == volume.id, ArchivePage.status != PageStatus.superseded)
        .order_by(ArchivePage.seq, ArchivePage.id).with_for_update())).all()}
    unknown = [field_error(f"pageIds.{n}", "no such page in this volume") for n, i in enumerate(page_ids)
               if i not in pages]
    if unknown:
        raise ProblemError("not-found", "A page is not one of this volume's.", errors=unknown)
    errors = _order_problems(page_ids, pages)
    if errors:
        raise ProblemError("conflict", "The order must list every stored page of the volume exactly once.",
                           errors=errors)
    before = [str(p.id) for p in pages.values() if p.status is PageStatus.stored]
    rest = [p for p in pages.values() if p.status is PageStatus.pending]
    for seq, page in enumerate([pages[i] for i in page_ids] + rest, 1):
        page.seq = seq
    touch(volume)
    await session.flush()
    await audit.record(session, action="archives.volume.reorder", entity_type=ENTITY, entity_id=volume.id,
                       before={"order": before}, after={"order": [str(i) for i in page_ids]})
    return volume


async def delete_page(session: AsyncSession, authz: Authorizer, page: ArchivePage, volume: ArchiveVolume,
                      path: str) -> None:
    """Remove a page (or a pending upload) of a draft volume; its object is queued for removal
    from storage. The caller holds the volume for update (the pages after it move up)."""
    authz.require(WRITE, path)
    require_status(volume, VolumeStatus.draft, doing="delete its pages")
    before = audit.snapshot(page)
    remove_later(session, [page])
    await session.delete(page)
    touch(volume)
    await session.flush()
    await audit.record(session, action="archives.page.delete", entity_type=PAGE_ENTITY, entity_id=page.id,
                       before=before)


async def download(session: AsyncSession, authz: Authorizer, store: ObjectStore, page: ArchivePage,
                   volume: ArchiveVolume, policy: ArchivePolicy) -> PageDownloadOut:
    """A short-lived presigned GET of the page's recorded version; each issuance is audited
    (who, which page, when, from which client and address)."""
    if page.object_version is None:
        raise ProblemError("conflict", f"Page {page.id} is still being uploaded.")
    await store.health()
    number = (await page_numbers(session, volume.id, [page.id])).get(page.id)
    name = f"{volume.archive_number or volume.id}-p{number or 0:04d}-r{page.revision}"
    signed = await uploads.presign_download(store, tenant_of(session), PAGE_UPLOADS, page, name=name,
                                            expires=timedelta(seconds=policy.download_url_seconds))
    await audit.record(session, action="archives.page.download", entity_type=PAGE_ENTITY, entity_id=page.id, after={
        "volumeId": str(volume.id), "archiveNumber": volume.archive_number, "pageNumber": number,
        "revision": page.revision, "versionId": page.object_version, "classification": volume.classification,
        "expiresAt": signed.expires_at.isoformat()})
    return PageDownloadOut(page_id=page.id, page_number=number, version_id=page.object_version,
                           content_type=page.content_type, size=page.size, sha256=page.sha256, url=signed.url,
                           expires_at=signed.expires_at)
