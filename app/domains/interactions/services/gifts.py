"""Gift plans (an occasion's budget) and gift applications drawing on them, decided by the
gift_application approval chain and issued once approved.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
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
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.customers.lookups import customer_for
from app.domains.interactions.models import GiftApplication, GiftApplicationStage, GiftPlan, GiftPlanStatus, Visit
from app.domains.interactions.schemas import (
    Cancellation,
    GiftApplicationCreate,
    GiftApplicationOut,
    GiftApplicationStatus,
    GiftLine,
    GiftPlanCreate,
    GiftPlanCustomer,
    GiftPlanCustomerOut,
    GiftPlanOut,
    GiftPlanUpdate,
    Issue,
    gift_lines,
    gift_lines_out,
)
from app.domains.interactions.services.common import (
    GIFT_APPLICATION,
    GIFT_PLAN,
    GIFT_TYPE,
    READ,
    UNDER_BRANCH,
    WRITE,
    ZERO,
    conflict,
    named,
    trail_snapshot,
)
from app.tenants.bound import local_year


# shown_status (shared by every record an approval decides) gives a str: the record's stage, or
# while under review its request's status, each a member of the record's status Literal.
def _application_status(a: GiftApplication, request: RequestStatus | None) -> GiftApplicationStatus:
    return shown_status(a.stage.value, request)  # type: ignore[return-value]  # a member, as said above


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


def _customer_lines_out(stored: list[dict[str, Any]]) -> list[GiftPlanCustomerOut]:
    return [GiftPlanCustomerOut(customer_id=uuid.UUID(c["customerId"]), customer_number=c["customerNumber"],
                                industry=c["industry"], contact=c["contact"], cooperation=c["cooperation"],
                                purpose=c["purpose"], items=gift_lines_out(c["items"]), budget=Decimal(c["budget"]),
                                note=c.get("note")) for c in stored]


async def _plan_lines(session: AsyncSession, authz: Authorizer, items: list[GiftLine],
                      customers: list[GiftPlanCustomer]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Decimal]:
    """A plan's lines as stored and its budget: the items' and each customer's gifts' total.
    Each customer must be one the caller may read or plan for (404 naming the line)."""
    if not items and not customers:
        raise ProblemError("validation", "A gift plan needs gifts: items, or customers' lines.",
                           errors=[field_error("items", "no items and no customers' lines")])
    stored_items, budget = gift_lines(items)
    lines = []
    for i, c in enumerate(customers):
        customer, _ = await customer_for(session, authz, c.customer_id, WRITE, field=f"customers.{i}.customerId")
        gifts, total = gift_lines(c.items)
        lines.append({"customerId": str(customer.id), "customerNumber": customer.number, "industry": c.industry,
                      "contact": c.contact, "cooperation": c.cooperation, "purpose": c.purpose, "items": gifts,
                      "budget": str(total), "note": c.note})
        budget += total
    return stored_items, lines, budget


async def gift_plan_out(session: AsyncSession, p: GiftPlan) -> GiftPlanOut:
    committed = await _committed(session, p.id)
    return GiftPlanOut(id=p.id, node_id=p.node_id, title=p.title, occasion=p.occasion, items=gift_lines_out(p.items),
                       customers=_customer_lines_out(p.customer_lines), budget=p.budget, committed=committed,
                       remaining=p.budget - committed, status=p.status,
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
    items, lines, budget = await _plan_lines(session, authz, data.items, data.customers)
    plan = GiftPlan(node_id=node.id, title=data.title, occasion=data.occasion, items=items, customer_lines=lines,
                    budget=budget, status=GiftPlanStatus.active)
    session.add(plan)
    return await saved(session, plan, "interactions.gift_plan.create", GIFT_PLAN, snapshot=trail_snapshot)


async def update_gift_plan(session: AsyncSession, authz: Authorizer, plan: GiftPlan, path: str,
                           data: GiftPlanUpdate) -> GiftPlan:
    authz.require(WRITE, path)
    changes = provided(data)
    before = trail_snapshot(plan)
    if data.items is not msgspec.UNSET or data.customers is not msgspec.UNSET:
        changes.pop("items", None)
        changes.pop("customers", None)
        items = data.items if data.items is not msgspec.UNSET else [msgspec.convert(g, GiftLine)
                                                                    for g in plan.items]
        customers = (data.customers if data.customers is not msgspec.UNSET else
                     [msgspec.convert({k: v for k, v in c.items() if k not in ("customerNumber", "budget")},
                                      GiftPlanCustomer) for c in plan.customer_lines])
        plan.items, plan.customer_lines, plan.budget = await _plan_lines(session, authz, items, customers)
        committed = await _committed(session, plan.id)
        if plan.budget < committed:
            raise ProblemError("conflict", f"Applications hold {committed} of this plan: its budget cannot fall below "
                                           "that.", errors=[field_error("items", f"total below {committed}")])
    for name, value in changes.items():
        setattr(plan, name, value)
    return await saved(session, plan, "interactions.gift_plan.update", GIFT_PLAN, before=before,
                       snapshot=trail_snapshot)


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
    # Seed 000 §20 礼品馈赠申请表: 部门主管, 礼品管理人员, 办公室主任, 副经理 sign in turn.
    default_chain=[
        {"name": "Department supervisor (部门主管)", "role": "department_supervisor", "at": "branch"},
        {"name": "Gift administrator (礼品管理人员)", "role": "gift_administrator", "at": "branch"},
        {"name": "Office director (办公室主任)", "role": "office_director", "at": "branch"},
        {"name": "Deputy manager (副经理)", "role": "deputy_manager", "at": "branch"},
    ],
    default_roles={"department_supervisor": "Department supervisor",
                   "gift_administrator": "礼品管理人员 Gift administrator",
                   "office_director": "办公室主任 Office director", "deputy_manager": "副经理 Deputy manager"},
    replaces=[[{"name": "Customer service manager", "role": "cs_manager", "at": "branch"}]],
)


async def create_gift_application(session: AsyncSession, authz: Authorizer,
                                  data: GiftApplicationCreate) -> GiftApplication:
    node = await node_for(session, authz, data.node_id, WRITE, kinds=UNDER_BRANCH)
    if data.plan_id is not None:
        plan, plan_path = await named(get_at_node(session, authz, GiftPlan, data.plan_id, READ, "gift plan"),
                                       "planId")
        if not (node.path == plan_path or node.path.startswith(plan_path + "/")):
            raise ProblemError("validation", f"The gift plan {plan.title!r} does not cover this node.",
                               errors=[field_error("planId", "its node is not the application's or above it")])
    if data.customer_id is not None:
        await customer_for(session, authz, data.customer_id, WRITE)
    if data.visit_id is not None:
        visit, _ = await named(get_at_node(session, authz, Visit, data.visit_id, READ, "visit"), "visitId")
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
    return await saved(session, application, "interactions.gift_application.create", GIFT_APPLICATION,
                       snapshot=trail_snapshot)


async def issue_gifts(session: AsyncSession, authz: Authorizer, application: GiftApplication, path: str,
                      data: Issue) -> GiftApplication:
    authz.require(WRITE, path)
    status = await request_status(session, application.approval_request_id)
    if not (application.stage is GiftApplicationStage.submitted and status is RequestStatus.approved):
        raise conflict(f"gift application {application.number}", shown_status(application.stage.value, status),
                        "only an approved application is issued")
    before = trail_snapshot(application)
    application.stage, application.issued_at = GiftApplicationStage.issued, data.issued_at or clock.utcnow()
    return await saved(session, application, "interactions.gift_application.issue", GIFT_APPLICATION, before=before,
                       snapshot=trail_snapshot)


async def cancel_gift_application(session: AsyncSession, authz: Authorizer, application: GiftApplication,
                                  path: str, data: Cancellation) -> GiftApplication:
    authz.require(WRITE, path)
    status = await request_status(session, application.approval_request_id)
    if application.stage is not GiftApplicationStage.submitted or status is RequestStatus.pending:
        hint = "withdraw its approval request first" if status is RequestStatus.pending else ""
        raise conflict(f"gift application {application.number}", shown_status(application.stage.value, status),
                        hint)
    before = trail_snapshot(application)
    application.stage, application.cancel_reason = GiftApplicationStage.cancelled, data.reason
    return await saved(session, application, "interactions.gift_application.cancel", GIFT_APPLICATION, before=before,
                       snapshot=trail_snapshot, reason=data.reason)
