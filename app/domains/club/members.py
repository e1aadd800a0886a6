"""Members and their points ledger.

An owner or a prospect is enrolled in an established club (by staff, or by the owner from the
app): a member number (``HY-2026-000001``), the tier their lifetime points reach, and the
card the app shows. A referral names the member who brought them, who is credited the club's
referral points in the same transaction.

**The ledger.** Every movement of points is an entry, appended and never changed: ``earn``
and ``referral`` credit, ``redeem`` and ``expire`` debit, ``reversal`` compensates one earlier
entry (at most once: ``reverses_id`` is unique). A movement locks the member's row first, so
movements of one member are serialised: a debit larger than the balance is refused (409
naming the balance) and no two debits can spend the same points; the database refuses a
negative balance besides. A client retrying a redemption sends the same ``Idempotency-Key``
and gets the first answer back instead of a second redemption.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.keystore import tenant_keys
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.club.clubs import (
    POINTS,
    READ,
    WRITE,
    conflict,
    established_club,
    named,
    tier_for,
    tier_out,
    tiers_of,
)
from app.domains.club.models import Club, ClubStage, ClubTier, EntryKind, Member, MemberStatus, PointsEntry
from app.domains.club.schemas import (
    EntryIn,
    EntryOut,
    Leaving,
    MemberCard,
    MemberCreate,
    MemberOut,
    MemberUpdate,
    OwnEnrolment,
    Reversal,
)
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer
from app.tenants.bound import local_year, today

MEMBER, ENTRY = "club_member", "club_points_entry"
SORT = {"number": Member.number, "joinedOn": Member.joined_on, "balance": Member.balance}
ENTRY_SORT = {"createdAt": PointsEntry.created_at}
CARD = "club.card"  # the blind-index namespace of card codes
DEBITS = (EntryKind.redeem, EntryKind.expire)


async def get_member(session: AsyncSession, authz: Authorizer, member_id: uuid.UUID, *, lock: bool = False,
                     field: str | None = None) -> tuple[Member, str]:
    return await get_at_node(session, authz, Member, member_id, READ, "member", lock=lock, field=field)


async def member_out(session: AsyncSession, m: Member) -> MemberOut:
    club = await session.get(Club, m.club_id)
    tier = await session.get(ClubTier, m.tier_id)
    assert club is not None and tier is not None  # foreign keys hold them
    return MemberOut(id=m.id, club_id=m.club_id, club_name=club.name, customer_id=m.customer_id, node_id=m.node_id,
                     number=m.number, tier=tier_out(tier), status=m.status, joined_on=m.joined_on,
                     birth_date=m.birth_date, referred_by_id=m.referred_by_id, balance=m.balance,
                     lifetime_points=m.lifetime_points, left_at=m.left_at, version=m.version)


async def card_out(session: AsyncSession, m: Member) -> MemberCard:
    club = await session.get(Club, m.club_id)
    tier = await session.get(ClubTier, m.tier_id)
    assert club is not None and tier is not None
    check = (await tenant_keys(session)).blind_index(CARD, m.number)[:8]
    return MemberCard(id=m.id, club_id=m.club_id, club_name=club.name, number=m.number, tier=tier_out(tier),
                      status=m.status, joined_on=m.joined_on, balance=m.balance, card_code=f"{m.number}.{check}",
                      version=m.version)


async def list_members(session: AsyncSession, authz: Authorizer, params: PageParams, *, club_id: uuid.UUID | None,
                       customer_id: uuid.UUID | None, status: MemberStatus | None,
                       node_id: uuid.UUID | None) -> Page[MemberOut]:
    stmt: Select[Any] = select(Member).where(authz.visible(READ, Member.node_id))
    if club_id is not None:
        stmt = stmt.where(Member.club_id == club_id)
    if customer_id is not None:
        stmt = stmt.where(Member.customer_id == customer_id)
    if status is not None:
        stmt = stmt.where(Member.status == status)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Member.node_id, node_id))
    page = await paginate(session, stmt, params, sortable=SORT, default_sort=["number"], tiebreak=Member.id,
                          to_schema=lambda m: m)
    return Page(items=[await member_out(session, m) for m in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def _enrol(session: AsyncSession, club: Club, customer: Customer, actor: str, *, birth_date: Any,
                 referrer: Member | None) -> Member:
    if await session.scalar(select(Member.id).where(Member.club_id == club.id,
                                                    Member.customer_id == customer.id)) is not None:
        raise ProblemError("conflict", f"Customer {customer.number} is a member of {club.name!r} already.",
                           errors=[field_error("customerId", "a member already")])
    tiers = await tiers_of(session, club.id)
    member = Member(club_id=club.id, customer_id=customer.id, node_id=customer.node_id,
                    number=await next_number(session, "HY", await local_year(session, clock.utcnow())),
                    tier_id=tier_for(tiers, 0).id, status=MemberStatus.active, joined_on=await today(session),
                    birth_date=birth_date, referred_by_id=referrer.id if referrer else None, balance=0,
                    lifetime_points=0)
    session.add(member)
    await session.flush()
    await session.refresh(member)
    await audit.record(session, action="club.member.enrol", entity_type=MEMBER, entity_id=member.id,
                       after=audit.snapshot(member))
    if referrer is not None and club.referral_points > 0:
        locked = await session.scalar(select(Member).where(Member.id == referrer.id).with_for_update())
        assert locked is not None
        await _move(session, locked, EntryKind.referral, club.referral_points, f"推荐新会员 {member.number}",
                    reference=member.number, actor=actor)
    return member


async def enrol(session: AsyncSession, authz: Authorizer, data: MemberCreate) -> Member:
    club = await established_club(session, authz, data.club_id)
    customer, _ = await customer_for(session, authz, data.customer_id, WRITE)
    referrer = None
    if data.referred_by_id is not None:
        referrer, _ = await named(get_member(session, authz, data.referred_by_id, field="referredById"),
                                  "referredById")
        if referrer.club_id != club.id or referrer.status is not MemberStatus.active:
            raise ProblemError("validation", f"Member {referrer.number} is no active member of this club.",
                               errors=[field_error("referredById", "not an active member of the club")])
    return await _enrol(session, club, customer, authz.principal.subject, birth_date=data.birth_date,
                        referrer=referrer)


async def update_member(session: AsyncSession, authz: Authorizer, member: Member, path: str,
                        data: MemberUpdate) -> Member:
    authz.require(WRITE, path)
    before = audit.snapshot(member)
    if data.birth_date is not msgspec.UNSET:
        member.birth_date = data.birth_date
    await session.flush()
    await session.refresh(member)
    await audit.record(session, action="club.member.update", entity_type=MEMBER, entity_id=member.id,
                       before=before, after=audit.snapshot(member))
    return member


async def leave(session: AsyncSession, authz: Authorizer, member: Member, path: str, data: Leaving) -> Member:
    authz.require(WRITE, path)
    if member.status is not MemberStatus.active:
        raise conflict(f"membership {member.number}", member.status.value, "only an active member leaves")
    before = audit.snapshot(member)
    member.status, member.left_at = MemberStatus.left, clock.utcnow()
    await session.flush()
    await session.refresh(member)
    await audit.record(session, action="club.member.leave", entity_type=MEMBER, entity_id=member.id, before=before,
                       after=audit.snapshot(member), reason=data.reason)
    return member


# --------------------------------------------------------------------------------- ledger


async def _move(session: AsyncSession, member: Member, kind: EntryKind, points: int, reason: str, *,
                reference: str | None, actor: str, reverses: PointsEntry | None = None) -> PointsEntry:
    """Append one entry to a member whose row the caller has locked, and move the balance.
    ``points`` is signed."""
    if member.balance + points < 0:
        raise ProblemError("conflict", f"Member {member.number} has a balance of {member.balance} points: "
                                       f"{-points} cannot be taken from it.",
                           errors=[field_error("points", f"more than the balance of {member.balance}")])
    before = {"balance": member.balance, "lifetimePoints": member.lifetime_points, "tierId": str(member.tier_id)}
    member.balance += points
    if kind in (EntryKind.earn, EntryKind.referral):
        member.lifetime_points += points
    elif kind is EntryKind.reversal and reverses is not None and reverses.kind in (EntryKind.earn,
                                                                                   EntryKind.referral):
        member.lifetime_points += points  # an earning undone no longer counts toward the tier
    member.tier_id = tier_for(await tiers_of(session, member.club_id), member.lifetime_points).id
    entry = PointsEntry(member_id=member.id, node_id=member.node_id, kind=kind, points=points,
                        balance_after=member.balance, reason=reason, reference=reference,
                        reverses_id=reverses.id if reverses else None, created_by=actor,
                        created_at=clock.utcnow())  # the app's clock: expiry counts from it
    session.add(entry)
    await session.flush()
    await session.refresh(entry)
    await audit.record(session, action=f"club.points.{kind.value}", entity_type=ENTRY, entity_id=entry.id,
                       after=audit.snapshot(entry), reason=reason)
    await audit.record(session, action="club.member.balance", entity_type=MEMBER, entity_id=member.id,
                       before=before, after={"balance": member.balance, "lifetimePoints": member.lifetime_points,
                                             "tierId": str(member.tier_id), "entryId": str(entry.id)})
    return entry


async def add_entry(session: AsyncSession, authz: Authorizer, member: Member, path: str,
                    data: EntryIn) -> PointsEntry:
    """``member`` is locked (``get_member(lock=True)``)."""
    authz.require(POINTS, path)
    if member.status is not MemberStatus.active:
        raise conflict(f"membership {member.number}", member.status.value, "points move only for active members")
    kind = EntryKind(data.kind)
    points = -data.points if kind in DEBITS else data.points
    return await _move(session, member, kind, points, data.reason, reference=data.reference,
                       actor=authz.principal.subject)


def _entry_out(e: PointsEntry, reversed_by: uuid.UUID | None) -> EntryOut:
    return EntryOut(id=e.id, member_id=e.member_id, kind=e.kind, points=e.points, balance_after=e.balance_after,
                    reason=e.reason, reference=e.reference, reverses_id=e.reverses_id, reversed_by_id=reversed_by,
                    created_by=e.created_by, created_at=e.created_at)


async def entry_out(session: AsyncSession, e: PointsEntry) -> EntryOut:
    reversed_by = await session.scalar(select(PointsEntry.id).where(PointsEntry.reverses_id == e.id))
    return _entry_out(e, reversed_by)


async def list_entries(session: AsyncSession, member: Member, params: PageParams) -> Page[EntryOut]:
    stmt: Select[Any] = select(PointsEntry).where(PointsEntry.member_id == member.id)
    page = await paginate(session, stmt, params, sortable=ENTRY_SORT, default_sort=["-createdAt"],
                          tiebreak=PointsEntry.id, to_schema=lambda e: e)
    undone = dict((await session.execute(select(PointsEntry.reverses_id, PointsEntry.id).where(
        PointsEntry.reverses_id.in_([e.id for e in page.items])))).tuples().all())
    return Page(items=[_entry_out(e, undone.get(e.id)) for e in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def get_entry(session: AsyncSession, authz: Authorizer, entry_id: uuid.UUID) -> tuple[PointsEntry, str]:
    return await get_at_node(session, authz, PointsEntry, entry_id, READ, "points entry")


async def reverse(session: AsyncSession, authz: Authorizer, entry: PointsEntry, path: str,
                  data: Reversal) -> PointsEntry:
    """The compensating entry of ``entry``: its points the other way, once."""
    authz.require(POINTS, path)
    member = await session.scalar(select(Member).where(Member.id == entry.member_id).with_for_update())
    assert member is not None
    if entry.kind is EntryKind.reversal:
        raise ProblemError("conflict", "A reversal is not reversed: record a new entry instead.")
    done = await session.scalar(select(PointsEntry.id).where(PointsEntry.reverses_id == entry.id))
    if done is not None:
        raise ProblemError("conflict", f"This entry was reversed already, by entry {done}.")
    return await _move(session, member, EntryKind.reversal, -entry.points, data.reason,
                       reference=entry.reference, actor=authz.principal.subject, reverses=entry)


# ---------------------------------------------------------------------------- the owner


async def own_customers(session: AsyncSession, authz: Authorizer) -> list[Customer]:
    owner = authz.owner_id
    if owner is None:
        return []
    return list((await session.scalars(select(Customer).where(Customer.account_id == owner,
                                                              Customer.merged_into_id.is_(None)))).all())


async def list_own_members(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[MemberCard]:
    ids = [c.id for c in await own_customers(session, authz)]
    stmt: Select[Any] = select(Member).where(Member.customer_id.in_(ids))
    page = await paginate(session, stmt, params, sortable=SORT, default_sort=["number"], tiebreak=Member.id,
                          to_schema=lambda m: m)
    return Page(items=[await card_out(session, m) for m in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def get_own_member(session: AsyncSession, authz: Authorizer, member_id: uuid.UUID, *,
                         lock: bool = False) -> Member:
    ids = [c.id for c in await own_customers(session, authz)]
    stmt = select(Member).where(Member.id == member_id, Member.customer_id.in_(ids))
    member = await session.scalar(stmt.with_for_update() if lock else stmt)
    if member is None:
        raise ProblemError("not-found", f"No membership with id {member_id}.")
    return member


async def enrol_own(session: AsyncSession, authz: Authorizer, data: OwnEnrolment) -> Member:
    """The owner joins an established club from the app (their first live customer record)."""
    customers = await own_customers(session, authz)
    club = await session.get(Club, data.club_id)
    if club is None or not customers:
        raise ProblemError("not-found", f"No club with id {data.club_id}.",
                           errors=[field_error("clubId", "no such club")])
    if club.stage is not ClubStage.established:
        raise ProblemError("conflict", f"The club {club.name!r} does not take members yet.",
                           errors=[field_error("clubId", "not established")])
    return await _enrol(session, club, customers[0], str(authz.owner_id), birth_date=data.birth_date,
                        referrer=None)
