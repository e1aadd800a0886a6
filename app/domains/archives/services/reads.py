"""Reading volumes and pages: their views, page numbers, lists."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, paginate
from app.core.schemas import Page
from app.domains.access.authz import Authorizer
from app.domains.archives.models import (
    ArchiveContentsItem,
    ArchivePage,
    ArchiveVolume,
    ArchiveVolumeUnit,
    PageStatus,
    RetentionPeriod,
    VolumeStatus,
)
from app.domains.archives.schemas import (
    Circulation,
    ContentsItemOut,
    LegalHoldOut,
    PageOut,
    RemarksOut,
    VolumeOut,
    VolumeSummary,
)
from app.domains.archives.services.access import readable_clause
from app.domains.archives.services.policy import get_policy

SORT_VOLUMES = {"createdAt": ArchiveVolume.created_at, "archiveNumber": ArchiveVolume.archive_number,
                "title": ArchiveVolume.title}


SORT_PAGES = {"position": ArchivePage.seq}


async def page_numbers(session: AsyncSession, volume_id: uuid.UUID,
                       only: list[uuid.UUID] | None = None) -> dict[uuid.UUID, int]:
    """Page numbers: the positions of the volume's current stored pages (of ``only`` those
    pages when given: numbered in the database, so a call about a few pages of a large
    volume does not fetch them all)."""
    numbered = select(ArchivePage.id, func.row_number().over(order_by=(ArchivePage.seq, ArchivePage.id))
                      .label("n")).where(ArchivePage.volume_id == volume_id, ArchivePage.status == PageStatus.stored)
    if only is not None:
        inner = numbered.subquery()
        numbered = select(inner.c.id, inner.c.n).where(inner.c.id.in_(only))
    return {page_id: n for page_id, n in (await session.execute(numbered)).all()}


async def contents_items(session: AsyncSession, volume_id: uuid.UUID) -> list[ArchiveContentsItem]:
    return list((await session.scalars(select(ArchiveContentsItem).where(
        ArchiveContentsItem.volume_id == volume_id).order_by(ArchiveContentsItem.sequence))).all())


def _item_of(items: list[ArchiveContentsItem], number: int | None) -> int | None:
    if number is None:
        return None
    return next((i.sequence for i in items if i.page_from <= number <= i.page_to), None)


def page_out(page: ArchivePage, numbers: dict[uuid.UUID, int], items: list[ArchiveContentsItem]) -> PageOut:
    number = numbers.get(page.id)
    return PageOut(id=page.id, volume_id=page.volume_id, lineage_id=page.lineage_id, revision=page.revision,
                   status=page.status, page_number=number, contents_item=_item_of(items, number),
                   content_type=page.content_type, size=page.size, sha256=page.sha256, file_name=page.file_name,
                   version_id=page.object_version, reason=page.reason, uploaded_by=page.uploaded_by,
                   created_at=page.created_at, upload_expires_at=page.upload_expires_at,
                   completed_at=page.completed_at, superseded_at=page.superseded_at, locked_until=page.locked_until,
                   version=page.version)


async def pages_out(session: AsyncSession, volume_id: uuid.UUID, pages: list[ArchivePage]) -> list[PageOut]:
    numbers = await page_numbers(session, volume_id, [p.id for p in pages])
    items = await contents_items(session, volume_id)
    return [page_out(p, numbers, items) for p in pages]


async def page_counts(session: AsyncSession, volume_id: uuid.UUID) -> dict[PageStatus, int]:
    rows = (await session.execute(select(ArchivePage.status, func.count()).where(
        ArchivePage.volume_id == volume_id).group_by(ArchivePage.status))).all()
    return {status: count for status, count in rows}


async def unit_ids_of(session: AsyncSession, volume_id: uuid.UUID) -> list[uuid.UUID]:
    return list((await session.scalars(select(ArchiveVolumeUnit.unit_id).where(
        ArchiveVolumeUnit.volume_id == volume_id).order_by(ArchiveVolumeUnit.unit_id))).all())


async def volume_out(session: AsyncSession, volume: ArchiveVolume) -> VolumeOut:
    units = await unit_ids_of(session, volume.id)
    items = await contents_items(session, volume.id)
    counts = await page_counts(session, volume.id)
    dates = [i.document_date for i in items if i.document_date is not None]
    return VolumeOut(
        id=volume.id, archive_number=volume.archive_number, title=volume.title, customer_id=volume.customer_id,
        unit_ids=units, node_id=volume.node_id, responsible_party=volume.responsible_party,
        organisation_code=volume.organisation_code, year=volume.year, date_from=min(dates) if dates else None,
        date_to=max(dates) if dates else None, retention=volume.retention, classification=volume.classification,
        circulation=Circulation(roles=list(volume.circulation_roles),
                                account_ids=[uuid.UUID(a) for a in volume.circulation_accounts]),
        status=volume.status, page_count=counts.get(PageStatus.stored, 0),
        pending_uploads=counts.get(PageStatus.pending, 0), item_count=len(items),
        contents=[ContentsItemOut(sequence=i.sequence, document_number=i.document_number,
                                  responsible_party=i.responsible_party, title=i.title, document_date=i.document_date,
                                  page_from=i.page_from, page_to=i.page_to, remarks=i.remarks) for i in items],
        remarks=RemarksOut(notes=volume.remarks_notes, compiler=volume.remarks_compiler,
                           compiled_on=volume.remarks_compiled_on, reviewer=volume.remarks_reviewer,
                           reviewed_on=volume.remarks_reviewed_on),
        legal_hold=LegalHoldOut(on=volume.legal_hold, reason=volume.legal_hold_reason,
                                changed_by=volume.legal_hold_changed_by, changed_at=volume.legal_hold_changed_at),
        retention_mode=volume.retention_mode, retain_until=volume.retain_until, created_by=volume.created_by,
        created_at=volume.created_at, assembled_by=volume.assembled_by, assembled_at=volume.assembled_at,
        reviewed_by=volume.reviewed_by, reviewed_at=volume.reviewed_at, filed_by=volume.filed_by,
        filed_at=volume.filed_at, version=volume.version)


async def list_volumes(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                       customer_id: uuid.UUID | None, unit_id: uuid.UUID | None, status: VolumeStatus | None,
                       classification: str | None, retention: RetentionPeriod | None, year: int | None,
                       legal_hold: bool | None, q: str | None) -> Page[VolumeSummary]:
    policy, _ = await get_policy(session)
    stmt: Select[Any] = select(ArchiveVolume).where(await readable_clause(session, authz, policy))
    if customer_id is not None:
        stmt = stmt.where(ArchiveVolume.customer_id == customer_id)
    if unit_id is not None:
        stmt = stmt.where(ArchiveVolume.id.in_(select(ArchiveVolumeUnit.volume_id)
                                               .where(ArchiveVolumeUnit.unit_id == unit_id)))
    for column, value in ((ArchiveVolume.status, status), (ArchiveVolume.classification, classification),
                          (ArchiveVolume.retention, retention), (ArchiveVolume.year, year),
                          (ArchiveVolume.legal_hold, legal_hold)):
        if value is not None:
            stmt = stmt.where(column == value)
    if q:
        # Title, archive number, or a document of the contents list (title or document number).
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        documents = select(ArchiveContentsItem.volume_id).where(or_(
            ArchiveContentsItem.title.ilike(like, escape="\\"),
            ArchiveContentsItem.document_number.ilike(like, escape="\\")))
        stmt = stmt.where(or_(ArchiveVolume.title.ilike(like, escape="\\"),
                              ArchiveVolume.archive_number.ilike(like, escape="\\"),
                              ArchiveVolume.id.in_(documents)))
    page = await paginate(session, stmt, params, sortable=SORT_VOLUMES, default_sort=["-createdAt"],
                          tiebreak=ArchiveVolume.id, to_schema=lambda v: v)
    ids = [v.id for v in page.items]
    counts = dict((await session.execute(select(ArchivePage.volume_id, func.count()).where(
        ArchivePage.volume_id.in_(ids), ArchivePage.status == PageStatus.stored)
        .group_by(ArchivePage.volume_id))).all()) if ids else {}
    return Page(items=[VolumeSummary(
        id=v.id, archive_number=v.archive_number, title=v.title, customer_id=v.customer_id, node_id=v.node_id,
        year=v.year, retention=v.retention, classification=v.classification, status=v.status,
        page_count=counts.get(v.id, 0), legal_hold=v.legal_hold, filed_at=v.filed_at, created_at=v.created_at)
        for v in page.items], total=page.total, limit=page.limit, offset=page.offset)


async def list_pages(session: AsyncSession, volume: ArchiveVolume, params: PageParams,
                     status: PageStatus | None) -> Page[PageOut]:
    stmt: Select[Any] = select(ArchivePage).where(ArchivePage.volume_id == volume.id)
    stmt = stmt.where(ArchivePage.status == status if status is not None
                      else ArchivePage.status != PageStatus.superseded)
    page = await paginate(session, stmt, params, sortable=SORT_PAGES, default_sort=["position"],
                          tiebreak=ArchivePage.revision, to_schema=lambda p: p)
    return Page(items=await pages_out(session, volume.id, page.items), total=page.total, limit=page.limit,
                offset=page.offset)
