"""Customer archive volumes (案卷): building, numbering, reviewing, filing, access, integrity.

A volume is built in ``draft`` (cover, pages scanned straight into object storage through
presigned PUTs, contents list, remarks sheet), ``assembled`` (complete and numbered after
the tenant's scheme), ``reviewed`` by someone else, and ``filed``: from then on its objects
are under object-lock retention for its retention period, corrections are new page
revisions with a reason, and it cannot be deleted before its retention ends.

Access to a volume = the token scope (the route's scope check) ∧ ``archives.read`` on its org node ∧ a
clearance permission covering its classification level ∧ being inside its circulation
scope. Outside the subtree a volume does not exist (404); inside it without clearance or
circulation, the answer is 403.

Storage is called before anything is recorded: an upload is recorded as stored only once
the object is verified, a volume as filed only once every object is locked; a storage
failure rolls the request back (503 with Retry-After). The other way round, rows go first:
removing pages writes their keys to ``archive_object_removals`` in the same transaction,
and storage is cleared from that list afterwards (``remove_objects``), so no object
outlives the rows that name it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Column, ColumnElement, Select, String, and_, delete, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, AccountKind
from app.core import audit, clock, jobs, tenant_settings
from app.core.ids import new_id
from app.core.numbering import take
from app.core.pagination import PageParams, paginate
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import Page, provided
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.models import Role, RoleAssignment
from app.domains.approvals import services as approvals
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.registry import request_type
from app.domains.archives.models import (
    PAGE_UPLOADS,
    ArchiveContentsItem,
    ArchiveObjectRemoval,
    ArchivePage,
    ArchivePageCheck,
    ArchiveVolume,
    ArchiveVolumeUnit,
    CheckOutcome,
    PageStatus,
    RetentionPeriod,
    VolumeStatus,
)
from app.domains.archives.schemas import (
    DEFAULT_POLICY,
    ArchivePolicy,
    ArchiveSettings,
    Circulation,
    CirculationIn,
    ClassificationChangeIn,
    ContentsIn,
    ContentsItemOut,
    CorrectionIn,
    LastCheck,
    LegalHoldIn,
    LegalHoldOut,
    Manifest,
    ManifestPage,
    PageDeclaration,
    PageDownloadOut,
    PageOut,
    PresignedPut,
    RemarksIn,
    RemarksOut,
    ReviewIn,
    VolumeCreate,
    VolumeOut,
    VolumeSummary,
    VolumeUpdate,
    page_line,
)
from app.domains.customers.models import Customer, CustomerUnit
from app.domains.org import services as org
from app.domains.org.models import OrgNode
from app.storage import ObjectInfo, ObjectLocked, ObjectStore, PresignedRequest, StorageUnavailable, uploads
from app.tenants import bound
from app.tenants.bound import tenant_id, time_zone

T = TypeVar("T")
log = logging.getLogger(__name__)

READ, WRITE = "archives.read", "archives.write"
REVIEW, FILE, CORRECT = "archives.review", "archives.file", "archives.correct"
HOLD, CLASSIFY, VERIFY = "archives.hold", "archives.classify", "archives.verify"
DISPOSE, CONFIGURE = "archives.dispose", "archives.configure"
MAX_LEVELS = 6
ENTITY, PAGE_ENTITY, OBJECT_ENTITY = "archive_volume", "archive_page", "archive_object"
CLASSIFICATION_TYPE = "archive_classification"
VERIFY_KIND = "archives.verify_volume"


def clearance(rank: int) -> str:
    """The permission that clears its holder for the tenant's first ``rank`` levels."""
    return f"archives.clearance.{rank}"


register_permissions({
    READ: "See the archive volumes of the subtree; reading one also needs clearance for its level and "
          "being inside its circulation scope.",
    WRITE: "Build archive volumes in the subtree: cover, pages, contents list, remarks sheet; reopen before "
           "filing; delete unfiled volumes.",
    REVIEW: "Review assembled archive volumes (not those one assembled oneself).",
    FILE: "File reviewed archive volumes under object-lock retention.",
    CORRECT: "Add a corrected revision of a page of a filed archive volume, with a reason.",
    HOLD: "Set and clear legal holds on filed archive volumes.",
    CLASSIFY: "Ask for a change of an archive volume's classification (decided through approval).",
    VERIFY: "Start integrity verifications of archive volumes.",
    DISPOSE: "Delete filed archive volumes whose retention has ended.",
    CONFIGURE: "Change the group's archive policy (numbering, classification levels, retention mode); at the "
               "group node.",
    **{clearance(n): f"Read archive volumes classified at the group's level {n} or below (levels are listed "
                     f"lowest first in the archive settings)." for n in range(1, MAX_LEVELS + 1)},
})

POLICY = tenant_settings.declare(
    "archives.policy", msgspec.to_builtins(DEFAULT_POLICY),
    "The group's archive policy: archive numbering, classification levels, retention mode, URL lifetimes and "
    "the largest page accepted.")

RETENTION_CODES = {RetentionPeriod.permanent: "Y", RetentionPeriod.years_30: "D30", RetentionPeriod.years_10: "D10"}
def _text_length(column: Column[Any]) -> int:
    """The most characters a String column holds."""
    assert isinstance(column.type, String) and column.type.length is not None
    return column.type.length


NUMBER_MAX = _text_length(ArchiveVolume.__table__.c.archive_number)
# The item placeholder is given room for ten digits, whatever itemDigits pads it to.
ITEM_WIDTH = 10
# S3 has no "forever": permanent volumes are locked for a century, and the date can only be extended.
RETENTION_YEARS = {RetentionPeriod.permanent: 100, RetentionPeriod.years_30: 30, RetentionPeriod.years_10: 10}
# A PUT begun before its URL expired may still be arriving this long after; then the upload is
# cleaned up, and a removed page's key is cleared once more.
UPLOAD_GRACE = PAGE_UPLOADS.grace
# Versions deleted under one key per removal run (a signed PUT can be replayed until it expires).
KEY_VERSIONS = 100
LOCKED_RETRY = timedelta(days=1)
REMOVAL_BATCH = 500
STORAGE_CONCURRENCY = 8
SORT_VOLUMES = {"createdAt": ArchiveVolume.created_at, "archiveNumber": ArchiveVolume.archive_number,
                "title": ArchiveVolume.title}
SORT_PAGES = {"position": ArchivePage.seq}


def tenant_of(session: AsyncSession) -> str:
    return str(session.info["tenant_schema"]).removeprefix("t_")


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


async def _each(calls: Iterable[Callable[[], Awaitable[T]]], limit: int = STORAGE_CONCURRENCY) -> list[T]:
    """Run storage calls a few at a time (never the session: it is not for concurrent use);
    the first failure cancels the rest and is raised."""
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await call()

    tasks = [asyncio.ensure_future(one(call)) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


# ---------------------------------------------------------------------------- the policy


async def get_policy(session: AsyncSession, *, lock: bool = False) -> tuple[ArchivePolicy, int]:
    value, version = await tenant_settings.get(session, POLICY, lock=lock)
    return msgspec.convert(value, ArchivePolicy), version


def settings_out(policy: ArchivePolicy, version: int) -> ArchiveSettings:
    return ArchiveSettings(policy=policy, version=version, clearance_permissions={
        level.code: clearance(n) for n, level in enumerate(policy.classification_levels, 1)})


def _level_codes(policy: ArchivePolicy) -> list[str]:
    return [level.code for level in policy.classification_levels]


def _require_level(policy: ArchivePolicy, code: str, field: str) -> None:
    if code not in _level_codes(policy):
        raise ProblemError("conflict", f"{code!r} is not one of the group's classification levels "
                                       f"({', '.join(_level_codes(policy))}).",
                           errors=[field_error(field, "not a classification level of the group")])


def _longest_number(policy: ArchivePolicy) -> int:
    """The most characters an archive number of the policy's pattern can have."""
    scheme = policy.numbering
    widths = {"fonds": len(scheme.fonds), "category": len(scheme.category), "year": 4,
              "retention": max(map(len, RETENTION_CODES.values())),
              "organisation": _text_length(ArchiveVolume.__table__.c.organisation_code),
              "item": max(scheme.item_digits, ITEM_WIDTH)}
    return len(re.sub(r"\{(\w+)\}", lambda m: "x" * widths[m.group(1)], scheme.pattern))


async def put_policy(session: AsyncSession, authz: Authorizer, data: ArchivePolicy) -> int:
    authz.require(CONFIGURE, (await org.get_root(session)).path)
    codes = _level_codes(data)
    errors = [field_error(f"classificationLevels.{i}.code", "listed twice")
              for i, code in enumerate(codes) if code in codes[:i]]
    if (longest := _longest_number(data)) > NUMBER_MAX:
        errors.append(field_error("numbering.pattern", f"numbers of up to {longest} characters, above {NUMBER_MAX}"))
    if data.default_classification not in codes:
        errors.append(field_error("defaultClassification", "not one of the classification levels"))
    used = (await session.scalars(select(ArchiveVolume.classification).distinct())).all()
    errors += [field_error("classificationLevels", f"{code!r} is the level of existing volumes")
               for code in sorted(set(used) - set(codes))]
    if errors:
        raise ProblemError("conflict", "The policy does not fit: " + "; ".join(
            f"{e.field}: {e.message}" for e in errors), errors=errors)
    return await tenant_settings.put(session, POLICY, msgspec.to_builtins(data))


# -------------------------------------------------------------------------------- access


def _rank(policy: ArchivePolicy, code: str) -> int:
    codes = _level_codes(policy)
    return codes.index(code) + 1 if code in codes else MAX_LEVELS + 1  # an unknown level: nobody is cleared


def _cleared(authz: Authorizer, policy: ArchivePolicy, code: str, path: str) -> bool:
    rank = _rank(policy, code)
    return any(authz.can(clearance(n), path) for n in range(rank, MAX_LEVELS + 1))


async def _role_grants(session: AsyncSession, authz: Authorizer) -> list[tuple[str, str]]:
    """(role code, node path) of the caller's role assignments."""
    if authz.account_id is None:
        return []
    cached = session.info.get("archives_role_grants")
    if cached is None:
        cached = [(code, path) for code, path in (await session.execute(
            select(Role.code, OrgNode.path).join(RoleAssignment, RoleAssignment.role_id == Role.id)
            .join(OrgNode, OrgNode.id == RoleAssignment.node_id)
            .where(RoleAssignment.account_id == authz.account_id))).all()]
        session.info["archives_role_grants"] = cached
    return cached


async def _in_circulation(session: AsyncSession, authz: Authorizer, roles: list[str], accounts: list[str],
                          path: str) -> bool:
    if not roles and not accounts:
        return True
    if authz.principal.kind != "user":
        return False  # a partner back end is neither a role holder nor a named person
    if authz.principal.subject in accounts:
        return True
    return any(code in roles and _under(path, at) for code, at in await _role_grants(session, authz))


async def require_content_access(session: AsyncSession, authz: Authorizer, policy: ArchivePolicy,
                                 volume: ArchiveVolume, path: str) -> None:
    """403 unless the caller is cleared for the volume's level and inside its circulation scope."""
    if not _cleared(authz, policy, volume.classification, path):
        covering = ", ".join(clearance(n) for n in range(_rank(policy, volume.classification), MAX_LEVELS + 1))
        raise ProblemError("forbidden", f"Reading this volume needs clearance for the level "
                                        f"{volume.classification!r} (one of {covering}).")
    if not await _in_circulation(session, authz, volume.circulation_roles, volume.circulation_accounts, path):
        raise ProblemError("forbidden", "You are outside this volume's circulation scope.")


async def _readable_clause(session: AsyncSession, authz: Authorizer, policy: ArchivePolicy) -> ColumnElement[bool]:
    """Volumes the caller may read: subtree, clearance and circulation, as one WHERE clause."""
    codes = _level_codes(policy)
    # As _cleared: archives.clearance.N clears the first N levels, also when N is more than the
    # group has (a role kept from a policy with more levels).
    cleared = or_(false(), *[and_(ArchiveVolume.classification.in_(codes[:n]),
                                  authz.visible(clearance(n), ArchiveVolume.node_id))
                             for n in range(1, MAX_LEVELS + 1)])
    circulating: list[ColumnElement[bool]] = [and_(func.jsonb_array_length(ArchiveVolume.circulation_roles) == 0,
                                                   func.jsonb_array_length(ArchiveVolume.circulation_accounts) == 0)]
    if authz.principal.kind == "user":
        circulating.append(ArchiveVolume.circulation_accounts.contains([authz.principal.subject]))
        for code, at in await _role_grants(session, authz):
            under = select(OrgNode.id).where(or_(OrgNode.path == at, OrgNode.path.like(at + "/%")))
            circulating.append(and_(ArchiveVolume.circulation_roles.contains([code]),
                                    ArchiveVolume.node_id.in_(under)))
    return and_(authz.visible(READ, ArchiveVolume.node_id), cleared, or_(*circulating))


async def get_volume(session: AsyncSession, authz: Authorizer, volume_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[ArchiveVolume, str, ArchivePolicy]:
    """A volume the caller may read (404 outside the subtree, 403 without clearance or
    circulation), its node's path and the policy; ``lock``: for update."""
    stmt = (select(ArchiveVolume, OrgNode.path).join(OrgNode, OrgNode.id == ArchiveVolume.node_id)
            .where(ArchiveVolume.id == volume_id))
    if lock:
        stmt = stmt.with_for_update(of=ArchiveVolume)
    row = (await session.execute(stmt)).first()
    if row is None or not authz.can(READ, row[1]):
        raise ProblemError("not-found", f"No archive volume with id {volume_id}.")
    volume, path = row[0], row[1]
    policy, _ = await get_policy(session)
    await require_content_access(session, authz, policy, volume, path)
    return volume, path, policy


async def get_page(session: AsyncSession, authz: Authorizer, page_id: uuid.UUID, *, lock: bool = False
                   ) -> tuple[ArchivePage, ArchiveVolume, str, ArchivePolicy]:
    """A page of a volume the caller may read; the same answers as :func:`get_volume`.
    ``lock``: the volume and the page for update (volume first, as every writer locks them)."""
    volume_id = await session.scalar(select(ArchivePage.volume_id).where(ArchivePage.id == page_id))
    try:
        if volume_id is None:
            raise ProblemError("not-found")
        volume, path, policy = await get_volume(session, authz, volume_id, lock=lock)
    except ProblemError as exc:
        if exc.slug != "not-found":
            raise
        raise ProblemError("not-found", f"No archive page with id {page_id}.") from None
    stmt = select(ArchivePage).where(ArchivePage.id == page_id)
    if lock:
        stmt = stmt.with_for_update()
    page = await session.scalar(stmt)
    if page is None:
        raise ProblemError("not-found", f"No archive page with id {page_id}.")
    return page, volume, path, policy


# ------------------------------------------------------------------------------ reading


async def _page_numbers(session: AsyncSession, volume_id: uuid.UUID,
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


async def _items(session: AsyncSession, volume_id: uuid.UUID) -> list[ArchiveContentsItem]:
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
    numbers = await _page_numbers(session, volume_id, [p.id for p in pages])
    items = await _items(session, volume_id)
    return [page_out(p, numbers, items) for p in pages]


async def _counts(session: AsyncSession, volume_id: uuid.UUID) -> dict[PageStatus, int]:
    rows = (await session.execute(select(ArchivePage.status, func.count()).where(
        ArchivePage.volume_id == volume_id).group_by(ArchivePage.status))).all()
    return {status: count for status, count in rows}


async def _unit_ids(session: AsyncSession, volume_id: uuid.UUID) -> list[uuid.UUID]:
    return list((await session.scalars(select(ArchiveVolumeUnit.unit_id).where(
        ArchiveVolumeUnit.volume_id == volume_id).order_by(ArchiveVolumeUnit.unit_id))).all())


async def volume_out(session: AsyncSession, volume: ArchiveVolume) -> VolumeOut:
    units = await _unit_ids(session, volume.id)
    items = await _items(session, volume.id)
    counts = await _counts(session, volume.id)
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
    stmt: Select[Any] = select(ArchiveVolume).where(await _readable_clause(session, authz, policy))
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


# ----------------------------------------------------------------------- building volumes


def _snapshot(volume: ArchiveVolume) -> dict[str, Any]:
    return audit.snapshot(volume, exclude=frozenset({"created_at", "updated_at"}))


async def _recorded(session: AsyncSession, volume: ArchiveVolume, action: str, before: dict[str, Any], *,
                    reason: str | None = None, **extra: Any) -> ArchiveVolume:
    """Write the volume's change and its audit record (its state before and after, and
    ``extra`` facts about the change), in the request's transaction."""
    await session.flush()
    await session.refresh(volume)
    await audit.record(session, action=f"archives.volume.{action}", entity_type=ENTITY, entity_id=volume.id,
                       before=before, after={**_snapshot(volume), **extra}, reason=reason)
    return volume


def _require_status(volume: ArchiveVolume, *allowed: VolumeStatus, doing: str) -> None:
    if volume.status not in allowed:
        hint = {
            VolumeStatus.filed: " It is filed: correct a page with a new revision instead.",
            VolumeStatus.assembled: " Reopen it first.",
            VolumeStatus.reviewed: " Reopen it first.",
        }.get(volume.status, "")
        raise ProblemError("conflict", f"Volume {volume.archive_number or volume.id} is {volume.status.value}: "
                                       f"cannot {doing}.{hint}")


def _touch(volume: ArchiveVolume) -> None:
    # Its contents list, units or page numbers changed: a new version (and ETag) of the volume.
    volume.updated_at = clock.utcnow()


async def _check_units(session: AsyncSession, customer_id: uuid.UUID, unit_ids: list[uuid.UUID]) -> None:
    """A volume is about units its customer holds (or held when it was built)."""
    owned = set(await session.scalars(select(CustomerUnit.unit_id).where(
        CustomerUnit.customer_id == customer_id, CustomerUnit.unit_id.in_(unit_ids)))) if unit_ids else set()
    errors = [field_error(f"unitIds.{i}", "no such unit of the customer") for i, u in enumerate(unit_ids)
              if u not in owned]
    if errors:
        raise ProblemError("not-found", "A unit of the volume is not one of its customer's.", errors=errors)


async def _check_circulation(session: AsyncSession, authz: Authorizer, data: CirculationIn, path: str) -> None:
    errors: list[FieldError] = []
    if data.roles:
        known = set((await session.scalars(select(Role.code).where(Role.code.in_(data.roles)))).all())
        errors += [field_error(f"circulation.roles.{i}", "no such role") for i, r in enumerate(data.roles)
                   if r not in known]
    if data.account_ids:
        tenant = await tenant_id(session)
        known_accounts = set((await session.scalars(select(Account.id).where(
            Account.id.in_(data.account_ids), Account.tenant_id == tenant, Account.kind == AccountKind.staff))).all())
        errors += [field_error(f"circulation.accountIds.{i}", "no such staff account")
                   for i, a in enumerate(data.account_ids) if a not in known_accounts]
    if errors:
        raise ProblemError("not-found", "The circulation scope names roles or accounts that do not exist.",
                           errors=errors)
    if not await _in_circulation(session, authz, list(data.roles), [str(a) for a in data.account_ids], path):
        raise ProblemError("conflict", "That circulation scope would leave you outside the volume: name "
                                       "yourself or one of your roles.",
                           errors=[field_error("circulation", "excludes the caller")])


async def create_volume(session: AsyncSession, authz: Authorizer, data: VolumeCreate) -> ArchiveVolume:
    row = (await session.execute(select(Customer, OrgNode.path).join(OrgNode, OrgNode.id == Customer.node_id)
                                 .where(Customer.id == data.customer_id))).first()
    if row is None or not any(authz.can(p, row[1]) for p in ("org.read", READ, WRITE)):
        raise ProblemError("not-found", f"No customer with id {data.customer_id}.",
                           errors=[field_error("customerId", "no such customer")])
    customer, path = row[0], row[1]
    authz.require(WRITE, path)
    if customer.merged_into_id is not None:
        raise ProblemError("conflict", f"Customer {customer.number} was merged into another customer: build the "
                                       "volume for that one.", errors=[field_error("customerId", "merged")])
    policy, _ = await get_policy(session)
    classification = data.classification or policy.default_classification
    _require_level(policy, classification, "classification")
    if not _cleared(authz, policy, classification, path):
        raise ProblemError("forbidden", f"You are not cleared for the level {classification!r}.")
    await _require_formed(session, data.year)
    await _check_units(session, customer.id, data.unit_ids)
    circulation = data.circulation or CirculationIn()
    await _check_circulation(session, authz, circulation, path)
    volume = ArchiveVolume(
        title=data.title, customer_id=customer.id, node_id=customer.node_id,
        responsible_party=data.responsible_party,
        organisation_code=data.organisation_code or policy.numbering.default_organisation, year=data.year,
        retention=data.retention, classification=classification, circulation_roles=sorted(set(circulation.roles)),
        circulation_accounts=sorted({str(a) for a in circulation.account_ids}), status=VolumeStatus.draft,
        created_by=authz.principal.subject, legal_hold=False)
    session.add(volume)
    await session.flush()
    session.add_all([ArchiveVolumeUnit(volume_id=volume.id, unit_id=u) for u in dict.fromkeys(data.unit_ids)])
    await session.flush()
    await session.refresh(volume)
    await audit.record(session, action="archives.volume.create", entity_type=ENTITY, entity_id=volume.id,
                       after={**_snapshot(volume), "unitIds": [str(u) for u in dict.fromkeys(data.unit_ids)]})
    return volume


# The fields the archive number is built from, with their names on the wire.
_NUMBERED = {"organisation_code": "organisationCode", "year": "year", "retention": "retention"}


async def update_volume(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                        data: VolumeUpdate) -> ArchiveVolume:
    authz.require(WRITE, path)
    changes = provided(data)
    if set(changes) - {"circulation"}:
        _require_status(volume, VolumeStatus.draft, doing="change its cover")
    if volume.archive_number:
        moved = sorted(f for f in _NUMBERED.keys() & changes.keys() if getattr(volume, f) != changes[f])
        if moved:
            raise ProblemError("conflict", f"The archive number {volume.archive_number} is built from these fields.",
                               errors=[field_error(_NUMBERED[f], "fixed by the archive number") for f in moved])
    if data.year is not msgspec.UNSET:
        await _require_formed(session, data.year)
    before = _snapshot(volume)
    units: dict[str, Any] = {}
    if data.unit_ids is not msgspec.UNSET:
        del changes["unit_ids"]
        unit_ids = list(dict.fromkeys(data.unit_ids))
        await _check_units(session, volume.customer_id, unit_ids)
        before["unitIds"] = [str(u) for u in await _unit_ids(session, volume.id)]
        units["unitIds"] = [str(u) for u in unit_ids]
        await session.execute(delete(ArchiveVolumeUnit).where(ArchiveVolumeUnit.volume_id == volume.id))
        session.add_all([ArchiveVolumeUnit(volume_id=volume.id, unit_id=u) for u in unit_ids])
        _touch(volume)
    if data.circulation is not msgspec.UNSET:
        del changes["circulation"]
        circulation = data.circulation
        await _check_circulation(session, authz, circulation, path)
        volume.circulation_roles = sorted(set(circulation.roles))
        volume.circulation_accounts = sorted({str(a) for a in circulation.account_ids})
    for name, value in changes.items():
        setattr(volume, name, value)
    return await _recorded(session, volume, "update", before, **units)


async def put_contents(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                       data: ContentsIn) -> ArchiveVolume:
    """Replace the contents list; how it fits the pages is checked at assembly."""
    authz.require(WRITE, path)
    _require_status(volume, VolumeStatus.draft, doing="change its contents list")
    today = await bound.today(session)
    future = [field_error(f"items.{n}.date", f"after today ({today})") for n, item in enumerate(data.items)
              if item.document_date is not None and item.document_date > today]
    if future:
        # 409, as complaints answer a receipt in the future: the schema cannot know today's date.
        raise ProblemError("conflict", "A document of the contents list is dated after today.", errors=future)
    before = [audit.snapshot(i, exclude=frozenset({"id", "volume_id"})) for i in await _items(session, volume.id)]
    await session.execute(delete(ArchiveContentsItem).where(ArchiveContentsItem.volume_id == volume.id))
    session.add_all([ArchiveContentsItem(
        volume_id=volume.id, sequence=n, document_number=item.document_number,
        responsible_party=item.responsible_party, title=item.title, document_date=item.document_date,
        page_from=item.page_from, page_to=item.page_to, remarks=item.remarks) for n, item in enumerate(data.items, 1)])
    _touch(volume)
    await session.flush()
    after = [audit.snapshot(i, exclude=frozenset({"id", "volume_id"})) for i in await _items(session, volume.id)]
    await audit.record(session, action="archives.volume.contents", entity_type=ENTITY, entity_id=volume.id,
                       before={"contents": before}, after={"contents": after})
    return volume


async def put_remarks(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                      data: RemarksIn) -> ArchiveVolume:
    authz.require(WRITE, path)
    _require_status(volume, VolumeStatus.draft, doing="change its remarks sheet")
    before = _snapshot(volume)
    volume.remarks_notes, volume.remarks_compiler = data.notes, data.compiler
    volume.remarks_compiled_on = data.compiled_on
    return await _recorded(session, volume, "remarks", before)


async def _require_formed(session: AsyncSession, year: int | None) -> None:
    """A volume holds documents already formed: a later year is a slip, and filing would lock
    its objects for longer than the retention period (under COMPLIANCE, irrevocably)."""
    this_year = (await bound.today(session)).year
    if year is not None and year > this_year:
        raise ProblemError("conflict", f"The year {year} is after this year ({this_year}).",
                           errors=[field_error("year", f"after {this_year}")])


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


def _contents_problems(items: list[ArchiveContentsItem], page_count: int) -> list[FieldError]:
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
    _require_status(volume, VolumeStatus.draft, doing="assemble it")
    counts = await _counts(session, volume.id)
    pages, pending = counts.get(PageStatus.stored, 0), counts.get(PageStatus.pending, 0)
    items = await _items(session, volume.id)
    problems: list[FieldError] = []
    if pending:
        problems.append(field_error("pages", f"{pending} uploads are not completed: complete or delete them"))
    if not pages:
        problems.append(field_error("pages", "no page is stored"))
    if not items:
        problems.append(field_error("contents", "the contents list is empty"))
    problems += _contents_problems(items, pages) if pages else []
    if not volume.remarks_compiler:
        problems.append(field_error("remarks.compiler", "the remarks sheet names no compiler"))
    if not volume.remarks_compiled_on:
        problems.append(field_error("remarks.compiledOn", "the remarks sheet has no compilation date"))
    if problems:
        raise ProblemError("conflict", "The volume is not complete: " + "; ".join(
            f"{p.field}: {p.message}" for p in problems), errors=problems)
    before = _snapshot(volume)
    dates = [i.document_date for i in items if i.document_date is not None]
    year = volume.year or (max(dates).year if dates else (await bound.today(session)).year)
    if volume.archive_number is None:
        volume.archive_number = await _archive_number(session, policy, volume, year)
    volume.year = year
    volume.status = VolumeStatus.assembled
    volume.assembled_by, volume.assembled_at = authz.principal.subject, clock.utcnow()
    return await _recorded(session, volume, "assemble", before)


async def reopen(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                 reason: str) -> ArchiveVolume:
    """Assembled or reviewed → draft, for corrections before filing; the review is void."""
    authz.require(WRITE, path)
    _require_status(volume, VolumeStatus.assembled, VolumeStatus.reviewed, doing="reopen it")
    before = _snapshot(volume)
    volume.status = VolumeStatus.draft
    volume.reviewed_by = volume.reviewed_at = volume.remarks_reviewer = volume.remarks_reviewed_on = None
    return await _recorded(session, volume, "reopen", before, reason=reason)


async def review(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                 data: ReviewIn) -> ArchiveVolume:
    """Assembled → reviewed, by someone other than its assembler; the reviewer signs the remarks sheet."""
    authz.require(REVIEW, path)
    _require_status(volume, VolumeStatus.assembled, doing="review it")
    if volume.assembled_by == authz.principal.subject:
        raise ProblemError("forbidden", "A volume is reviewed by someone other than the one who assembled it.")
    before = _snapshot(volume)
    volume.status = VolumeStatus.reviewed
    volume.reviewed_by, volume.reviewed_at = authz.principal.subject, clock.utcnow()
    volume.remarks_reviewer, volume.remarks_reviewed_on = data.reviewer_name, await bound.today(session)
    return await _recorded(session, volume, "review", before, reason=data.comment)


async def _stored_revisions(session: AsyncSession, volume_id: uuid.UUID) -> list[ArchivePage]:
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
    _require_status(volume, VolumeStatus.reviewed, doing="file it")
    tenant, mode, until = tenant_of(session), policy.retention_mode, await retain_until(session, volume)
    pages = await _stored_revisions(session, volume.id)
    await _each([partial(store.set_retention, tenant, p.object_key, str(p.object_version), mode, until)
                 for p in pages])
    before = _snapshot(volume)
    for page in pages:
        page.locked_until = until
    volume.status = VolumeStatus.filed
    volume.filed_by, volume.filed_at = authz.principal.subject, clock.utcnow()
    volume.retention_mode, volume.retain_until = mode, until
    return await _recorded(session, volume, "file", before, lockedObjects=len(pages))


async def set_legal_hold(session: AsyncSession, authz: Authorizer, store: ObjectStore, volume: ArchiveVolume,
                         path: str, data: LegalHoldIn) -> ArchiveVolume:
    """Set or clear a legal hold on every object of a filed volume, with a reason."""
    authz.require(HOLD, path)
    _require_status(volume, VolumeStatus.filed, doing="put it under legal hold")
    if volume.legal_hold == data.hold:
        raise ProblemError("conflict", f"The legal hold is already {'on' if data.hold else 'off'}.")
    tenant = tenant_of(session)
    pages = await _stored_revisions(session, volume.id)
    await _each([partial(store.set_legal_hold, tenant, p.object_key, str(p.object_version), data.hold)
                 for p in pages])
    before = _snapshot(volume)
    volume.legal_hold, volume.legal_hold_reason = data.hold, data.reason
    volume.legal_hold_changed_by, volume.legal_hold_changed_at = authz.principal.subject, clock.utcnow()
    return await _recorded(session, volume, "legal_hold", before, reason=data.reason, objects=len(pages))


async def delete_volume(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str) -> None:
    """Delete an unfiled volume, or a filed one whose retention has ended (not under legal
    hold; a permanent one never). The audit record keeps what is destroyed: the cover,
    units, contents list and manifest; the objects are queued for removal from storage."""
    if volume.status is VolumeStatus.filed:
        authz.require(DISPOSE, path)
        if volume.retention is RetentionPeriod.permanent:
            # Its lock date is only storage's stand-in for "forever" (see RETENTION_YEARS).
            raise ProblemError("conflict", f"Volume {volume.archive_number} is kept permanently: it is never "
                                           "disposed of.")
        if volume.legal_hold:
            raise ProblemError("conflict", f"Volume {volume.archive_number} is under legal hold: "
                                           f"{volume.legal_hold_reason}")
        if volume.retain_until is not None and clock.utcnow() < volume.retain_until:
            raise ProblemError("conflict", f"Volume {volume.archive_number} is retained until "
                                           f"{volume.retain_until.isoformat()}; it cannot be deleted before.")
    else:
        authz.require(WRITE, path)
    await _refuse_open_classification_request(session, volume.id)
    pages = list((await session.scalars(select(ArchivePage).where(ArchivePage.volume_id == volume.id)
                                        .order_by(ArchivePage.seq, ArchivePage.revision))).all())
    stored = [p for p in pages if p.status is not PageStatus.pending]
    lines = _manifest_lines(stored)
    before = {**_snapshot(volume), "unitIds": [str(u) for u in await _unit_ids(session, volume.id)],
              "contents": [audit.snapshot(i, exclude=frozenset({"id", "volume_id"}))
                           for i in await _items(session, volume.id)],
              "pages": len(pages), "manifest": [line.rstrip("\n") for line in lines],
              "manifestDigest": _digest(lines)}
    _remove_later(session, pages)
    await session.delete(volume)
    await session.flush()
    action = "archives.volume.dispose" if volume.status is VolumeStatus.filed else "archives.volume.delete"
    await audit.record(session, action=action, entity_type=ENTITY, entity_id=volume.id, before=before)


# ------------------------------------------------------------------------- classification


async def _refuse_open_classification_request(session: AsyncSession, volume_id: uuid.UUID) -> None:
    """409 while a request about the volume's classification may still be decided (a rejected
    one may be resubmitted): a second one would race it, a deleted volume would strand it."""
    open_request = await session.scalar(select(ApprovalRequest.id).where(
        ApprovalRequest.request_type == CLASSIFICATION_TYPE, ApprovalRequest.subject_id == str(volume_id),
        ApprovalRequest.status.in_([RequestStatus.draft, RequestStatus.pending, RequestStatus.rejected])))
    if open_request is not None:
        raise ProblemError("conflict", f"Approval request {open_request} about this volume's classification is "
                                       "still open: decide or withdraw it first.")


async def request_classification(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                                 policy: ArchivePolicy, data: ClassificationChangeIn) -> ApprovalRequest:
    """Ask for another classification level; applied when the archive_classification chain approves."""
    authz.require(CLASSIFY, path)
    _require_level(policy, data.classification, "classification")
    if data.classification == volume.classification:
        raise ProblemError("conflict", f"The volume is already classified {data.classification!r}.",
                           errors=[field_error("classification", "the current level")])
    if not _cleared(authz, policy, data.classification, path):
        raise ProblemError("forbidden", f"You are not cleared for the level {data.classification!r}.")
    await _refuse_open_classification_request(session, volume.id)
    names = {level.code: level.name for level in policy.classification_levels}
    return await approvals.create_request(
        session, request_type=CLASSIFICATION_TYPE, reason=data.reason,
        # Named by number (or id), not title: approvers see the request, not the volume.
        title=f"Classify archive volume {volume.archive_number or volume.id} as {names[data.classification]} "
              f"({data.classification})",
        payload={"volumeId": str(volume.id), "classification": data.classification,
                 "from": volume.classification})


def _classification_payload(payload: dict[str, Any]) -> tuple[uuid.UUID, str, str]:
    try:
        return uuid.UUID(str(payload["volumeId"])), str(payload["classification"]), str(payload["from"])
    except (KeyError, ValueError):
        raise ProblemError("validation", "A classification request names the volume, its level and the new one.",
                           errors=[field_error("payload", "volumeId, from and classification")]) from None


async def _classification_volume(session: AsyncSession, payload: dict[str, Any], *, lock: bool = False
                                 ) -> ArchiveVolume:
    volume_id, _, _ = _classification_payload(payload)
    stmt = select(ArchiveVolume).where(ArchiveVolume.id == volume_id)
    volume = await session.scalar(stmt.with_for_update() if lock else stmt)
    if volume is None:
        raise ProblemError("conflict", f"Archive volume {volume_id} no longer exists.")
    return volume


async def _validate_classification(session: AsyncSession, payload: dict[str, Any]) -> dict[str, Any]:
    volume_id, classification, current = _classification_payload(payload)
    await _classification_volume(session, payload)
    return {"volumeId": str(volume_id), "classification": classification, "from": current}


async def _classification_node(session: AsyncSession, payload: dict[str, Any]) -> uuid.UUID:
    return (await _classification_volume(session, payload)).node_id


async def _apply_classification(session: AsyncSession, request: ApprovalRequest) -> None:
    """On final approval, as the approver: refuse a stale request (the level changed since)."""
    volume = await _classification_volume(session, request.payload, lock=True)
    _, classification, current = _classification_payload(request.payload)
    if volume.classification != current:
        raise ProblemError("conflict", f"The volume's classification changed to {volume.classification!r} since "
                                       "this request was submitted: reject it and ask again.")
    policy, _ = await get_policy(session)
    _require_level(policy, classification, "payload.classification")
    before = _snapshot(volume)
    volume.classification = classification
    await _recorded(session, volume, "classify", before,
                    reason=f"{request.reason or ''} (approval request {request.id}, requested by "
                              f"{request.submitted_by})".strip())


CLASSIFICATION_REQUEST = request_type(
    CLASSIFICATION_TYPE, "Change of an archive volume's classification",
    on_approved=_apply_classification,
    node_of=_classification_node,
    validate=_validate_classification,
    subject_of=lambda payload: (ENTITY, payload["volumeId"]),
    # The confidentiality rules (DOMAIN.md, 密级): a level is changed by the group's confidentiality officer.
    default_chain=[{"name": "Confidentiality officer", "role": "confidentiality_officer", "at": "group"}],
    default_roles={"confidentiality_officer": "保密员 Confidentiality officer"},
)


# ------------------------------------------------------------------------------- pages


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
    _require_status(volume, VolumeStatus.draft, doing="add pages to it")
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


async def _inspect(store: ObjectStore, tenant: str, page: ArchivePage, version: str | None
                   ) -> tuple[ObjectInfo | None, CheckOutcome, str | None]:
    """Storage's copy of a page revision (``version``; the newest when None) against its
    record (:func:`app.storage.uploads.inspect`: size, SHA-256 read back, stored type, format)."""
    found = await uploads.inspect(store, tenant, page, version)
    return found.info, CheckOutcome(found.outcome.value), found.detail


async def complete_pages(session: AsyncSession, authz: Authorizer, store: ObjectStore, volume: ArchiveVolume,
                         path: str, page_ids: list[uuid.UUID]) -> list[ArchivePage]:
    """Confirm uploads: each object must be the declared file (:func:`_inspect`). All or
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
            _require_status(volume, VolumeStatus.draft, doing="complete its uploads")
    tenant = tenant_of(session)
    inspected = await _each([partial(_inspect, store, tenant, p, None) for p in pending])
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
        await _each([partial(store.set_retention, tenant, p.object_key, i.version_id, mode, until)
                     for p, i in corrections])
        if volume.legal_hold:
            await _each([partial(store.set_legal_hold, tenant, p.object_key, i.version_id, True)
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
        _touch(volume)
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
    _require_status(volume, VolumeStatus.draft, doing="reorder its pages")
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
    _touch(volume)
    await session.flush()
    await audit.record(session, action="archives.volume.reorder", entity_type=ENTITY, entity_id=volume.id,
                       before={"order": before}, after={"order": [str(i) for i in page_ids]})
    return volume


def _remove_later(session: AsyncSession, pages: Iterable[ArchivePage]) -> None:
    """Queue the objects of pages whose rows are being deleted: at once, and once more when
    their upload URL has expired, for a PUT it signed may still arrive until then."""
    now = clock.utcnow()
    for page in pages:
        session.add(ArchiveObjectRemoval(object_key=page.object_key, not_before=now))
        if (late := page.upload_expires_at + UPLOAD_GRACE) > now:
            session.add(ArchiveObjectRemoval(object_key=page.object_key, not_before=late))


async def delete_page(session: AsyncSession, authz: Authorizer, page: ArchivePage, volume: ArchiveVolume,
                      path: str) -> None:
    """Remove a page (or a pending upload) of a draft volume; its object is queued for removal
    from storage. The caller holds the volume for update (the pages after it move up)."""
    authz.require(WRITE, path)
    _require_status(volume, VolumeStatus.draft, doing="delete its pages")
    before = audit.snapshot(page)
    _remove_later(session, [page])
    await session.delete(page)
    _touch(volume)
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
    number = (await _page_numbers(session, volume.id, [page.id])).get(page.id)
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


# ---------------------------------------------------------------------------- integrity


def _manifest_lines(pages: list[ArchivePage]) -> list[str]:
    return [page_line(p.id, p.revision, p.object_key, str(p.object_version), p.size, p.sha256) for p in pages]


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("".join(lines).encode()).hexdigest()


async def manifest(session: AsyncSession, volume: ArchiveVolume) -> Manifest:
    pages = await _stored_revisions(session, volume.id)
    numbers = await _page_numbers(session, volume.id)
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
        digest=_digest(_manifest_lines(pages)))


async def check_page(store: ObjectStore, tenant: str, page: ArchivePage, volume: ArchiveVolume
                     ) -> tuple[CheckOutcome, str | None]:
    """Compare one stored page revision with storage: the recorded version holds the
    recorded file (:func:`_inspect`) and, once filed, is under the lock it should have."""
    info, outcome, detail = await _inspect(store, tenant, page, str(page.object_version))
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
    pages = await _stored_revisions(session, volume.id)
    numbers = await _page_numbers(session, volume.id)
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
    items = await _items(session, volume.id)
    contents = _contents_problems(items, len(numbers)) if items else []
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


# ----------------------------------------------------------------------- storage cleanup


async def clean_expired_uploads(session: AsyncSession, *, batch: int = 500) -> int:
    """Pending uploads whose URL expired more than UPLOAD_GRACE ago (no PUT can add to them
    any more; :func:`app.storage.uploads.expire`): the rows go, their keys join the removal
    list, which clears storage after the commit. A completion holding a row's lock keeps it
    (SKIP LOCKED); one that comes after finds no page. Returns how many."""

    async def queue(pages: Sequence[ArchivePage]) -> Sequence[ArchivePage]:
        _remove_later(session, pages)
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
    outcomes = await _each([partial(_remove_key, store, tenant, k, now) for k in keys])
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


# ---------------------------------------------------------------------------- org hooks


@org.live_records("archives")
async def _volumes_at(session: AsyncSession, holder: org.Holder) -> str | None:
    if holder.kind == "unit":
        count = await session.scalar(select(func.count()).where(ArchiveVolumeUnit.unit_id == holder.id))
    else:
        count = await session.scalar(select(func.count()).where(ArchiveVolume.node_id == holder.id))
    return f"{count} archive volumes" if count else None


REQUEST_TYPES = [CLASSIFICATION_REQUEST]  # the domain's declaration names this list
