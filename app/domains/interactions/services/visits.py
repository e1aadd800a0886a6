"""Visits (seed 000 §22 客户拜访管理流程): planned for a customer, applied for through the
``visit_application`` approval chain, made once approved (needs, objections, gifts, the next
appointment), reported with their expenses, reimbursed by finance; or cancelled.
"""

from __future__ import annotations

import uuid
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
from app.domains.access.records import get_at_node, subtree_filter
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
from app.domains.customers.models import Customer
from app.domains.interactions.models import Visit, VisitStatus
from app.domains.interactions.schemas import (
    Cancellation,
    CostsOut,
    Reimbursement,
    Submission,
    VisitCreate,
    VisitOut,
    VisitRecord,
    VisitReport,
    VisitShownStatus,
    VisitSummary,
    VisitUpdate,
    costs,
    gift_lines,
    gift_lines_out,
)
from app.domains.interactions.services.common import (
    READ,
    REIMBURSE,
    VISIT,
    VISIT_TYPE,
    WRITE,
    conflict,
    require_consent,
    trail_snapshot,
)
from app.tenants.bound import local_year

# ------------------------------------------------------------------------------- visits

VISIT_SORT = {"plannedAt": Visit.planned_at, "createdAt": Visit.created_at, "number": Visit.number}


async def get_visit(session: AsyncSession, authz: Authorizer, visit_id: uuid.UUID, *,
                    lock: bool = False) -> tuple[Visit, str]:
    return await get_at_node(session, authz, Visit, visit_id, READ, "visit", lock=lock)


# shown_status gives the stage, or while under review the request's status: each a member of
# VisitShownStatus.
def _shown(v: Visit, request: RequestStatus | None) -> VisitShownStatus:
    return shown_status(v.status.value, request)  # type: ignore[return-value]  # a member, as said above


async def visit_out(session: AsyncSession, v: Visit) -> VisitOut:
    follow_up = await session.scalar(select(Visit.id).where(Visit.follow_up_of_id == v.id)
                                     .order_by(Visit.created_at).limit(1))
    expenses = None if v.status is not VisitStatus.reported else _expenses(v)
    return VisitOut(id=v.id, number=v.number, customer_id=v.customer_id, node_id=v.node_id, owner_id=v.owner_id,
                    purpose=v.purpose, planned_at=v.planned_at, location=v.location,
                    status=_shown(v, await request_status(session, v.approval_request_id)),
                    approval_request_id=v.approval_request_id,
                    follow_up_of_id=v.follow_up_of_id, follow_up_id=follow_up, visited_at=v.visited_at,
                    needs=list(v.needs or []), objections=list(v.objections or []), gifts=gift_lines_out(v.gifts),
                    next_appointment_at=v.next_appointment_at, notes=v.notes, report=v.report,
                    reported_at=v.reported_at, expenses=expenses, reimbursed_at=v.reimbursed_at,
                    reimbursed_by=v.reimbursed_by, reimbursed_amount=v.reimbursed_amount,
                    cancel_reason=v.cancel_reason, created_at=v.created_at, version=v.version)


def _expenses(v: Visit) -> CostsOut:
    return CostsOut.of(v.expense_meals, v.expense_transport, v.expense_gifts, v.expense_other)


def _visit_summary(v: Visit, request: RequestStatus | None) -> VisitSummary:
    return VisitSummary(id=v.id, number=v.number, customer_id=v.customer_id, node_id=v.node_id, owner_id=v.owner_id,
                        purpose=v.purpose, planned_at=v.planned_at, status=_shown(v, request), version=v.version)


async def list_visits(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                      customer_id: uuid.UUID | None, node_id: uuid.UUID | None, mine: bool | None,
                      planned_from: datetime | None, planned_to: datetime | None) -> Page[VisitSummary]:
    stmt: Select[Any] = (select(Visit).outerjoin(ApprovalRequest, ApprovalRequest.id == Visit.approval_request_id)
                         .where(authz.visible(READ, Visit.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(Visit.status, VisitStatus, status))
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
    return await page_with_request_status(session, stmt, params, sortable=VISIT_SORT, default_sort=["plannedAt"],
                                          tiebreak=Visit.id, to_schema=_visit_summary)


async def _new_visit(session: AsyncSession, customer: Customer, node_id: uuid.UUID, owner: str, purpose: str,
                     planned_at: datetime, location: str | None, follow_up_of: uuid.UUID | None = None) -> Visit:
    visit = Visit(number=await next_number(session, "BF", await local_year(session, clock.utcnow())),
                  customer_id=customer.id, node_id=node_id, owner_id=owner, purpose=purpose, planned_at=planned_at,
                  location=location, status=VisitStatus.planned, follow_up_of_id=follow_up_of, needs=[],
                  objections=[], gifts=[])
    session.add(visit)
    return await saved(session, visit, "interactions.visit.plan", VISIT, snapshot=trail_snapshot)


async def create_visit(session: AsyncSession, authz: Authorizer, data: VisitCreate) -> Visit:
    customer, node = await customer_for(session, authz, data.customer_id, WRITE)
    owner = await staff_subject(session, data.owner_id, "ownerId") if data.owner_id else authz.principal.subject
    visit = await _new_visit(session, customer, node.id, owner, data.purpose, data.planned_at, data.location)
    if data.submit:
        await apply_for_visit(session, authz, visit, node.path, Submission())
    return visit


def _label(visit: Visit) -> str:
    return f"visit {visit.number}"


async def update_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: VisitUpdate) -> Visit:
    authz.require(WRITE, path)
    status = await request_status(session, visit.approval_request_id)
    if not revisable(visit.status, VisitStatus.planned, VisitStatus.submitted, status):
        raise conflict(_label(visit), _shown(visit, status),
                       "only a planned visit, or one whose application was rejected or withdrawn, is changed")
    changes = provided(data)
    if data.owner_id is not msgspec.UNSET:
        changes["owner_id"] = await staff_subject(session, data.owner_id, "ownerId")
    before = trail_snapshot(visit)
    for name, value in changes.items():
        setattr(visit, name, value)
    visit.updated_at = clock.utcnow()
    return await saved(session, visit, "interactions.visit.update", VISIT, before=before, snapshot=trail_snapshot)


async def apply_for_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                          data: Submission) -> Visit:
    """The visit application (seed 000 §22 ② 提出《拜访申请》) to approval: a planned visit or a
    withdrawn application as a new request, a rejected one as the next round of its request."""
    authz.require(WRITE, path)
    status = await request_status(session, visit.approval_request_id)
    if not revisable(visit.status, VisitStatus.planned, VisitStatus.submitted, status):
        raise conflict(_label(visit), _shown(visit, status), "its application is already under review or decided")
    before = trail_snapshot(visit)
    if status is RequestStatus.rejected:
        assert visit.approval_request_id is not None
        await approvals.resubmit(session, visit.approval_request_id,
                                 Resubmission(reason=data.note or "Revised and submitted again."))
    else:
        request = await approvals.create_request(
            session, request_type=VISIT_TYPE, title=f"{visit.number} {visit.purpose}"[:300],
            payload={"visitId": str(visit.id)}, reason=data.note)
        visit.approval_request_id = request.id
    visit.status = VisitStatus.submitted
    visit.updated_at = clock.utcnow()
    return await saved(session, visit, "interactions.visit.apply", VISIT, before=before, snapshot=trail_snapshot,
                       reason=data.note)


async def record_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: VisitRecord) -> Visit:
    """The visit took place, its application approved first (seed 000 §22: application, approval,
    then the visit): what was heard and handed over; a next appointment plans the follow-up
    visit (same customer, same visitor), which is applied for in its turn."""
    authz.require(WRITE, path)
    status = await request_status(session, visit.approval_request_id)
    if not (visit.status is VisitStatus.submitted and status is RequestStatus.approved):
        raise conflict(_label(visit), _shown(visit, status),
                       "a visit is made once its application was approved (seed 000 §22 ②)")
    await require_consent(session, visit.customer_id, {"needs": data.needs, "objections": data.objections})
    before = trail_snapshot(visit)
    gifts, _ = gift_lines(data.gifts)
    visit.status = VisitStatus.visited
    visit.visited_at = data.visited_at or clock.utcnow()
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
                       before=before, after=trail_snapshot(visit, followUp=str(follow_up.id) if follow_up else None))
    return visit


async def report_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: VisitReport) -> Visit:
    authz.require(WRITE, path)
    if visit.status is not VisitStatus.visited:
        status = await request_status(session, visit.approval_request_id)
        raise conflict(_label(visit), _shown(visit, status), "only a visit made is reported")
    before = trail_snapshot(visit)
    visit.status = VisitStatus.reported
    visit.report, visit.reported_at = data.report, clock.utcnow()
    visit.expense_meals, visit.expense_transport, visit.expense_gifts, visit.expense_other = costs(data.expenses)
    return await saved(session, visit, "interactions.visit.report", VISIT, before=before, snapshot=trail_snapshot)


async def reimburse_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                          data: Reimbursement) -> Visit:
    """Finance pays back the reported expenses, once (seed 000 §22 ⑩ 费用报销, 财务部)."""
    authz.require(REIMBURSE, path)
    if visit.reimbursed_at is not None or visit.status is not VisitStatus.reported:
        state = "reimbursed" if visit.reimbursed_at is not None else _shown(
            visit, await request_status(session, visit.approval_request_id))
        raise conflict(_label(visit), state, "finance reimburses a visit's expenses once, after its report")
    before = trail_snapshot(visit)
    visit.reimbursed_at, visit.reimbursed_by = clock.utcnow(), authz.principal.subject
    visit.reimbursed_amount = _expenses(visit).total
    return await saved(session, visit, "interactions.visit.reimburse", VISIT, before=before, snapshot=trail_snapshot,
                       reason=data.note)


async def cancel_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: Cancellation) -> Visit:
    """A visit not yet made is cancelled; one whose application is pending has it withdrawn first."""
    authz.require(WRITE, path)
    status = await request_status(session, visit.approval_request_id)
    if visit.status not in (VisitStatus.planned, VisitStatus.submitted) or status is RequestStatus.pending:
        hint = "withdraw its application's approval request first" if status is RequestStatus.pending else ""
        raise conflict(_label(visit), _shown(visit, status), hint)
    before = trail_snapshot(visit)
    visit.status = VisitStatus.cancelled
    visit.cancel_reason = data.reason
    return await saved(session, visit, "interactions.visit.cancel", VISIT, before=before, snapshot=trail_snapshot,
                       reason=data.reason)


# ------------------------------------------------------------------ the visit application

VISIT_RECORD = Approvable(Visit, key="visitId", entity=VISIT, what="visit")


async def _visit_payload(session: AsyncSession, v: Visit) -> dict[str, Any]:
    """What the approvers decide on: who visits whom, when, where and why."""
    customer = await session.get(Customer, v.customer_id)
    return {"visitId": str(v.id), "number": v.number, "customer": customer.name if customer else None,
            "ownerId": v.owner_id, "purpose": v.purpose, "plannedAt": v.planned_at.isoformat(),
            "location": v.location}


# Seed 000 §22 客户拜访管理流程: the application (②) is decided by the customer relations
# supervisor (客户关系主管) within their authority (权限内), beyond it by the customer service
# manager (客户服务部经理): a step taken when the supervisor refers it on.
VISIT_CHAIN: list[dict[str, Any]] = [
    {"name": "Customer relations supervisor", "role": "cr_supervisor", "at": "branch"},
    {"name": "Customer service manager", "role": "cs_manager", "at": "branch", "when": "referred"},
]

VISIT_REQUEST = approvable_type(
    VISIT_TYPE, "Visit application", VISIT_RECORD, describe=_visit_payload, default_chain=VISIT_CHAIN,
    default_roles={"cr_supervisor": "Customer relations supervisor", "cs_manager": "Customer service manager"},
)
