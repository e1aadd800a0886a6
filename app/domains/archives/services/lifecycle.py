"""A volume's way to the archive: assembled (and numbered), reviewed by someone else, filed
under object-lock retention; reopened before filing; legal holds once filed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.numbering import take
from app.core.problems import FieldError, ProblemError, field_error
from app.core.states import Workflow
from app.domains.access.authz import Authorizer
from app.domains.archives.models import (
    ArchiveContentsItem,
    ArchivePage,
    ArchiveVolume,
    PageStatus,
    RetentionPeriod,
    VolumeStatus,
)
from app.domains.archives.schemas import (
    ArchivePolicy,
    LegalHoldIn,
    ReviewIn,
)
from app.domains.archives.services.common import (
    FILE,
    HINTS,
    HOLD,
    REVIEW,
    WRITE,
    concurrently,
    label,
    require_status,
    saved_volume,
    tenant_of,
    volume_snapshot,
)
from app.domains.archives.services.policy import RETENTION_CODES
from app.domains.archives.services.reads import contents_items, page_counts
from app.storage import ObjectStore
from app.tenants import bound
from app.tenants.bound import time_zone

# Every move of a volume's status; changes inside a state are guarded by ``require_status``.
VOLUME = Workflow("archive volume", {
    "assemble": ([VolumeStatus.draft], [VolumeStatus.assembled]),
    "reopen": ([VolumeStatus.assembled, VolumeStatus.reviewed], [VolumeStatus.draft]),
    "review": ([VolumeStatus.assembled], [VolumeStatus.reviewed]),
    "file": ([VolumeStatus.reviewed], [VolumeStatus.filed]),
})

# S3 has no "forever": permanent volumes are locked for a century, and the date can only be extended.
RETENTION_YEARS = {RetentionPeriod.permanent: 100, RetentionPeriod.years_30: 30, RetentionPeriod.years_10: 10}


async def _archive_number(session: AsyncSession, policy: ArchivePolicy, volume: ArchiveVolume, year: int) -> str:
    """The next number after the tenant's pattern; items are counted per value of the other
    placeholders the pattern holds (DA/T 22: per year, retention period and organisation)."""
    scheme = policy.numbering
    retention = RETENTION_CODES[volume.retention]
    series = ("A" + (retention if "{retention}" in scheme.pattern else "")
              + (volume.organisation_code if "{organisation}" in scheme.pattern else ""))
    item = await take(session, series, year if "{year}" in scheme.pattern else 0)
    values = {"fonds": scheme.fonds, "category": scheme.category, "year": str(year), "retention": retention,
              "organisation": volume.organisation_code, "item": f"{item:0{scheme.item_digits}d}"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], scheme.pattern)


def contents_problems(items: list[ArchiveContentsItem], page_count: int) -> list[FieldError]:
    """The contents list must cover pages 1..n in order, each page in exactly one item."""
    problems: list[FieldError] = []
    expected = 1
    for n, item in enumerate(items):
        if item.page_from > item.page_to:
            problems.append(field_error(f"contents.{n}.pageTo", "before its pageFrom"))
        elif item.page_from != expected:
            problems.append(field_error(f"contents.{n}.pageFrom", f"should be {expected}: every page belongs to "
                                                                  "exactly one item, in order"))
        if item.page_to > page_count:
            problems.append(field_error(f"contents.{n}.pageTo", f"the volume has {page_count} pages"))
        expected = item.page_to + 1
    if items and not problems and expected != page_count + 1:
        problems.append(field_error("contents", f"pages {expected} to {page_count} belong to no item"))
    return problems


async def assemble(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                   policy: ArchivePolicy) -> ArchiveVolume:
    """Draft → assembled: every upload completed, the contents list covering the pages, the
    remarks sheet compiled; the volume gets its archive number (kept if it had one)."""
    authz.require(WRITE, path)
    VOLUME.require("assemble", volume.status, label(volume), hint=HINTS.get(volume.status, ""))
    counts = await page_counts(session, volume.id)
    pages, pending = counts.get(PageStatus.stored, 0), counts.get(PageStatus.pending, 0)
    items = await contents_items(session, volume.id)
    problems: list[FieldError] = []
    if pending:
        problems.append(field_error("pages", f"{pending} uploads are not completed: complete or delete them"))
    if not pages:
        problems.append(field_error("pages", "no page is stored"))
    if not items:
        problems.append(field_error("contents", "the contents list is empty"))
    problems += contents_problems(items, pages) if pages else []
    if not volume.remarks_compiler:
        problems.append(field_error("remarks.compiler", "the remarks sheet names no compiler"))
    if not volume.remarks_compiled_on:
        problems.append(field_error("remarks.compiledOn", "the remarks sheet has no compilation date"))
    if problems:
        raise ProblemError("conflict", "The volume is not complete: " + "; ".join(
            f"{p.field}: {p.message}" for p in problems), errors=problems)
    before = volume_snapshot(volume)
    dates = [i.document_date for i in items if i.document_date is not None]
    year = volume.year or (max(dates).year if dates else (await bound.today(session)).year)
    if volume.archive_number is None:
        volume.archive_number = await _archive_number(session, policy, volume, year)
    volume.year = year
    volume.status = VOLUME.to("assemble", volume.status, VolumeStatus.assembled, label(volume))
    volume.assembled_by, volume.assembled_at = authz.principal.subject, clock.utcnow()
    return await saved_volume(session, volume, "assemble", before)


async def reopen(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                 reason: str) -> ArchiveVolume:
    """Assembled or reviewed → draft, for corrections before filing; the review is void."""
    authz.require(WRITE, path)
    VOLUME.require("reopen", volume.status, label(volume), hint=HINTS.get(volume.status, ""))
    before = volume_snapshot(volume)
    volume.status = VOLUME.to("reopen", volume.status, VolumeStatus.draft, label(volume))
    volume.reviewed_by = volume.reviewed_at = volume.remarks_reviewer = volume.remarks_reviewed_on = None
    return await saved_volume(session, volume, "reopen", before, reason=reason)


async def review(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                 data: ReviewIn) -> ArchiveVolume:
    """Assembled → reviewed, by someone other than its assembler; the reviewer signs the remarks sheet."""
    authz.require(REVIEW, path)
    VOLUME.require("review", volume.status, label(volume), hint=HINTS.get(volume.status, ""))
    if volume.assembled_by == authz.principal.subject:
        raise ProblemError("forbidden", "A volume is reviewed by someone other than the one who assembled it.")
    before = volume_snapshot(volume)
    volume.status = VOLUME.to("review", volume.status, VolumeStatus.reviewed, label(volume))
    volume.reviewed_by, volume.reviewed_at = authz.principal.subject, clock.utcnow()
    volume.remarks_reviewer, volume.remarks_reviewed_on = data.reviewer_name, await bound.today(session)
    return await saved_volume(session, volume, "review", before, reason=data.comment)


async def stored_revisions(session: AsyncSession, volume_id: uuid.UUID) -> list[ArchivePage]:
    """Every page revision with an object (current and superseded), in page order."""
    return list((await session.scalars(select(ArchivePage).where(
        ArchivePage.volume_id == volume_id, ArchivePage.status != PageStatus.pending)
        .order_by(ArchivePage.seq, ArchivePage.revision))).all())


async def retain_until(session: AsyncSession, volume: ArchiveVolume) -> datetime:
    """DA/T 22 counts retention from 1 January after the documents' year; a volume filed
    later than that counts from 1 January after its filing (tenant time zone)."""
    zone = ZoneInfo(await time_zone(session))
    start = max(volume.year or 0, clock.utcnow().astimezone(zone).year) + 1
    return datetime(start + RETENTION_YEARS[volume.retention], 1, 1, tzinfo=zone).astimezone(UTC)


async def file_volume(session: AsyncSession, authz: Authorizer, store: ObjectStore, volume: ArchiveVolume,
                      path: str, policy: ArchivePolicy) -> ArchiveVolume:
    """Reviewed → filed: every object gets object-lock retention until the end of the
    retention period (the tenant's mode); the volume is recorded as filed only once all are."""
    authz.require(FILE, path)
    VOLUME.require("file", volume.status, label(volume), hint=HINTS.get(volume.status, ""))
    tenant, mode, until = tenant_of(session), policy.retention_mode, await retain_until(session, volume)
    pages = await stored_revisions(session, volume.id)
    await concurrently([partial(store.set_retention, tenant, p.object_key, str(p.object_version), mode, until)
                        for p in pages])
    before = volume_snapshot(volume)
    for page in pages:
        page.locked_until = until
    volume.status = VOLUME.to("file", volume.status, VolumeStatus.filed, label(volume))
    volume.filed_by, volume.filed_at = authz.principal.subject, clock.utcnow()
    volume.retention_mode, volume.retain_until = mode, until
    return await saved_volume(session, volume, "file", before, lockedObjects=len(pages))


async def set_legal_hold(session: AsyncSession, authz: Authorizer, store: ObjectStore, volume: ArchiveVolume,
                         path: str, data: LegalHoldIn) -> ArchiveVolume:
    """Set or clear a legal hold on every object of a filed volume, with a reason."""
    authz.require(HOLD, path)
    require_status(volume, VolumeStatus.filed, doing="put it under legal hold")
    if volume.legal_hold == data.hold:
        raise ProblemError("conflict", f"The legal hold is already {'on' if data.hold else 'off'}.")
    tenant = tenant_of(session)
    pages = await stored_revisions(session, volume.id)
    await concurrently([partial(store.set_legal_hold, tenant, p.object_key, str(p.object_version), data.hold)
                        for p in pages])
    before = volume_snapshot(volume)
    volume.legal_hold, volume.legal_hold_reason = data.hold, data.reason
    volume.legal_hold_changed_by, volume.legal_hold_changed_at = authz.principal.subject, clock.utcnow()
    return await saved_volume(session, volume, "legal_hold", before, reason=data.reason, objects=len(pages))
