"""Integrity: a volume's manifest, pages checked against storage, and the verification report
by the four properties of electronic records."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock, jobs
from app.domains.access.authz import Authorizer
from app.domains.archives.models import (
    ArchivePage,
    ArchivePageCheck,
    ArchiveVolume,
    CheckOutcome,
    PageStatus,
    VolumeStatus,
)
from app.domains.archives.schemas import (
    LastCheck,
    Manifest,
    ManifestPage,
    page_line,
)
from app.domains.archives.services.common import ENTITY, VERIFY, tenant_of
from app.domains.archives.services.lifecycle import contents_problems, stored_revisions
from app.domains.archives.services.pages import inspect_page
from app.domains.archives.services.reads import contents_items, page_numbers
from app.storage import ObjectStore, StorageUnavailable

VERIFY_KIND = "archives.verify_volume"


def manifest_lines(pages: list[ArchivePage]) -> list[str]:
    return [page_line(p.id, p.revision, p.object_key, str(p.object_version), p.size, p.sha256) for p in pages]


def digest_of(lines: list[str]) -> str:
    return hashlib.sha256("".join(lines).encode()).hexdigest()


async def manifest(session: AsyncSession, volume: ArchiveVolume) -> Manifest:
    pages = await stored_revisions(session, volume.id)
    numbers = await page_numbers(session, volume.id)
    checks: dict[uuid.UUID, ArchivePageCheck] = {}
    if pages:
        latest = (select(ArchivePageCheck).where(ArchivePageCheck.page_id.in_([p.id for p in pages]))
                  .order_by(ArchivePageCheck.page_id, ArchivePageCheck.checked_at.desc(), ArchivePageCheck.id.desc())
                  .distinct(ArchivePageCheck.page_id))
        checks = {c.page_id: c for c in (await session.scalars(latest)).all()}
    return Manifest(
        volume_id=volume.id, archive_number=volume.archive_number, status=volume.status, retention=volume.retention,
        retention_mode=volume.retention_mode, retain_until=volume.retain_until, legal_hold=volume.legal_hold,
        page_count=len(numbers), generated_at=clock.utcnow(),
        pages=[ManifestPage(
            page_id=p.id, lineage_id=p.lineage_id, revision=p.revision, current=p.status is PageStatus.stored,
            page_number=numbers.get(p.id), object_key=p.object_key, version_id=str(p.object_version), size=p.size,
            sha256=p.sha256, content_type=p.content_type, completed_at=p.completed_at or p.created_at,
            reason=p.reason, locked_until=p.locked_until,
            last_check=LastCheck(at=c.checked_at, outcome=c.outcome, detail=c.detail) if (c := checks.get(p.id))
            else None) for p in pages],
        digest=digest_of(manifest_lines(pages)))


async def check_page(store: ObjectStore, tenant: str, page: ArchivePage, volume: ArchiveVolume
                     ) -> tuple[CheckOutcome, str | None]:
    """Compare one stored page revision with storage: the recorded version holds the
    recorded file (:func:`inspect_page`) and, once filed, is under the lock it should have."""
    info, outcome, detail = await inspect_page(store, tenant, page, str(page.object_version))
    if info is None or outcome is not CheckOutcome.ok:
        return outcome, detail
    if volume.status is VolumeStatus.filed and page.locked_until is not None:
        if info.retain_until is None or info.retain_until < page.locked_until - timedelta(seconds=1):
            return CheckOutcome.unprotected, (f"retained until {info.retain_until}, recorded "
                                              f"{page.locked_until.isoformat()}")
        if info.retention_mode is not volume.retention_mode:
            return CheckOutcome.unprotected, f"retention mode {info.retention_mode}, recorded {volume.retention_mode}"
        if volume.legal_hold and not info.legal_hold:
            return CheckOutcome.unprotected, "no legal hold on the object, the volume is under one"
    return CheckOutcome.ok, None


async def reverify_pages(session: AsyncSession, store: ObjectStore, page_ids: list[uuid.UUID]) -> dict[str, int]:
    """The background re-verification after completion: each page read back again and the
    outcome recorded (a redelivered task simply records another check)."""
    tenant = tenant_of(session)
    rows = (await session.execute(select(ArchivePage, ArchiveVolume).join(
        ArchiveVolume, ArchiveVolume.id == ArchivePage.volume_id).where(
        ArchivePage.id.in_(page_ids), ArchivePage.status != PageStatus.pending))).all()
    outcomes: dict[uuid.UUID, dict[str, int]] = {}
    for page, volume in rows:
        outcome, detail = await check_page(store, tenant, page, volume)
        session.add(ArchivePageCheck(page_id=page.id, outcome=outcome, detail=detail))
        counts = outcomes.setdefault(volume.id, {})
        counts[outcome.value] = counts.get(outcome.value, 0) + 1
    await session.flush()
    for volume_id, counts in outcomes.items():
        await audit.record(session, action="archives.pages.reverify", entity_type=ENTITY, entity_id=volume_id,
                           after={"pages": [str(p.id) for p, v in rows if v.id == volume_id], "outcomes": counts})
    return {name: sum(c.get(name, 0) for c in outcomes.values()) for name in {n for c in outcomes.values() for n in c}}


async def start_verification(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str
                             ) -> jobs.Job:
    authz.require(VERIFY, path)
    job = await jobs.create_job(session, VERIFY_KIND)
    await audit.record(session, action="archives.volume.verify_requested", entity_type=ENTITY, entity_id=volume.id,
                       after={"jobId": str(job.id)})
    return job


async def verify_volume(session: AsyncSession, store: ObjectStore, volume_id: uuid.UUID, job_id: uuid.UUID,
                        progress: jobs.Progress) -> dict[str, Any]:
    """The integrity report: every recorded page revision compared with storage, by the four
    properties of electronic records. Each page's outcome is recorded as a check."""
    volume = await session.get(ArchiveVolume, volume_id)
    if volume is None:
        raise jobs.JobError(f"Archive volume {volume_id} no longer exists.")
    tenant = tenant_of(session)
    pages = await stored_revisions(session, volume.id)
    numbers = await page_numbers(session, volume.id)
    await progress.report(0, len(pages))
    problems: list[dict[str, Any]] = []
    for done, page in enumerate(pages, 1):
        try:
            outcome, detail = await check_page(store, tenant, page, volume)
        except StorageUnavailable:
            raise jobs.JobError("Object storage did not answer; start the verification again later.") from None
        session.add(ArchivePageCheck(page_id=page.id, outcome=outcome, detail=detail, job_id=job_id))
        if outcome is not CheckOutcome.ok:
            problems.append({"pageId": str(page.id), "pageNumber": numbers.get(page.id), "revision": page.revision,
                             "outcome": outcome.value, "detail": detail})
        await progress.report(done)
    found = {p["outcome"] for p in problems}
    items = await contents_items(session, volume.id)
    contents = contents_problems(items, len(numbers)) if items else []
    report = {
        "volumeId": str(volume.id), "archiveNumber": volume.archive_number, "status": volume.status.value,
        "checked": len(pages), "pageCount": len(numbers), "ok": not problems and not contents,
        "properties": {
            # The bytes are the ones recorded at upload, in the recorded versions.
            "authenticity": not found & {"mismatch", "missing"},
            # Every recorded page is there, and the contents list accounts for every page.
            "integrity": "missing" not in found and not contents,
            # Each page is readable as the format it was accepted as.
            "usability": "unusable" not in found and "missing" not in found,
            # Filed pages are under the retention (and legal hold) their volume promises.
            "security": "unprotected" not in found,
        },
        "problems": problems,
        "contentsProblems": [{"field": e.field, "message": e.message} for e in contents],
        "manifestDigest": (await manifest(session, volume)).digest,
    }
    await audit.record(session, action="archives.volume.verify", entity_type=ENTITY, entity_id=volume.id,
                       after={k: v for k, v in report.items() if k != "problems"} | {"problems": len(problems)})
    return report
