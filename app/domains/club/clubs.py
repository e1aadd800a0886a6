"""Clubs: the establishment plan through approval (revise until approved), its tiers.

A club is planned at the group or a branch (purpose, charter, budget, tiers, the points a
referral earns) and goes to the ``club_plan`` chain (the supervising manager by default). A
rejected or withdrawn plan is revised and submitted again; once approved the club is
``established`` and members may be enrolled. Its status while under review is its approval
request's, read from the engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.pagination import PageParams
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.records import get_at_node, node_for, subtree_filter
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import (
    Approvable,
    approvable_type,
    page_with_request_status,
    request_status,
    revisable,
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.schemas import Resubmission
from app.domains.club.models import Club, ClubStage, ClubTier, Member, MemberStatus
from app.domains.club.schemas import ClubCreate, ClubOut, ClubStatus, ClubUpdate, Submission, TierIn, TierOut
from app.domains.org.models import NodeKind

T = TypeVar("T")

READ, WRITE, POINTS = "club.read", "club.write", "club.points"
CLUB, CLUB_TYPE = "club", "club_plan"
CLUB_NODES = (NodeKind.group, NodeKind.branch)
SORT = {"createdAt": Club.created_at, "name": Club.name}

register_permissions({
    READ: "See the clubs, members, points ledgers, activities and registrations of the subtree.",
    WRITE: "Plan clubs and activities, enrol members, manage registrations and check-in, record and evaluate "
           "activities, in one's subtree.",
    POINTS: "Credit, redeem, expire and reverse members' points, in one's subtree.",
})


def conflict(what: str, state: str, hint: str = "") -> ProblemError:
    return ProblemError("conflict", f"The {what} is {state}{': ' + hint if hint else '.'}")


async def named(lookup: Awaitable[T], field: str) -> T:
    """A record a body names: its 404 names the field."""
    try:
        return await lookup
    except ProblemError as exc:
        if exc.slug != "not-found":
            raise
        raise ProblemError("not-found", str(exc.detail), errors=[field_error(field, "not found")]) from None


def tier_out(t: ClubTier) -> TierOut:
    return TierOut(id=t.id, code=t.code, name=t.name, min_points=t.min_points, benefits=t.benefits)


async def tiers_of(session: AsyncSession, club_id: uuid.UUID) -> list[ClubTier]:
    return list((await session.scalars(select(ClubTier).where(ClubTier.club_id == club_id)
                                       .order_by(ClubTier.min_points))).all())


def tier_for(tiers: Sequence[ClubTier], lifetime: int) -> ClubTier:
    """The highest tier whose threshold ``lifetime`` points reach (the lowest starts at 0)."""
    return [t for t in tiers if t.min_points <= lifetime][-1]


def _club_status(c: Club, request: RequestStatus | None) -> ClubStatus:
    return shown_status(c.stage.value, request)  # type: ignore[return-value]  # a member of ClubStatus


async def get_club(session: AsyncSession, authz: Authorizer, club_id: uuid.UUID, *,
                   lock: bool = False, field: str | None = None) -> tuple[Club, str]:
    return await get_at_node(session, authz, Club, club_id, READ, "club", lock=lock, field=field)


async def club_out(session: AsyncSession, c: Club) -> ClubOut:
    members = await session.scalar(select(func.count()).where(Member.club_id == c.id,
                                                              Member.status == MemberStatus.active))
    return ClubOut(id=c.id, node_id=c.node_id, name=c.name, purpose=c.purpose, charter=c.charter, budget=c.budget,
                   referral_points=c.referral_points, tiers=[tier_out(t) for t in await tiers_of(session, c.id)],
                   status=_club_status(c, await request_status(session, c.approval_request_id)),
                   approval_request_id=c.approval_request_id, established_at=c.established_at,
                   members=int(members or 0), created_at=c.created_at, version=c.version)


async def list_clubs(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                     node_id: uuid.UUID | None) -> Page[ClubOut]:
    stmt: Select[Any] = (select(Club).outerjoin(ApprovalRequest, ApprovalRequest.id == Club.approval_request_id)
                         .where(authz.visible(READ, Club.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(Club.stage, ClubStage, status))
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Club.node_id, node_id))
    page = await page_with_request_status(session, stmt, params, sortable=SORT, default_sort=["-createdAt"],
                                          tiebreak=Club.id, to_schema=lambda c, _: c)
    return Page(items=[await club_out(session, c) for c in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


def _check_tiers(tiers: Sequence[TierIn]) -> None:
    errors = []
    if len({t.code for t in tiers}) != len(tiers):
        errors.append(field_error("tiers", "tier codes repeat"))
    if len({t.min_points for t in tiers}) != len(tiers):
        errors.append(field_error("tiers", "two tiers start at the same points"))
    if not any(t.min_points == 0 for t in tiers):
        errors.append(field_error("tiers", "the lowest tier must start at 0 points"))
    if errors:
        raise ProblemError("validation", "The tiers do not make a ladder.", errors=errors)


async def _set_tiers(session: AsyncSession, club: Club, tiers: Sequence[TierIn]) -> None:
    _check_tiers(tiers)
    await session.execute(delete(ClubTier).where(ClubTier.club_id == club.id))
    session.add_all([ClubTier(club_id=club.id, code=t.code, name=t.name, min_points=t.min_points,
                              benefits=t.benefits) for t in tiers])
    await session.flush()


async def _unique_name(session: AsyncSession, name: str, besides: uuid.UUID | None = None) -> None:
    stmt = select(Club.id).where(Club.name == name)
    if besides is not None:
        stmt = stmt.where(Club.id != besides)
    if await session.scalar(stmt) is not None:
        raise ProblemError("conflict", f"A club named {name!r} exists already.",
                           errors=[field_error("name", "taken")])


def _snapshot(club: Club, tiers: Sequence[ClubTier | TierIn] | None = None) -> dict[str, Any]:
    snap = audit.snapshot(club)
    if tiers is not None:
        snap["tiers"] = [{"code": t.code, "minPoints": t.min_points} for t in tiers]
    return snap


async def create_club(session: AsyncSession, authz: Authorizer, data: ClubCreate) -> Club:
    node = await node_for(session, authz, data.node_id, WRITE, kinds=CLUB_NODES)
    await _unique_name(session, data.name)
    club = Club(node_id=node.id, name=data.name, purpose=data.purpose, charter=data.charter,
                budget=Decimal(data.budget), referral_points=data.referral_points, stage=ClubStage.draft,
                created_by=authz.principal.subject)
    session.add(club)
    await session.flush()
    tiers = data.tiers or [TierIn(code="member", name="会员", min_points=0)]
    await _set_tiers(session, club, tiers)
    await session.refresh(club)
    await audit.record(session, action="club.club.create", entity_type=CLUB, entity_id=club.id,
                       after=_snapshot(club, tiers))
    if data.submit:
        await submit_club(session, authz, club, node.path, Submission())
    return club


async def update_club(session: AsyncSession, authz: Authorizer, club: Club, path: str, data: ClubUpdate) -> Club:
    authz.require(WRITE, path)
    status = await request_status(session, club.approval_request_id)
    if not revisable(club.stage, ClubStage.draft, ClubStage.submitted, status):
        raise conflict(f"club plan {club.name!r}", shown_status(club.stage.value, status),
                       "only a draft, or a plan rejected or withdrawn, can be revised")
    changes = provided(data)
    before = _snapshot(club, await tiers_of(session, club.id))
    if "tiers" in changes:
        await _set_tiers(session, club, changes.pop("tiers"))  # type: ignore[arg-type]  # a list of TierIn
    if "name" in changes:
        await _unique_name(session, str(changes["name"]), club.id)
    if "budget" in changes:
        changes["budget"] = Decimal(str(changes["budget"]))
    for name, value in changes.items():
        setattr(club, name, value)
    club.updated_at = clock.utcnow()  # the version moves even when only the tiers changed
    await session.flush()
    await session.refresh(club)
    await audit.record(session, action="club.club.update", entity_type=CLUB, entity_id=club.id, before=before,
                       after=_snapshot(club, await tiers_of(session, club.id)))
    return club


async def submit_club(session: AsyncSession, authz: Authorizer, club: Club, path: str, data: Submission) -> Club:
    """To approval: a draft or a withdrawn plan as a new request, a rejected one as the next
    round of its request."""
    authz.require(WRITE, path)
    status = await request_status(session, club.approval_request_id)
    if not revisable(club.stage, ClubStage.draft, ClubStage.submitted, status):
        raise conflict(f"club plan {club.name!r}", shown_status(club.stage.value, status),
                       "it is already under review or decided")
    before = _snapshot(club)
    if status is RequestStatus.rejected:
        assert club.approval_request_id is not None
        await approvals.resubmit(session, club.approval_request_id, Resubmission(
            reason=data.note or "Revised and submitted again.", amount=str(club.budget)))
    else:
        request = await approvals.create_request(
            session, request_type=CLUB_TYPE, title=f"俱乐部筹建 {club.name}"[:300], payload={"clubId": str(club.id)},
            amount=club.budget, reason=data.note)
        club.approval_request_id = request.id
    club.stage = ClubStage.submitted
    club.updated_at = clock.utcnow()
    await session.flush()
    await session.refresh(club)
    await audit.record(session, action="club.club.submit", entity_type=CLUB, entity_id=club.id, before=before,
                       after=_snapshot(club), reason=data.note)
    return club


CLUB_RECORD = Approvable(Club, key="clubId", entity=CLUB, what="club")


async def _club_payload(session: AsyncSession, c: Club) -> dict[str, Any]:
    """What the approvers decide on."""
    return {"clubId": str(c.id), "name": c.name, "purpose": c.purpose, "charter": c.charter,
            "budget": str(c.budget), "referralPoints": c.referral_points,
            "tiers": [{"code": t.code, "name": t.name, "minPoints": t.min_points}
                      for t in await tiers_of(session, c.id)]}


async def _established(session: AsyncSession, request: ApprovalRequest) -> None:
    """The plan was approved: the club is established."""
    club = await CLUB_RECORD.of(session, request.payload, lock=True)
    before = _snapshot(club)
    club.stage, club.established_at = ClubStage.established, clock.utcnow()
    await session.flush()
    await session.refresh(club)
    await audit.record(session, action="club.club.establish", entity_type=CLUB, entity_id=club.id, before=before,
                       after=_snapshot(club))


CLUB_REQUEST = approvable_type(
    CLUB_TYPE, "Club establishment plan", CLUB_RECORD, describe=_club_payload, on_approved=_established,
    # 004: the plan is approved by the company's supervising manager.
    default_chain=[{"name": "Supervising manager", "role": "supervising_manager", "at": "group"}],
    default_roles={"supervising_manager": "Supervising manager"},
)


async def established_club(session: AsyncSession, authz: Authorizer, club_id: uuid.UUID, *,
                           field: str = "clubId") -> Club:
    """A club a body names, which must be established."""
    club, _ = await named(get_club(session, authz, club_id, field=field), field)
    if club.stage is not ClubStage.established:
        status = await request_status(session, club.approval_request_id)
        raise ProblemError("conflict", f"The club {club.name!r} is {shown_status(club.stage.value, status)}: it "
                                       "needs to be established (its plan approved).",
                           errors=[field_error(field, "not established")])
    return club
