"""Interaction rules: visits from plan to report, receptions and gifts through the approval
engine, calls with their outcome.

- A **visit** is planned for a customer (it sits at their node), made (needs, objections,
  gifts handed over, the next appointment, which plans the follow-up visit), then reported
  with its expenses; a planned visit may be cancelled.
- A **reception** (or hospitality) is applied for at a project or branch with a budget by
  meals, transport, gifts and other; the ``reception_application`` chain (customer-service
  manager, general manager, finance by default) decides it; once approved it is held and
  reported with the actual costs. Rejected or withdrawn, it is revised and submitted again.
- A **gift plan** budgets an occasion's gifts; a **gift application** (``gift_application``
  chain) draws on a plan's remaining budget, and is issued once approved.
- A **call** is logged with its outcome: resolved, interest, no interest, a callback, or
  the reason it failed.

Needs, objections and interests describe what a customer wants: behaviour data, stored only
while their behaviour consent is active (409 consent-required otherwise), and kept out of
the audit trail (which records that they changed, not what they say).

The status of a reception or gift application under review is its approval request's
(pending, approved, rejected, withdrawn), read from the engine (``lookups.shown_status``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock
from app.core.crypto import mask_phone
from app.core.keystore import tenant_keys
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
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
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.schemas import Resubmission
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import ConsentKind, Customer
from app.domains.customers.services import has_consent, normalise_phone
from app.domains.inquiries.models import Inquiry
from app.domains.inquiries.services import READ as INQUIRIES_READ
from app.domains.interactions.models import (
    Call,
    CallDirection,
    CallOutcome,
    GiftApplication,
    GiftApplicationStage,
    GiftPlan,
    GiftPlanStatus,
    Reception,
    ReceptionGuest,
    ReceptionKind,
    ReceptionStage,
    Visit,
    VisitStatus,
)
from app.domains.interactions.schemas import (
    Callback,
    CallCreate,
    CallOut,
    Cancellation,
    CostsOut,
    Failed,
    GiftApplicationCreate,
    GiftApplicationOut,
    GiftApplicationStatus,
    GiftPlanCreate,
    GiftPlanOut,
    GiftPlanUpdate,
    GuestIn,
    GuestOut,
    Interested,
    Issue,
    NotInterested,
    ReceptionCreate,
    ReceptionOut,
    ReceptionReport,
    ReceptionStatus,
    ReceptionSummary,
    ReceptionUpdate,
    Submission,
    VisitCreate,
    VisitOut,
    VisitRecord,
    VisitReport,
    VisitSummary,
    VisitUpdate,
    costs,
    gift_lines,
    gift_lines_out,
)
from app.domains.org import services as org
from app.domains.org.models import NodeKind, OrgNode
from app.domains.org.services import records_at
from app.tenants.bound import local_year

READ, WRITE = "interactions.read", "interactions.write"
T = TypeVar("T")

register_permissions({
    READ: "See visits, receptions, gift plans and applications, and calls in one's subtree.",
    WRITE: "Plan, record and report visits; apply for and report receptions; plan gifts and apply for them; "
           "log calls, in one's subtree.",
})

VISIT, RECEPTION, GIFT_PLAN, GIFT_APPLICATION, CALL = "visit", "reception", "gift_plan", "gift_application", "call"
RECEPTION_TYPE, GIFT_TYPE = "reception_application", "gift_application"
PHONE = "calls.phone"  # the sealed column's associated data
IX_PHONE = "phone"  # the customers domain's blind-index namespace: a call's number finds the customer's
ZERO = Decimal("0.00")
# Where approvals are needed, the record's node must lie under a branch (the chains' level).
UNDER_BRANCH = (NodeKind.project, NodeKind.branch)

# Behaviour data stays out of the trail: its size is recorded, not its content.
_BEHAVIOUR = frozenset({"needs", "objections", "interests"})


def _snapshot(obj: Any, **extra: Any) -> dict[str, Any]:
    snap = audit.snapshot(obj, exclude=_BEHAVIOUR | {"phone_sealed", "phone_index"})
    for name in _BEHAVIOUR:
        if hasattr(obj, name):
            snap[f"{name}Count"] = len(getattr(obj, name) or [])
    return {**snap, **extra}


async def _consented(session: AsyncSession, customer_id: uuid.UUID | None, fields: dict[str, list[str]]) -> None:
    """Behaviour data only with the customer's active behaviour consent."""
    given = [name for name, values in fields.items() if values]
    if not given:
        return
    if customer_id is None or not await has_consent(session, customer_id, ConsentKind.behaviour):
        who = "the customer has" if customer_id else "an unknown caller has"
        raise ProblemError("consent-required", f"{', '.join(given)} describe what a customer wants: behaviour data, "
                                               f"kept only with their active behaviour consent, which {who} not "
                                               "given. Record the consent first, or leave them out.",
                           errors=[field_error(name, "needs an active behaviour consent") for name in given])


async def _named(lookup: Awaitable[T], field: str) -> T:
    """A record a body names: its 404 names the field."""
    try:
        return await lookup
    except ProblemError as exc:
        if exc.slug != "not-found":
            raise
        raise ProblemError("not-found", str(exc.detail), errors=[field_error(field, "not found")]) from None


def _conflict(what: str, state: str, hint: str = "") -> ProblemError:
    return ProblemError("conflict", f"The {what} is {state}{': ' + hint if hint else '.'}")


# ------------------------------------------------------------------------------- visits

VISIT_SORT = {"plannedAt": Visit.planned_at, "createdAt": Visit.created_at, "number": Visit.number}


async def get_visit(session: AsyncSession, authz: Authorizer, visit_id: uuid.UUID, *,
                    lock: bool = False) -> tuple[Visit, str]:
    return await get_at_node(session, authz, Visit, visit_id, READ, "visit", lock=lock)


async def visit_out(session: AsyncSession, v: Visit) -> VisitOut:
    follow_up = await session.scalar(select(Visit.id).where(Visit.follow_up_of_id == v.id)
                                     .order_by(Visit.created_at).limit(1))
    expenses = None if v.status is not VisitStatus.reported else CostsOut.of(
        v.expense_meals, v.expense_transport, v.expense_gifts, v.expense_other)
    return VisitOut(id=v.id, number=v.number, customer_id=v.customer_id, node_id=v.node_id, owner_id=v.owner_id,
                    purpose=v.purpose, planned_at=v.planned_at, location=v.location, status=v.status,
                    follow_up_of_id=v.follow_up_of_id, follow_up_id=follow_up, visited_at=v.visited_at,
                    needs=list(v.needs or []), objections=list(v.objections or []), gifts=gift_lines_out(v.gifts),
                    next_appointment_at=v.next_appointment_at, notes=v.notes, report=v.report,
                    reported_at=v.reported_at, expenses=expenses, cancel_reason=v.cancel_reason,
                    created_at=v.created_at, version=v.version)


def _visit_summary(v: Visit) -> VisitSummary:
    return VisitSummary(id=v.id, number=v.number, customer_id=v.customer_id, node_id=v.node_id, owner_id=v.owner_id,
                        purpose=v.purpose, planned_at=v.planned_at, status=v.status, version=v.version)


async def list_visits(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: VisitStatus | None,
                      customer_id: uuid.UUID | None, node_id: uuid.UUID | None, mine: bool | None,
                      planned_from: datetime | None, planned_to: datetime | None) -> Page[VisitSummary]:
    stmt: Select[Any] = select(Visit).where(authz.visible(READ, Visit.node_id))
    if status is not None:
        stmt = stmt.where(Visit.status == status)
    if customer_id is not None:
        stmt = stmt.where(Visit.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Visit.node_id, node_id))
    if mine is not None:
        me = Visit.owner_id == authz.principal.subject
        stmt = stmt.where(me if mine else ~me)
    if planned_from is not None:
        stmt = stmt.where(Visit.planned_at >= planned_from)
    if planned_to is not None:
        stmt = stmt.where(Visit.planned_at < planned_to)
    return await paginate(session, stmt, params, sortable=VISIT_SORT, default_sort=["plannedAt"], tiebreak=Visit.id,
                          to_schema=_visit_summary)


async def _new_visit(session: AsyncSession, customer: Customer, node_id: uuid.UUID, owner: str, purpose: str,
                     planned_at: datetime, location: str | None, follow_up_of: uuid.UUID | None = None) -> Visit:
    visit = Visit(number=await next_number(session, "BF", await local_year(session, clock.utcnow())),
                  customer_id=customer.id, node_id=node_id, owner_id=owner, purpose=purpose, planned_at=planned_at,
                  location=location, status=VisitStatus.planned, follow_up_of_id=follow_up_of, needs=[],
                  objections=[], gifts=[])
    session.add(visit)
    await session.flush()
    await session.refresh(visit)
    await audit.record(session, action="interactions.visit.plan", entity_type=VISIT, entity_id=visit.id,
                       after=_snapshot(visit))
    return visit


async def create_visit(session: AsyncSession, authz: Authorizer, data: VisitCreate) -> Visit:
    customer, node = await customer_for(session, authz, data.customer_id, WRITE)
    owner = await staff_subject(session, data.owner_id, "ownerId") if data.owner_id else authz.principal.subject
    return await _new_visit(session, customer, node.id, owner, data.purpose, data.planned_at, data.location)


def _require_visit(visit: Visit, *states: VisitStatus) -> None:
    if visit.status not in states:
        raise _conflict(f"visit {visit.number}", visit.status.value,
                        f"only a {' or '.join(s.value for s in states)} visit can be changed so")


async def update_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: VisitUpdate) -> Visit:
    authz.require(WRITE, path)
    _require_visit(visit, VisitStatus.planned)
    changes = provided(data)
    if data.owner_id is not msgspec.UNSET:
        changes["owner_id"] = await staff_subject(session, data.owner_id, "ownerId")
    before = _snapshot(visit)
    for name, value in changes.items():
        setattr(visit, name, value)
    await session.flush()
    await session.refresh(visit)
    await audit.record(session, action="interactions.visit.update", entity_type=VISIT, entity_id=visit.id,
                       before=before, after=_snapshot(visit))
    return visit


async def record_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: VisitRecord) -> Visit:
    """The visit took place: what was heard and handed over; a next appointment plans the
    follow-up visit (same customer, same visitor)."""
    authz.require(WRITE, path)
    _require_visit(visit, VisitStatus.planned)
    await _consented(session, visit.customer_id, {"needs": data.needs, "objections": data.objections})
    before = _snapshot(visit)
    gifts, _ = gift_lines(data.gifts)
    visit.status, visit.visited_at = VisitStatus.visited, data.visited_at or clock.utcnow()
    visit.needs, visit.objections, visit.gifts = list(data.needs), list(data.objections), gifts
    visit.next_appointment_at, visit.notes = data.next_appointment_at, data.notes
    await session.flush()
    await session.refresh(visit)
    follow_up = None
    if data.next_appointment_at is not None:
        customer = await session.get(Customer, visit.customer_id)
        assert customer is not None  # a foreign key holds it
        follow_up = await _new_visit(session, customer, visit.node_id, visit.owner_id,
                                     f"Follow-up of {visit.number}: {visit.purpose}"[:500], data.next_appointment_at,
                                     visit.location, follow_up_of=visit.id)
    await audit.record(session, action="interactions.visit.record", entity_type=VISIT, entity_id=visit.id,
                       before=before, after=_snapshot(visit, followUp=str(follow_up.id) if follow_up else None))
    return visit


async def report_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: VisitReport) -> Visit:
    authz.require(WRITE, path)
    _require_visit(visit, VisitStatus.visited)
    before = _snapshot(visit)
    visit.status, visit.report, visit.reported_at = VisitStatus.reported, data.report, clock.utcnow()
    visit.expense_meals, visit.expense_transport, visit.expense_gifts, visit.expense_other = costs(data.expenses)
    await session.flush()
    await session.refresh(visit)
    await audit.record(session, action="interactions.visit.report", entity_type=VISIT, entity_id=visit.id,
                       before=before, after=_snapshot(visit))
    return visit


async def cancel_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: Cancellation) -> Visit:
    authz.require(WRITE, path)
    _require_visit(visit, VisitStatus.planned)
    before = _snapshot(visit)
    visit.status, visit.cancel_reason = VisitStatus.cancelled, data.reason
    await session.flush()
    await session.refresh(visit)
    await audit.record(session, action="interactions.visit.cancel", entity_type=VISIT, entity_id=visit.id,
                       before=before, after=_snapshot(visit), reason=data.reason)
    return visit


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


def _application_status(a: GiftApplication, request: RequestStatus | None) -> GiftApplicationStatus:
    return shown_status(a.stage.value, request)  # type: ignore[return-value]  # a member, as said above


def _budget(r: Reception) -> CostsOut:
    return CostsOut.of(r.budget_meals, r.budget_transport, r.budget_gifts, r.budget_other)


async def reception_out(session: AsyncSession, r: Reception) -> ReceptionOut:
    guests = (await session.scalars(select(ReceptionGuest).where(ReceptionGuest.reception_id == r.id)
                                    .order_by(ReceptionGuest.position))).all()
    budget = _budget(r)
    actual = None if r.stage is not ReceptionStage.reported else CostsOut.of(
        r.actual_meals, r.actual_transport, r.actual_gifts, r.actual_other)
    return ReceptionOut(
        id=r.id, number=r.number, kind=r.kind, node_id=r.node_id, applicant_id=r.applicant_id, title=r.title,
        purpose=r.purpose, venue=r.venue, scheduled_at=r.scheduled_at,
        guests=[GuestOut(name=g.name, role=g.role, organisation=g.organisation, customer_id=g.customer_id)
                for g in guests],
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
                  guests: Sequence[GuestIn]) -> list[ReceptionGuest]:
    rows = []
    for i, g in enumerate(guests):
        if g.customer_id is not None:
            await customer_for(session, authz, g.customer_id, WRITE, field=f"guests.{i}.customerId")
        rows.append(ReceptionGuest(reception_id=reception_id, position=i, name=g.name, organisation=g.organisation,
                                   role=g.role, customer_id=g.customer_id))
    return rows


def _guest_snapshot(guests: Sequence[ReceptionGuest]) -> list[dict[str, Any]]:
    return [{"name": g.name, "role": g.role.value, "customerId": str(g.customer_id) if g.customer_id else None}
            for g in guests]


async def create_reception(session: AsyncSession, authz: Authorizer, data: ReceptionCreate) -> Reception:
    node = await node_for(session, authz, data.node_id, WRITE, kinds=UNDER_BRANCH)
    meals, transport, gifts, other = costs(data.budget)
    reception = Reception(
        number=await next_number(session, "JD", await local_year(session, clock.utcnow())), kind=data.kind,
        node_id=node.id, applicant_id=authz.principal.subject, title=data.title, purpose=data.purpose,
        venue=data.venue, scheduled_at=data.scheduled_at, budget_meals=meals, budget_transport=transport,
        budget_gifts=gifts, budget_other=other, stage=ReceptionStage.draft)
    session.add(reception)
    await session.flush()
    guests = await _guests(session, authz, reception.id, data.guests)
    session.add_all(guests)
    await session.flush()
    await session.refresh(reception)
    await audit.record(session, action="interactions.reception.create", entity_type=RECEPTION,
                       entity_id=reception.id, after=_snapshot(reception, guests=_guest_snapshot(guests)))
    if data.submit:
        await submit_reception(session, authz, reception, node.path, Submission())
    return reception


def _revisable(reception: Reception, request_status: RequestStatus | None) -> bool:
    return reception.stage is ReceptionStage.draft or (
        reception.stage is ReceptionStage.submitted
        and request_status in (RequestStatus.rejected, RequestStatus.withdrawn))


async def update_reception(session: AsyncSession, authz: Authorizer, reception: Reception, path: str,
                           data: ReceptionUpdate) -> Reception:
    authz.require(WRITE, path)
    status = await request_status(session, reception.approval_request_id)
    if not _revisable(reception, status):
        raise _conflict(f"reception {reception.number}", shown_status(reception.stage.value, status),
                        "only a draft, or an application rejected or withdrawn, can be revised")
    changes = provided(data)
    before = _snapshot(reception)
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
        (reception.budget_meals, reception.budget_transport, reception.budget_gifts,
         reception.budget_other) = costs(data.budget)
    for name, value in changes.items():
        setattr(reception, name, value)
    reception.updated_at = clock.utcnow()  # the version moves even when only the guests changed
    await session.flush()
    await session.refresh(reception)
    after = _snapshot(reception, **({"guests": _guest_snapshot(guests)} if guests is not None else {}))
    await audit.record(session, action="interactions.reception.update", entity_type=RECEPTION,
                       entity_id=reception.id, before=before, after=after)
    return reception


async def submit_reception(session: AsyncSession, authz: Authorizer, reception: Reception, path: str,
                           data: Submission) -> Reception:
    """To approval: a draft or a withdrawn application as a new request, a rejected one as
    the next round of its request (by its submitter, the engine's rule)."""
    authz.require(WRITE, path)
    status = await request_status(session, reception.approval_request_id)
    if not _revisable(reception, status):
        raise _conflict(f"reception {reception.number}", shown_status(reception.stage.value, status),
                        "it is already under review or decided")
    total = _budget(reception).total
    before = _snapshot(reception)
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
    await session.flush()
    await session.refresh(reception)
    await audit.record(session, action="interactions.reception.submit", entity_type=RECEPTION,
                       entity_id=reception.id, before=before, after=_snapshot(reception), reason=data.note)
    return reception


async def report_reception(session: AsyncSession, authz: Authorizer, reception: Reception, path: str,
                           data: ReceptionReport) -> Reception:
    authz.require(WRITE, path)
    status = await request_status(session, reception.approval_request_id)
    if not (reception.stage is ReceptionStage.submitted and status is RequestStatus.approved):
        raise _conflict(f"reception {reception.number}", shown_status(reception.stage.value, status),
                        "only an approved reception is reported")
    before = _snapshot(reception)
    reception.stage, reception.held_at, reception.attendee_count = (ReceptionStage.reported, data.held_at,
                                                                    data.attendee_count)
    (reception.actual_meals, reception.actual_transport, reception.actual_gifts,
     reception.actual_other) = costs(data.actual)
    reception.summary, reception.reported_at = data.summary, clock.utcnow()
    await session.flush()
    await session.refresh(reception)
    await audit.record(session, action="interactions.reception.report", entity_type=RECEPTION,
                       entity_id=reception.id, before=before, after=_snapshot(reception))
    return reception


async def cancel_reception(session: AsyncSession, authz: Authorizer, reception: Reception, path: str,
                           data: Cancellation) -> Reception:
    authz.require(WRITE, path)
    status = await request_status(session, reception.approval_request_id)
    if reception.stage in (ReceptionStage.reported, ReceptionStage.cancelled) or status is RequestStatus.pending:
        hint = ("withdraw its approval request first" if status is RequestStatus.pending
                and reception.stage is ReceptionStage.submitted else "")
        raise _conflict(f"reception {reception.number}", shown_status(reception.stage.value, status), hint)
    before = _snapshot(reception)
    reception.stage, reception.cancel_reason = ReceptionStage.cancelled, data.reason
    await session.flush()
    await session.refresh(reception)
    await audit.record(session, action="interactions.reception.cancel", entity_type=RECEPTION,
                       entity_id=reception.id, before=before, after=_snapshot(reception), reason=data.reason)
    return reception


RECEPTION_RECORD = Approvable(Reception, key="receptionId", entity=RECEPTION, what="reception")


async def _reception_payload(session: AsyncSession, r: Reception) -> dict[str, Any]:
    """What the approvers decide on."""
    budget = _budget(r)
    guests = (await session.scalars(select(ReceptionGuest).where(ReceptionGuest.reception_id == r.id)
                                    .order_by(ReceptionGuest.position))).all()
    return {"receptionId": str(r.id), "number": r.number, "kind": r.kind.value, "title": r.title,
            "purpose": r.purpose, "venue": r.venue, "scheduledAt": r.scheduled_at.isoformat(),
            "budget": {k: str(v) for k, v in msgspec.structs.asdict(budget).items()},
            "guests": [{"name": g.name, "role": g.role.value, "organisation": g.organisation} for g in guests]}


RECEPTION_REQUEST = approvable_type(
    RECEPTION_TYPE, "Reception or hospitality application", RECEPTION_RECORD, describe=_reception_payload,
    # DOMAIN.md: approved by the customer-service manager, the GM and finance.
    default_chain=[
        {"name": "Customer service manager", "role": "cs_manager", "at": "branch"},
        {"name": "General manager", "role": "general_manager", "at": "branch"},
        {"name": "Finance", "role": "finance", "at": "branch"},
    ],
    default_roles={"cs_manager": "Customer service manager", "general_manager": "General manager",
                   "finance": "Finance"},
)


# -------------------------------------------------------------------------------- gifts

PLAN_SORT = {"createdAt": GiftPlan.created_at, "title": GiftPlan.title}
APPLICATION_SORT = {"createdAt": GiftApplication.created_at, "number": GiftApplication.number}


def _committing() -> ColumnElement[bool]:
    """Applications that hold a plan's budget: under review, approved, or issued."""
    return or_(GiftApplication.stage == GiftApplicationStage.issued,
               and_(GiftApplication.stage == GiftApplicationStage.submitted,
                    ApprovalRequest.status.in_([RequestStatus.pending, RequestStatus.approved])))


async def _committed(session: AsyncSession, plan_id: uuid.UUID, *, besides: uuid.UUID | None = None) -> Decimal:
    stmt = (select(func.coalesce(func.sum(GiftApplication.total), 0))
            .outerjoin(ApprovalRequest, ApprovalRequest.id == GiftApplication.approval_request_id)
            .where(GiftApplication.plan_id == plan_id, _committing()))
    if besides is not None:
        stmt = stmt.where(GiftApplication.id != besides)
    total = await session.scalar(stmt)  # never null: coalesce
    return Decimal(total or 0).quantize(ZERO)


async def get_gift_plan(session: AsyncSession, authz: Authorizer, plan_id: uuid.UUID, *,
                        lock: bool = False) -> tuple[GiftPlan, str]:
    return await get_at_node(session, authz, GiftPlan, plan_id, READ, "gift plan", lock=lock)


async def gift_plan_out(session: AsyncSession, p: GiftPlan) -> GiftPlanOut:
    committed = await _committed(session, p.id)
    return GiftPlanOut(id=p.id, node_id=p.node_id, title=p.title, occasion=p.occasion, items=gift_lines_out(p.items),
                       budget=p.budget, committed=committed, remaining=p.budget - committed, status=p.status,
                       created_at=p.created_at, version=p.version)


async def list_gift_plans(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                          status: GiftPlanStatus | None, node_id: uuid.UUID | None) -> Page[GiftPlanOut]:
    stmt: Select[Any] = select(GiftPlan).where(authz.visible(READ, GiftPlan.node_id))
    if status is not None:
        stmt = stmt.where(GiftPlan.status == status)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, GiftPlan.node_id, node_id))
    page = await paginate(session, stmt, params, sortable=PLAN_SORT, default_sort=["-createdAt"],
                          tiebreak=GiftPlan.id, to_schema=lambda p: p)
    return Page(items=[await gift_plan_out(session, p) for p in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def create_gift_plan(session: AsyncSession, authz: Authorizer, data: GiftPlanCreate) -> GiftPlan:
    node = await node_for(session, authz, data.node_id, WRITE)
    items, budget = gift_lines(data.items)
    plan = GiftPlan(node_id=node.id, title=data.title, occasion=data.occasion, items=items, budget=budget,
                    status=GiftPlanStatus.active)
    session.add(plan)
    await session.flush()
    await session.refresh(plan)
    await audit.record(session, action="interactions.gift_plan.create", entity_type=GIFT_PLAN, entity_id=plan.id,
                       after=_snapshot(plan))
    return plan


async def update_gift_plan(session: AsyncSession, authz: Authorizer, plan: GiftPlan, path: str,
                           data: GiftPlanUpdate) -> GiftPlan:
    authz.require(WRITE, path)
    changes = provided(data)
    before = _snapshot(plan)
    if data.items is not msgspec.UNSET:
        del changes["items"]
        plan.items, plan.budget = gift_lines(data.items)
        committed = await _committed(session, plan.id)
        if plan.budget < committed:
            raise ProblemError("conflict", f"Applications hold {committed} of this plan: its budget cannot fall below "
                                           "that.", errors=[field_error("items", f"total below {committed}")])
    for name, value in changes.items():
        setattr(plan, name, value)
    await session.flush()
    await session.refresh(plan)
    await audit.record(session, action="interactions.gift_plan.update", entity_type=GIFT_PLAN, entity_id=plan.id,
                       before=before, after=_snapshot(plan))
    return plan


async def get_gift_application(session: AsyncSession, authz: Authorizer, application_id: uuid.UUID, *,
                               lock: bool = False) -> tuple[GiftApplication, str]:
    return await get_at_node(session, authz, GiftApplication, application_id, READ, "gift application", lock=lock)


def _application_out(a: GiftApplication, request_status: RequestStatus | None) -> GiftApplicationOut:
    return GiftApplicationOut(
        id=a.id, number=a.number, node_id=a.node_id, applicant_id=a.applicant_id, plan_id=a.plan_id,
        customer_id=a.customer_id, visit_id=a.visit_id, recipient=a.recipient, purpose=a.purpose,
        items=gift_lines_out(a.items), total=a.total, status=_application_status(a, request_status),
        approval_request_id=a.approval_request_id, issued_at=a.issued_at, cancel_reason=a.cancel_reason,
        created_at=a.created_at, version=a.version)


async def gift_application_out(session: AsyncSession, a: GiftApplication) -> GiftApplicationOut:
    return _application_out(a, await request_status(session, a.approval_request_id))


async def list_gift_applications(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                                 status: str | None, plan_id: uuid.UUID | None, customer_id: uuid.UUID | None,
                                 node_id: uuid.UUID | None) -> Page[GiftApplicationOut]:
    stmt: Select[Any] = (select(GiftApplication)
                         .outerjoin(ApprovalRequest, ApprovalRequest.id == GiftApplication.approval_request_id)
                         .where(authz.visible(READ, GiftApplication.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(GiftApplication.stage, GiftApplicationStage, status))
    if plan_id is not None:
        stmt = stmt.where(GiftApplication.plan_id == plan_id)
    if customer_id is not None:
        stmt = stmt.where(GiftApplication.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, GiftApplication.node_id, node_id))
    return await page_with_request_status(session, stmt, params, sortable=APPLICATION_SORT,
                                          default_sort=["-createdAt"], tiebreak=GiftApplication.id,
                                          to_schema=_application_out)


APPLICATION_RECORD = Approvable(GiftApplication, key="applicationId", entity=GIFT_APPLICATION,
                                what="gift application")


async def _application_payload(session: AsyncSession, a: GiftApplication) -> dict[str, Any]:
    """What the approvers decide on; a plan's budget must still hold it (checked again on
    every submission, since other applications may have drawn on the plan meanwhile)."""
    if a.plan_id is not None:
        plan = await session.scalar(select(GiftPlan).where(GiftPlan.id == a.plan_id).with_for_update())
        assert plan is not None  # a foreign key holds it
        if plan.status is not GiftPlanStatus.active:
            raise ProblemError("conflict", f"The gift plan {plan.title!r} is closed.",
                               errors=[field_error("planId", "closed")])
        left = plan.budget - await _committed(session, plan.id, besides=a.id)
        if a.total > left:
            raise ProblemError("conflict", f"The gift plan {plan.title!r} has {left} left; this application needs "
                                           f"{a.total}.", errors=[field_error("items", f"more than the {left} left")])
    return {"applicationId": str(a.id), "number": a.number, "recipient": a.recipient, "purpose": a.purpose,
            "planId": str(a.plan_id) if a.plan_id else None, "items": a.items, "total": str(a.total)}


GIFT_REQUEST = approvable_type(
    GIFT_TYPE, "Gift application", APPLICATION_RECORD, describe=_application_payload,
    default_chain=[{"name": "Customer service manager", "role": "cs_manager", "at": "branch"}],
    default_roles={"cs_manager": "Customer service manager"},
)


async def create_gift_application(session: AsyncSession, authz: Authorizer,
                                  data: GiftApplicationCreate) -> GiftApplication:
    node = await node_for(session, authz, data.node_id, WRITE, kinds=UNDER_BRANCH)
    if data.plan_id is not None:
        plan, plan_path = await _named(get_at_node(session, authz, GiftPlan, data.plan_id, READ, "gift plan"),
                                       "planId")
        if not (node.path == plan_path or node.path.startswith(plan_path + "/")):
            raise ProblemError("validation", f"The gift plan {plan.title!r} does not cover this node.",
                               errors=[field_error("planId", "its node is not the application's or above it")])
    if data.customer_id is not None:
        await customer_for(session, authz, data.customer_id, WRITE)
    if data.visit_id is not None:
        visit, _ = await _named(get_at_node(session, authz, Visit, data.visit_id, READ, "visit"), "visitId")
        if data.customer_id is not None and visit.customer_id != data.customer_id:
            raise ProblemError("validation", f"Visit {visit.number} was to another customer.",
                               errors=[field_error("visitId", "a visit to another customer")])
    items, total = gift_lines(data.items)
    application = GiftApplication(
        number=await next_number(session, "LP", await local_year(session, clock.utcnow())), node_id=node.id,
        applicant_id=authz.principal.subject, plan_id=data.plan_id, customer_id=data.customer_id,
        visit_id=data.visit_id, recipient=data.recipient, purpose=data.purpose, items=items, total=total,
        stage=GiftApplicationStage.submitted)
    session.add(application)
    await session.flush()
    request = await approvals.create_request(
        session, request_type=GIFT_TYPE, title=f"{application.number} {data.recipient}"[:300],
        payload={"applicationId": str(application.id)}, amount=total, reason=data.purpose)
    application.approval_request_id = request.id
    await session.flush()
    await session.refresh(application)
    await audit.record(session, action="interactions.gift_application.create", entity_type=GIFT_APPLICATION,
                       entity_id=application.id, after=_snapshot(application))
    return application


async def issue_gifts(session: AsyncSession, authz: Authorizer, application: GiftApplication, path: str,
                      data: Issue) -> GiftApplication:
    authz.require(WRITE, path)
    status = await request_status(session, application.approval_request_id)
    if not (application.stage is GiftApplicationStage.submitted and status is RequestStatus.approved):
        raise _conflict(f"gift application {application.number}", shown_status(application.stage.value, status),
                        "only an approved application is issued")
    before = _snapshot(application)
    application.stage, application.issued_at = GiftApplicationStage.issued, data.issued_at or clock.utcnow()
    await session.flush()
    await session.refresh(application)
    await audit.record(session, action="interactions.gift_application.issue", entity_type=GIFT_APPLICATION,
                       entity_id=application.id, before=before, after=_snapshot(application))
    return application


async def cancel_gift_application(session: AsyncSession, authz: Authorizer, application: GiftApplication,
                                  path: str, data: Cancellation) -> GiftApplication:
    authz.require(WRITE, path)
    status = await request_status(session, application.approval_request_id)
    if application.stage is not GiftApplicationStage.submitted or status is RequestStatus.pending:
        hint = "withdraw its approval request first" if status is RequestStatus.pending else ""
        raise _conflict(f"gift application {application.number}", shown_status(application.stage.value, status),
                        hint)
    before = _snapshot(application)
    application.stage, application.cancel_reason = GiftApplicationStage.cancelled, data.reason
    await session.flush()
    await session.refresh(application)
    await audit.record(session, action="interactions.gift_application.cancel", entity_type=GIFT_APPLICATION,
                       entity_id=application.id, before=before, after=_snapshot(application), reason=data.reason)
    return application


# -------------------------------------------------------------------------------- calls

CALL_SORT = {"startedAt": Call.started_at, "createdAt": Call.created_at}


async def get_call(session: AsyncSession, authz: Authorizer, call_id: uuid.UUID) -> tuple[Call, str]:
    return await get_at_node(session, authz, Call, call_id, READ, "call")


@dataclass
class _Outcome:
    outcome: CallOutcome
    interests: list[str]
    objections: list[str]
    failure_reason: Any = None
    callback_at: datetime | None = None


def _outcome(data: CallCreate) -> _Outcome:
    o = data.outcome
    if isinstance(o, Interested):
        return _Outcome(CallOutcome.interested, list(o.interests), [])
    if isinstance(o, NotInterested):
        return _Outcome(CallOutcome.not_interested, [], list(o.objections))
    if isinstance(o, Callback):
        return _Outcome(CallOutcome.callback, [], [], callback_at=o.callback_at)
    if isinstance(o, Failed):
        return _Outcome(CallOutcome.failed, [], [], failure_reason=o.reason)
    return _Outcome(CallOutcome.resolved, [], [])


async def call_out(session: AsyncSession, c: Call) -> CallOut:
    keys = await tenant_keys(session)
    phone = keys.open(PHONE, c.phone_sealed) if c.phone_sealed else None
    return CallOut(id=c.id, direction=c.direction, customer_id=c.customer_id, contact_note=c.contact_note,
                   phone=mask_phone(phone) if phone else None, node_id=c.node_id, agent_id=c.agent_id,
                   started_at=c.started_at, duration_seconds=c.duration_seconds, subject=c.subject, notes=c.notes,
                   outcome=c.outcome, interests=list(c.interests or []), objections=list(c.objections or []),
                   failure_reason=c.failure_reason, callback_at=c.callback_at, inquiry_id=c.inquiry_id,
                   created_at=c.created_at, version=c.version)


async def list_calls(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                     direction: CallDirection | None, outcome: CallOutcome | None, customer_id: uuid.UUID | None,
                     node_id: uuid.UUID | None, mine: bool | None, started_from: datetime | None,
                     started_to: datetime | None) -> Page[CallOut]:
    stmt: Select[Any] = select(Call).where(authz.visible(READ, Call.node_id))
    if direction is not None:
        stmt = stmt.where(Call.direction == direction)
    if outcome is not None:
        stmt = stmt.where(Call.outcome == outcome)
    if customer_id is not None:
        stmt = stmt.where(Call.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Call.node_id, node_id))
    if mine is not None:
        me = Call.agent_id == authz.principal.subject
        stmt = stmt.where(me if mine else ~me)
    if started_from is not None:
        stmt = stmt.where(Call.started_at >= started_from)
    if started_to is not None:
        stmt = stmt.where(Call.started_at < started_to)
    page = await paginate(session, stmt, params, sortable=CALL_SORT, default_sort=["-startedAt"], tiebreak=Call.id,
                          to_schema=lambda c: c)
    return Page(items=[await call_out(session, c) for c in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def _inquiry_for(session: AsyncSession, authz: Authorizer, inquiry_id: uuid.UUID) -> None:
    path = await session.scalar(select(OrgNode.path).join(Inquiry, Inquiry.node_id == OrgNode.id)
                                .where(Inquiry.id == inquiry_id))
    if path is None or not (authz.can(INQUIRIES_READ, path) or authz.can(WRITE, path)):
        raise ProblemError("not-found", f"No inquiry with id {inquiry_id}.",
                           errors=[field_error("inquiryId", "no such inquiry")])


async def create_call(session: AsyncSession, authz: Authorizer, data: CallCreate) -> Call:
    if data.customer_id is not None:
        _, node = await customer_for(session, authz, data.customer_id, WRITE)
        if data.node_id is not None and data.node_id != node.id:
            raise ProblemError("validation", "A known customer's call sits where the customer does.",
                               errors=[field_error("nodeId", f"the customer sits at {node.id}: leave it out")])
    elif data.node_id is not None:
        node = await node_for(session, authz, data.node_id, WRITE)
    else:
        node = await org.get_root(session)
        authz.require(WRITE, node.path)
    if data.inquiry_id is not None:
        await _inquiry_for(session, authz, data.inquiry_id)
    outcome = _outcome(data)
    await _consented(session, data.customer_id, {"outcome.interests": outcome.interests,
                                                 "outcome.objections": outcome.objections})
    sealed = index = None
    if data.phone is not None:
        keys = await tenant_keys(session)
        number = normalise_phone(data.phone, "phone")
        sealed, index = keys.seal(PHONE, number), keys.blind_index(IX_PHONE, number)
    call = Call(direction=data.direction, customer_id=data.customer_id, contact_note=data.contact_note,
                phone_sealed=sealed, phone_index=index, node_id=node.id, agent_id=authz.principal.subject,
                started_at=data.started_at, duration_seconds=data.duration_seconds, subject=data.subject,
                notes=data.notes, outcome=outcome.outcome, interests=outcome.interests,
                objections=outcome.objections, failure_reason=outcome.failure_reason,
                callback_at=outcome.callback_at, inquiry_id=data.inquiry_id)
    session.add(call)
    await session.flush()
    await session.refresh(call)
    await audit.record(session, action="interactions.call.log", entity_type=CALL, entity_id=call.id,
                       after=_snapshot(call, phone=mask_phone(data.phone) if data.phone else None))
    return call


# ---------------------------------------------------------------------------- org hooks


@org.live_records("interactions")
async def _interactions_at(session: AsyncSession, holder: org.Holder) -> str | None:
    return await records_at(session, holder, [(Visit, "visits"), (Reception, "receptions"), (GiftPlan, "gift plans"),
                                              (GiftApplication, "gift applications"), (Call, "calls")])


REQUEST_TYPES = [RECEPTION_REQUEST, GIFT_REQUEST]  # the domain's declaration names this list
