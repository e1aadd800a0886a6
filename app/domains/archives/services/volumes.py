"""Building a volume in draft: its cover, units, circulation, contents list and remarks sheet;
deleting or disposing of it."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, AccountKind
from app.core import audit, clock
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import provided
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.models import Role
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
    CirculationIn,
    ContentsIn,
    RemarksIn,
    VolumeCreate,
    VolumeUpdate,
)
from app.domains.archives.services.access import in_circulation, is_cleared
from app.domains.archives.services.classification import refuse_open_classification_request
from app.domains.archives.services.cleanup import remove_later
from app.domains.archives.services.common import (
    DISPOSE,
    ENTITY,
    READ,
    WRITE,
    require_status,
    saved_volume,
    touch,
    volume_snapshot,
)
from app.domains.archives.services.integrity import digest_of, manifest_lines
from app.domains.archives.services.policy import get_policy, require_level
from app.domains.archives.services.reads import contents_items, unit_ids_of
from app.domains.customers.models import Customer, CustomerUnit
from app.domains.org import services as org
from app.domains.org.models import OrgNode
from app.tenants import bound
from app.tenants.bound import tenant_id


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
    if not await in_circulation(session, authz, list(data.roles), [str(a) for a in data.account_ids], path):
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
    require_level(policy, classification, "classification")
    if not is_cleared(authz, policy, classification, path):
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
    units = [str(u) for u in dict.fromkeys(data.unit_ids)]
    return await saved(session, volume, "archives.volume.create", ENTITY,
                       snapshot=lambda v: {**volume_snapshot(v), "unitIds": units})


# The fields the archive number is built from, with their names on the wire.
_NUMBERED = {"organisation_code": "organisationCode", "year": "year", "retention": "retention"}


async def update_volume(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                        data: VolumeUpdate) -> ArchiveVolume:
    authz.require(WRITE, path)
    changes = provided(data)
    if set(changes) - {"circulation"}:
        require_status(volume, VolumeStatus.draft, doing="change its cover")
    if volume.archive_number:
        moved = sorted(f for f in _NUMBERED.keys() & changes.keys() if getattr(volume, f) != changes[f])
        if moved:
            raise ProblemError("conflict", f"The archive number {volume.archive_number} is built from these fields.",
                               errors=[field_error(_NUMBERED[f], "fixed by the archive number") for f in moved])
    if data.year is not msgspec.UNSET:
        await _require_formed(session, data.year)
    before = volume_snapshot(volume)
    units: dict[str, Any] = {}
    if data.unit_ids is not msgspec.UNSET:
        del changes["unit_ids"]
        unit_ids = list(dict.fromkeys(data.unit_ids))
        await _check_units(session, volume.customer_id, unit_ids)
        before["unitIds"] = [str(u) for u in await unit_ids_of(session, volume.id)]
        units["unitIds"] = [str(u) for u in unit_ids]
        await session.execute(delete(ArchiveVolumeUnit).where(ArchiveVolumeUnit.volume_id == volume.id))
        session.add_all([ArchiveVolumeUnit(volume_id=volume.id, unit_id=u) for u in unit_ids])
        touch(volume)
    if data.circulation is not msgspec.UNSET:
        del changes["circulation"]
        circulation = data.circulation
        await _check_circulation(session, authz, circulation, path)
        volume.circulation_roles = sorted(set(circulation.roles))
        volume.circulation_accounts = sorted({str(a) for a in circulation.account_ids})
    for name, value in changes.items():
        setattr(volume, name, value)
    return await saved_volume(session, volume, "update", before, **units)


async def put_contents(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                       data: ContentsIn) -> ArchiveVolume:
    """Replace the contents list; how it fits the pages is checked at assembly."""
    authz.require(WRITE, path)
    require_status(volume, VolumeStatus.draft, doing="change its contents list")
    today = await bound.today(session)
    future = [field_error(f"items.{n}.date", f"after today ({today})") for n, item in enumerate(data.items)
              if item.document_date is not None and item.document_date > today]
    if future:
        # 409, as complaints answer a receipt in the future: the schema cannot know today's date.
        raise ProblemError("conflict", "A document of the contents list is dated after today.", errors=future)
    before = [audit.snapshot(i, exclude=frozenset({"id", "volume_id"}))
              for i in await contents_items(session, volume.id)]
    await session.execute(delete(ArchiveContentsItem).where(ArchiveContentsItem.volume_id == volume.id))
    session.add_all([ArchiveContentsItem(
        volume_id=volume.id, sequence=n, document_number=item.document_number,
        responsible_party=item.responsible_party, title=item.title, document_date=item.document_date,
        page_from=item.page_from, page_to=item.page_to, remarks=item.remarks) for n, item in enumerate(data.items, 1)])
    touch(volume)
    await session.flush()
    after = [audit.snapshot(i, exclude=frozenset({"id", "volume_id"}))
             for i in await contents_items(session, volume.id)]
    await audit.record(session, action="archives.volume.contents", entity_type=ENTITY, entity_id=volume.id,
                       before={"contents": before}, after={"contents": after})
    return volume


async def put_remarks(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                      data: RemarksIn) -> ArchiveVolume:
    authz.require(WRITE, path)
    require_status(volume, VolumeStatus.draft, doing="change its remarks sheet")
    before = volume_snapshot(volume)
    volume.remarks_notes, volume.remarks_compiler = data.notes, data.compiler
    volume.remarks_compiled_on = data.compiled_on
    return await saved_volume(session, volume, "remarks", before)


async def _require_formed(session: AsyncSession, year: int | None) -> None:
    """A volume holds documents already formed: a later year is a slip, and filing would lock
    its objects for longer than the retention period (under COMPLIANCE, irrevocably)."""
    this_year = (await bound.today(session)).year
    if year is not None and year > this_year:
        raise ProblemError("conflict", f"The year {year} is after this year ({this_year}).",
                           errors=[field_error("year", f"after {this_year}")])


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
    await refuse_open_classification_request(session, volume.id)
    pages = list((await session.scalars(select(ArchivePage).where(ArchivePage.volume_id == volume.id)
                                        .order_by(ArchivePage.seq, ArchivePage.revision))).all())
    stored = [p for p in pages if p.status is not PageStatus.pending]
    lines = manifest_lines(stored)
    before = {**volume_snapshot(volume), "unitIds": [str(u) for u in await unit_ids_of(session, volume.id)],
              "contents": [audit.snapshot(i, exclude=frozenset({"id", "volume_id"}))
                           for i in await contents_items(session, volume.id)],
              "pages": len(pages), "manifest": [line.rstrip("\n") for line in lines],
              "manifestDigest": digest_of(lines)}
    remove_later(session, pages)
    await session.delete(volume)
    await session.flush()
    action = "archives.volume.dispose" if volume.status is VolumeStatus.filed else "archives.volume.delete"
    await audit.record(session, action=action, entity_type=ENTITY, entity_id=volume.id, before=before)


@org.live_records("archives")
async def _volumes_at(session: AsyncSession, holder: org.Holder) -> str | None:
    if holder.kind == "unit":
        count = await session.scalar(select(func.count()).where(ArchiveVolumeUnit.unit_id == holder.id))
    else:
        count = await session.scalar(select(func.count()).where(ArchiveVolume.node_id == holder.id))
    return f"{count} archive volumes" if count else None
