"""Receptions and hospitality: applied for with a budget, decided by the
reception_application approval chain, held and reported with the actual costs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock
from app.core.numbering import next_number
from app.core.pagination import PageParams
from app.core.schemas import Page, provided
from app.core.writes import saved
from app.domains.access.authz import Authorizer
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
from app.domains.customers.lookups import customer_for
from app.domains.interactions.models import Reception, ReceptionGuest, ReceptionKind, ReceptionStage
from app.domains.interactions.schemas import (
    Cancellation,
    GuestIn,
    GuestOut,
    HospitalityCostsOut,
    ReceptionCreate,
    ReceptionOut,
    ReceptionReport,
    ReceptionStatus,
    ReceptionSummary,
    ReceptionUpdate,
    Submission,
    hospitality_costs,
)
from app.domains.interactions.services.common import (
    READ,
    RECEPTION,
    RECEPTION_TYPE,
    REPORT_TYPE,
    UNDER_BRANCH,
    WRITE,
    conflict,
    trail_snapshot,
)
from app.tenants.bound import local_year

# --------------------------------------------------------------------------- receptions

RECEPTION_SORT = {"scheduledAt": Reception.scheduled_at, "createdAt": Reception.created_at,
                  "number": Reception.number}


async def get_reception(session: AsyncSession, authz: Authorizer, reception_id: uuid.UUID, *,
                        lock: bool = False) -> tuple[Reception, str]:
    return await get_at_node(session, authz, Reception, reception_id, READ, "reception", lock=lock)


# shown_status (shared by every record an approval decides) gives a str: the record's stage, or
# while under review its request's status, each a member of the record's status Literal.
def _reception_status(r: Reception, request: RequestStatus | None) -> ReceptionStatus:
    return shown_status(r.stage.value, request)  # type: ignore[return-value]  # a member, as said above


def _budget(r: Reception) -> HospitalityCostsOut:
    return HospitalityCostsOut.of(r.budget_meeting, r.budget_meals, r.budget_lodging, r.budget_transport,
                                  r.budget_gifts, r.budget_other)


def actual_costs(r: Reception) -> HospitalityCostsOut:
    return HospitalityCostsOut.of(r.actual_meeting, r.actual_meals, r.actual_lodging, r.actual_transport,
                                  r.actual_gifts, r.actual_other)


def _guest_out(g: ReceptionGuest) -> GuestOut:
    return GuestOut(name=g.name, role=g.role, organisation=g.organisation, customer_id=g.customer_id)


async def reception_out(session: AsyncSession, r: Reception) -> ReceptionOut:
    rows = (await session.scalars(select(ReceptionGuest).where(ReceptionGuest.reception_id == r.id)
                                  .order_by(ReceptionGuest.position))).all()
    guests = [g for g in rows if not g.attended]
    budget = _budget(r)
    actual = None if r.stage is not ReceptionStage.reported else actual_costs(r)
    return ReceptionOut(
        id=r.id, number=r.number, kind=r.kind, node_id=r.node_id, applicant_id=r.applicant_id, title=r.title,
        purpose=r.purpose, venue=r.venue, scheduled_at=r.scheduled_at,
        guests=[_guest_out(g) for g in guests],
        customer_attendees=[_guest_out(g) for g in rows if g.attended], staff_attendees=list(r.staff_attendees),
        report_request_id=r.report_request_id, report_status=await request_status(session, r.report_request_id),
        reimbursed_at=r.reimbursed_at, reimbursed_by=r.reimbursed_by, reimbursed_amount=r.reimbursed_amount,
        budget=budget, status=_reception_status(r, await request_status(session, r.approval_request_id)),
        approval_request_id=r.approval_request_id, held_at=r.held_at, attendee_count=r.attendee_count,
        actual=actual, over_budget=None if actual is None else actual.total > budget.total, summary=r.summary,
        reported_at=r.reported_at, cancel_reason=r.cancel_reason, created_at=r.created_at, version=r.version)


async def list_receptions(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                          kind: ReceptionKind | None, node_id: uuid.UUID | None,
                          scheduled_from: datetime | None, scheduled_to: datetime | None) -> Page[ReceptionSummary]:
    stmt: Select[Any] = (select(Reception)
                         .outerjoin(ApprovalRequest, ApprovalRequest.id == Reception.approval_request_id)
                         .where(authz.visible(READ, Reception.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(Reception.stage, ReceptionStage, status))
    if kind is not None:
        stmt = stmt.where(Reception.kind == kind)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Reception.node_id, node_id))
    if scheduled_from is not None:
        stmt = stmt.where(Reception.scheduled_at >= scheduled_from)
    if scheduled_to is not None:
        stmt = stmt.where(Reception.scheduled_at < scheduled_to)
    return await page_with_request_status(
        session, stmt, params, sortable=RECEPTION_SORT, default_sort=["-scheduledAt"], tiebreak=Reception.id,
        to_schema=lambda r, request_status: ReceptionSummary(
            id=r.id, number=r.number, kind=r.kind, node_id=r.node_id, title=r.title, scheduled_at=r.scheduled_at,
            budget_total=_budget(r).total, status=_reception_status(r, request_status), version=r.version))


async def _guests(session: AsyncSession, authz: Authorizer, reception_id: uuid.UUID,
                  guests: Sequence[GuestIn], *, attended: bool = False) -> list[ReceptionGuest]:
    rows = []
    field, first = ("customerAttendees", 1000) if attended else ("guests", 0)
    for i, g in enumerate(guests):
        if g.customer_id is not None:
            await customer_for(session, authz, g.customer_id, WRITE, field=f"{field}.{i}.customerId")
        rows.append(ReceptionGuest(reception_id=reception_id, position=first + i, name=g.name,
                                   organisation=g.organisation, role=g.role, customer_id=g.customer_id,
                                   attended=attended))
    return rows


def _guest_snapshot(guests: Sequence[ReceptionGuest]) -> list[dict[str, Any]]:
    return [{"name": g.name, "role": g.role.value, "customerId": str(g.customer_id) if g.customer_id else None}
            for g in guests]


async def create_reception(session: AsyncSession, authz: Authorizer, data: ReceptionCreate) -> Reception:
    node = await node_for(session, authz, data.node_id, WRITE, kinds=UNDER_BRANCH)
    meeting, meals, lodging, transport, gifts, other = hospitality_costs(data.budget)
    reception = Reception(
        number=await next_number(session, "JD", await local_year(session, clock.utcnow())), kind=data.kind,
        node_id=node.id, applicant_id=authz.principal.subject, title=data.title, purpose=data.purpose,
        venue=data.venue, scheduled_at=data.scheduled_at, budget_meals=meals, budget_transport=transport,
        budget_gifts=gifts, budget_other=other, budget_meeting=meeting, budget_lodging=lodging,
        stage=ReceptionStage.draft)
    session.add(reception)
    await session.flush()
    guests = await _guests(session, authz, reception.id, data.guests)
    session.add_all(guests)
    await saved(session, reception, "interactions.reception.create", RECEPTION,
                snapshot=lambda reception: trail_snapshot(reception, guests=_guest_snapshot(guests)))
    if data.submit:
        await submit_reception(session, authz, reception, node.path, Submission())
    return reception



async def update_reception(session: AsyncSession, authz: Authorizer, reception: Reception, path: str,
                           data: ReceptionUpdate) -> Reception:
    authz.require(WRITE, path)
    status = await request_status(session, reception.approval_request_id)
    if not revisable(reception.stage, ReceptionStage.draft, ReceptionStage.submitted, status):
        raise conflict(f"reception {reception.number}", shown_status(reception.stage.value, status),
                        "only a draft, or an application rejected or withdrawn, can be revised")
    changes = provided(data)
    before = trail_snapshot(reception)
    guests: list[ReceptionGuest] | None = None
    if data.guests is not msgspec.UNSET:
        del changes["guests"]
        old = (await session.scalars(select(ReceptionGuest).where(ReceptionGuest.reception_id == reception.id))).all()
        guests = await _guests(session, authz, reception.id, data.guests)
        for row in old:
            await session.delete(row)
        session.add_all(guests)
    if data.budget is not msgspec.UNSET:
        del changes["budget"]
        (reception.budget_meeting, reception.budget_meals, reception.budget_lodging, reception.budget_transport,
         reception.budget_gifts, reception.budget_other) = hospitality_costs(data.budget)
    for name, value in changes.items():
        setattr(reception, name, value)
    reception.updated_at = clock.utcnow()  # the version moves even when only the guests changed
    await session.flush()
    await session.refresh(reception)
    after = trail_snapshot(reception, **({"guests": _guest_snapshot(guests)} if guests is not None else {}))
    await audit.record(session, action="interactions.reception.update", entity_type=RECEPTION,
                       entity_id=reception.id, before=before, after=after)
    return reception


async def submit_reception(session: AsyncSession, authz: Authorizer, reception: Reception, path: str,
                           data: Submission) -> Reception:
    """To approval: a draft or a withdrawn application as a new request, a rejected one as
    the next round of its request (by its submitter, the engine's rule)."""
    authz.require(WRITE, path)
    status = await request_status(session, reception.approval_request_id)
    if not revisable(reception.stage, ReceptionStage.draft, ReceptionStage.submitted, status):
        raise conflict(f"reception {reception.number}", shown_status(reception.stage.value, status),
                        "it is already under review or decided")
    total = _budget(reception).total
    before = trail_snapshot(reception)
    if status is RequestStatus.rejected:
        assert reception.approval_request_id is not None
        await approvals.resubmit(session, reception.approval_request_id, Resubmission(
            reason=data.note or "Revised and submitted again.", amount=str(total)))
    else:
        request = await approvals.create_request(
            session, request_type=RECEPTION_TYPE, title=f"{reception.number} {reception.title}"[:300],
            payload={"receptionId": str(reception.id)}, amount=total, reason=data.note)
        reception.approval_request_id = request.id
    reception.stage = ReceptionStage.submitted
    reception.updated_at = clock.utcnow()
    return await saved(session, reception, "interactions.reception.submit", RECEPTION, before=before,
                       snapshot=trail_snapshot, reason=data.note)


async def report_reception(session: AsyncSession, authz: Authorizer, reception: Reception, path: str,
                           data: ReceptionReport) -> Reception:
    authz.require(WRITE, path)
    status = await request_status(session, reception.approval_request_id)
    if not (reception.stage is ReceptionStage.submitted and status is RequestStatus.approved):
        raise conflict(f"reception {reception.number}", shown_status(reception.stage.value, status),
                        "only an approved reception is reported")
    before = trail_snapshot(reception)
    reception.stage, reception.held_at, reception.attendee_count = (ReceptionStage.reported, data.held_at,
                                                                    data.attendee_count)
    (reception.actual_meeting, reception.actual_meals, reception.actual_lodging, reception.actual_transport,
     reception.actual_gifts, reception.actual_other) = hospitality_costs(data.actual)
    reception.summary, reception.reported_at = data.summary, clock.utcnow()
    reception.staff_attendees = [await staff_subject(session, a, f"staffAttendees.{i}")
                                 for i, a in enumerate(data.staff_attendees)]
    session.add_all(await _guests(session, authz, reception.id, data.customer_attendees, attended=True))
    # Seed 000 §18: the report is reviewed by the customer service manager, the GM and finance.
    request = await approvals.create_request(
        session, request_type=REPORT_TYPE, title=f"{reception.number} {reception.title}: report"[:300],
        payload={"receptionId": str(reception.id)}, amount=actual_costs(reception).total, reason=data.summary[:1000])
    reception.report_request_id = request.id
    return await saved(session, reception, "interactions.reception.report", RECEPTION, before=before,
                       snapshot=trail_snapshot)


async def cancel_reception(session: AsyncSession, authz: Authorizer, reception: Reception, path: str,
                           data: Cancellation) -> Reception:
    authz.require(WRITE, path)
    status = await request_status(session, reception.approval_request_id)
    if reception.stage in (ReceptionStage.reported, ReceptionStage.cancelled) or status is RequestStatus.pending:
        hint = ("withdraw its approval request first" if status is RequestStatus.pending
                and reception.stage is ReceptionStage.submitted else "")
        raise conflict(f"reception {reception.number}", shown_status(reception.stage.value, status), hint)
    before = trail_snapshot(reception)
    reception.stage, reception.cancel_reason = ReceptionStage.cancelled, data.reason
    return await saved(session, reception, "interactions.reception.cancel", RECEPTION, before=before,
                       snapshot=trail_snapshot, reason=data.reason)


RECEPTION_RECORD = Approvable(Reception, key="receptionId", entity=RECEPTION, what="reception")


async def _reception_payload(session: AsyncSession, r: Reception) -> dict[str, Any]:
    """What the approvers decide on."""
    budget = _budget(r)
    guests = (await session.scalars(select(ReceptionGuest).where(ReceptionGuest.reception_id == r.id,
                                                                 ~ReceptionGuest.attended)
                                    .order_by(ReceptionGuest.position))).all()
    return {"receptionId": str(r.id), "number": r.number, "kind": r.kind.value, "title": r.title,
            "purpose": r.purpose, "venue": r.venue, "scheduledAt": r.scheduled_at.isoformat(),
            "budget": {k: str(v) for k, v in msgspec.structs.asdict(budget).items()},
            "guests": [{"name": g.name, "role": g.role.value, "organisation": g.organisation} for g in guests]}


# The customer-service manager, the GM and finance, at the branch: the default chain of a
# reception's application (DOMAIN.md) and of its report (seed 000 §18, services/hospitality.py).
MANAGER_GM_FINANCE: list[dict[str, Any]] = [
    {"name": "Customer service manager", "role": "cs_manager", "at": "branch"},
    {"name": "General manager", "role": "general_manager", "at": "branch"},
    {"name": "Finance", "role": "finance", "at": "branch"},
]
MANAGER_GM_FINANCE_ROLES = {"cs_manager": "Customer service manager", "general_manager": "General manager",
                            "finance": "Finance"}

RECEPTION_REQUEST = approvable_type(
    RECEPTION_TYPE, "Reception or hospitality application", RECEPTION_RECORD, describe=_reception_payload,
    # DOMAIN.md: approved by the customer-service manager, the GM and finance.
    default_chain=MANAGER_GM_FINANCE, default_roles=MANAGER_GM_FINANCE_ROLES,
)
