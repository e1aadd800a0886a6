"""Credit limits: the limit in force, and its change applications decided by the
credit_limit_change approval chain.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.ids import new_id
from app.core.notify import queue_messages
from app.core.numbering import next_number
from app.core.pagination import PageParams
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import page_with_request_status, request_status
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.registry import request_type
from app.domains.customers.models import Customer
from app.domains.customers.services import customer_reach
from app.domains.grading.models import CreditChange
from app.domains.grading.schemas import CreditChangeIn, CreditChangeOut
from app.domains.grading.services.common import (
    CENT,
    CREDIT,
    CREDIT_CHANGE,
    CREDIT_TYPE,
    CUSTOMER,
    READ,
    get_customer,
    require_live,
)
from app.tenants.bound import local_year, tenant_id

# ------------------------------------------------------------------------------- credit

CREDIT_SORT = {"createdAt": CreditChange.created_at, "number": CreditChange.number}


APPLIED_LIMITS = (select(CreditChange.customer_id.label("cid"), CreditChange.requested_limit.label("limit"))
                   .where(CreditChange.applied_at.is_not(None))
                   .order_by(CreditChange.customer_id, CreditChange.applied_at.desc())
                   .distinct(CreditChange.customer_id).subquery("applied_limits"))


async def credit_limits(session: AsyncSession, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """Each customer's credit limit: the requested limit of their most recently applied change."""
    if not customer_ids:
        return {}
    rows = (await session.execute(select(APPLIED_LIMITS).where(APPLIED_LIMITS.c.cid.in_(customer_ids)))).all()
    return dict(rows)


async def payment_days(session: AsyncSession, customer_id: uuid.UUID) -> int | None:
    """The customer's payment period (账期, days): that of their most recently applied change."""
    return await session.scalar(select(CreditChange.requested_payment_days).where(
        CreditChange.customer_id == customer_id, CreditChange.applied_at.is_not(None))
        .order_by(CreditChange.applied_at.desc()).limit(1))


async def pending_change(session: AsyncSession, customer_id: uuid.UUID,
                          besides: uuid.UUID | None = None) -> uuid.UUID | None:
    stmt = (select(CreditChange.id).join(ApprovalRequest, ApprovalRequest.id == CreditChange.approval_request_id)
            .where(CreditChange.customer_id == customer_id, ApprovalRequest.status == RequestStatus.pending))
    if besides is not None:
        stmt = stmt.where(CreditChange.id != besides)
    return await session.scalar(stmt.limit(1))


async def get_credit_change(session: AsyncSession, authz: Authorizer, change_id: uuid.UUID) -> tuple[CreditChange, str]:
    return await get_at_node(session, authz, CreditChange, change_id, READ, "credit-limit change")


def _change_out(c: CreditChange, status: RequestStatus | None) -> CreditChangeOut:
    assert status is not None  # a credit change is made with its request (a foreign key holds it)
    return CreditChangeOut(id=c.id, number=c.number, customer_id=c.customer_id, node_id=c.node_id,
                           applicant_id=c.applicant_id, previous_limit=c.previous_limit,
                           requested_limit=c.requested_limit, previous_payment_days=c.previous_payment_days,
                           requested_payment_days=c.requested_payment_days, reason=c.reason, status=status,
                           approval_request_id=c.approval_request_id, applied_at=c.applied_at,
                           notified_via=c.notified_via, created_at=c.created_at, version=c.version)


async def credit_change_out(session: AsyncSession, c: CreditChange) -> CreditChangeOut:
    return _change_out(c, await request_status(session, c.approval_request_id))


async def list_credit_changes(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                              status: RequestStatus | None, customer_id: uuid.UUID | None,
                              node_id: uuid.UUID | None) -> Page[CreditChangeOut]:
    stmt: Select[Any] = (select(CreditChange)
                         .join(ApprovalRequest, ApprovalRequest.id == CreditChange.approval_request_id)
                         .where(authz.visible(READ, CreditChange.node_id)))
    if status is not None:
        stmt = stmt.where(ApprovalRequest.status == status)
    if customer_id is not None:
        stmt = stmt.where(CreditChange.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, CreditChange.node_id, node_id))
    return await page_with_request_status(session, stmt, params, sortable=CREDIT_SORT, default_sort=["-createdAt"],
                                          tiebreak=CreditChange.id, to_schema=_change_out)


async def apply_for_credit(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID,
                           data: CreditChangeIn) -> CreditChange:
    """An application for a new credit limit, sent to the chain at once. One at a time per
    customer (409 while another is under review): the customer row is locked meanwhile."""
    customer, path = await get_customer(session, authz, customer_id, lock=True)
    authz.require(CREDIT, path)
    require_live(customer)
    pending = await pending_change(session, customer.id)
    if pending is not None:
        raise ProblemError("conflict", f"Credit-limit change {pending} of this customer is under review: wait for "
                                       "its decision, or withdraw it.")
    current = (await credit_limits(session, [customer.id])).get(customer.id)
    requested = Decimal(data.requested_limit).quantize(CENT)
    # Seed 000 §19 ⑥: the limit and the payment period are set together; either may change.
    days_now = await payment_days(session, customer.id)
    days = days_now if data.payment_days is None else data.payment_days
    if current == requested and days == days_now:
        raise ProblemError("conflict", f"The credit limit is {current} already, with this payment period.",
                           errors=[field_error("requestedLimit", "the current limit"),
                                   field_error("paymentDays", "the current payment period")])
    change_id = new_id()
    request = await approvals.create_request(
        session, request_type=CREDIT_TYPE, title=f"Credit limit of {customer.number} ({customer.name}) to {requested}",
        payload={"changeId": str(change_id), "customerId": str(customer.id), "customerNumber": customer.number,
                 "previousLimit": None if current is None else str(current), "requestedLimit": str(requested),
                 "previousPaymentDays": days_now, "paymentDays": days},
        node_id=customer.node_id, amount=requested, reason=data.reason)
    number = await next_number(session, "XY", await local_year(session, clock.utcnow()))
    change = CreditChange(id=change_id, number=number, customer_id=customer.id, node_id=customer.node_id,
                          applicant_id=authz.principal.subject, previous_limit=current, requested_limit=requested,
                          previous_payment_days=days_now, requested_payment_days=days,
                          reason=data.reason, approval_request_id=request.id)
    session.add(change)
    return await saved(session, change, "grading.credit_change.apply", CREDIT_CHANGE, reason=data.reason)


async def _credit_change_of(session: AsyncSession, request: ApprovalRequest) -> CreditChange:
    change = await session.scalar(select(CreditChange).where(CreditChange.approval_request_id == request.id)
                                  .with_for_update())
    if change is None:
        raise ProblemError("conflict", f"No credit-limit change for approval request {request.id}.")
    return change


async def _on_credit_approved(session: AsyncSession, request: ApprovalRequest) -> None:
    """On final approval: the requested limit becomes the customer's, as the approver; once
    (a change applied already is left as it is)."""
    change = await _credit_change_of(session, request)
    change.updated_at = clock.utcnow()  # the shown status is the request's: the ETag moves
    if change.applied_at is None:
        before = (await credit_limits(session, [change.customer_id])).get(change.customer_id)
        days_before = await payment_days(session, change.customer_id)
        change.applied_at = clock.utcnow()
        # Seed 000 §19 ⑦: the customer is told of the new limit and payment period.
        change.notified_via = await _notify_customer(session, change)
        await audit.record(session, action="grading.credit_limit.set", entity_type=CUSTOMER,
                           entity_id=change.customer_id,
                           before={"creditLimit": None if before is None else str(before),
                                   "paymentDays": days_before},
                           after={"creditLimit": str(change.requested_limit), "creditChange": str(change.id),
                                  "paymentDays": change.requested_payment_days, "notifiedVia": change.notified_via},
                           reason=f"{change.reason} (approval request {request.id})")
    await session.flush()


async def _notify_customer(session: AsyncSession, change: CreditChange) -> str:
    """Tell the customer (in the app when they have an account, else by mail); the channel
    used, or "none" when they have neither."""
    customer = await session.get(Customer, change.customer_id)
    assert customer is not None  # a foreign key holds it
    reach = await customer_reach(session, customer)
    if reach is None:
        return "none"
    channel, recipient = reach
    days = "—" if change.requested_payment_days is None else str(change.requested_payment_days)
    body = (f"尊敬的客户：您的信用额度已调整为 {change.requested_limit} 元，账期 {days} 天。"
            "如有疑问，请联系客户服务中心。\n"
            f"Dear customer, your credit limit is now {change.requested_limit} yuan, with a payment period of "
            f"{days} days. For any question, please contact our customer service centre.")
    await queue_messages(session, [recipient], tenant_id=await tenant_id(session), channel=channel,
                         subject="信用额度与账期通知 Your credit terms have changed", body=body,
                         data={"event": "grading.credit_terms.changed", "customerId": str(customer.id),
                               "creditChangeId": str(change.id), "creditLimit": str(change.requested_limit),
                               "paymentDays": change.requested_payment_days})
    return channel


async def _credit_decided(session: AsyncSession, request: ApprovalRequest) -> None:
    # The shown status is the request's; the change's version moves so its ETag shows it.
    (await _credit_change_of(session, request)).updated_at = clock.utcnow()
    await session.flush()


CREDIT_REQUEST = request_type(
    CREDIT_TYPE, "Credit-limit change",
    on_approved=_on_credit_approved, on_rejected=_credit_decided, on_withdrawn=_credit_decided,
    subject_of=lambda payload: (CUSTOMER, payload["customerId"]),
    # DOMAIN.md: sales management manager → sales VP → sales GM → group GM.
    default_chain=[
        {"name": "Sales management manager", "role": "sales_admin_manager", "at": "branch"},
        {"name": "Sales VP", "role": "sales_vp", "at": "group"},
        {"name": "Sales GM", "role": "sales_gm", "at": "group"},
        {"name": "Group GM", "role": "group_gm", "at": "group"},
    ],
    default_roles={"sales_admin_manager": "Sales management manager", "sales_vp": "Sales VP",
                   "sales_gm": "Sales general manager", "group_gm": "Group general manager"},
)
