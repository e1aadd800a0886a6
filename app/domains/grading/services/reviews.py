"""Credit reviews: an abnormality recorded, investigated and concluded; a lower grade
proposed to the credit_grade_change approval chain, applied and told to the customer once
approved.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.notify import queue_messages
from app.core.numbering import next_number
from app.core.pagination import PageParams
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import (
    page_with_request_status,
    payload_id,
    request_status,
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.registry import request_type
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer
from app.domains.customers.services import customer_reach
from app.domains.grading.models import CreditReview, CustomerGrade, Grade, ReviewStage
from app.domains.grading.schemas import Conclusion, CreditReviewIn, CreditReviewOut, ReviewStatus, Serious
from app.domains.grading.services.common import CREDIT_REVIEW, CUSTOMER, GRADE_TYPE, READ, REVIEW, require_live
from app.domains.grading.services.computation import months_before, recompute
from app.tenants import bound
from app.tenants.bound import local_year, tenant_id

# ------------------------------------------------------------------------ credit reviews

REVIEW_SORT = {"createdAt": CreditReview.created_at, "number": CreditReview.number}


async def get_review(session: AsyncSession, authz: Authorizer, review_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[CreditReview, str]:
    return await get_at_node(session, authz, CreditReview, review_id, READ, "credit review", lock=lock)


# shown_status (shared by every record an approval decides) gives a str: the review's stage, or
# while under review its request's status, each a member of ReviewStatus.
def _review_status(r: CreditReview, request: RequestStatus | None) -> ReviewStatus:
    return shown_status(r.stage.value, request)  # type: ignore[return-value]  # a member, as said above


def _review_out(r: CreditReview, status: RequestStatus | None) -> CreditReviewOut:
    return CreditReviewOut(
        id=r.id, number=r.number, customer_id=r.customer_id, node_id=r.node_id, opened_by=r.opened_by,
        abnormality=r.abnormality, status=_review_status(r, status),
        findings=r.findings, serious=r.serious, grade=r.grade, previous_grade=r.previous_grade,
        holds_until=r.holds_until, concluded_by=r.concluded_by, concluded_at=r.concluded_at,
        approval_request_id=r.approval_request_id, applied_at=r.applied_at, notified_via=r.notified_via,
        created_at=r.created_at, version=r.version)


async def review_out(session: AsyncSession, r: CreditReview) -> CreditReviewOut:
    return _review_out(r, await request_status(session, r.approval_request_id))


async def list_reviews(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                       customer_id: uuid.UUID | None, node_id: uuid.UUID | None) -> Page[CreditReviewOut]:
    stmt: Select[Any] = (select(CreditReview)
                         .outerjoin(ApprovalRequest, ApprovalRequest.id == CreditReview.approval_request_id)
                         .where(authz.visible(READ, CreditReview.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(CreditReview.stage, ReviewStage, status))
    if customer_id is not None:
        stmt = stmt.where(CreditReview.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, CreditReview.node_id, node_id))
    return await page_with_request_status(session, stmt, params, sortable=REVIEW_SORT, default_sort=["-createdAt"],
                                          tiebreak=CreditReview.id, to_schema=_review_out)


async def open_review(session: AsyncSession, authz: Authorizer, data: CreditReviewIn) -> CreditReview:
    """An abnormality found: the review sits at the customer's node, to be investigated."""
    customer, node = await customer_for(session, authz, data.customer_id, REVIEW)
    review = CreditReview(number=await next_number(session, "YC", await local_year(session, clock.utcnow())),
                          customer_id=customer.id, node_id=node.id, opened_by=authz.principal.subject,
                          abnormality=data.abnormality, stage=ReviewStage.investigating)
    session.add(review)
    return await saved(session, review, "grading.credit_review.open", CREDIT_REVIEW, reason=data.abnormality)


def _holds_until(today: date, months: int) -> date:
    return months_before(today, -months)


async def conclude_review(session: AsyncSession, authz: Authorizer, review: CreditReview, path: str,
                          data: Conclusion) -> CreditReview:
    """The investigation's conclusion: not serious closes the review; serious proposes a lower
    grade to the ``credit_grade_change`` chain (again, after a rejection or a withdrawal)."""
    authz.require(REVIEW, path)
    status = await request_status(session, review.approval_request_id)
    again = review.stage is ReviewStage.submitted and status in (RequestStatus.rejected, RequestStatus.withdrawn)
    if review.stage is not ReviewStage.investigating and not again:
        raise ProblemError("conflict", f"The credit review {review.number} is "
                                       f"{shown_status(review.stage.value, status)}: it was concluded already.")
    customer = await session.get(Customer, review.customer_id)
    assert customer is not None  # a foreign key holds it
    require_live(customer)
    before = audit.snapshot(review)
    c = data.conclusion
    review.findings, review.serious = c.findings, isinstance(c, Serious)
    review.concluded_by, review.concluded_at = authz.principal.subject, clock.utcnow()
    if not isinstance(c, Serious):
        review.stage, review.grade, review.holds_until = ReviewStage.dismissed, None, None
    else:
        current = await session.scalar(select(CustomerGrade.grade).where(CustomerGrade.customer_id == customer.id))
        if current is not None and c.grade.value <= current.value:
            lower = ", ".join(g.value for g in Grade if g.value > current.value) or "none"
            raise ProblemError("conflict", f"Customer {customer.number} is graded {current.value}: a serious "
                                           f"abnormality lowers the grade (to one of {lower}).",
                               errors=[field_error("conclusion.grade", f"not below {current.value}")])
        today = await bound.today(session)
        review.grade, review.previous_grade = c.grade, current
        review.holds_until = _holds_until(today, c.holds_months)
        request = await approvals.create_request(
            session, request_type=GRADE_TYPE,
            title=f"Credit grade of {customer.number} ({customer.name}) to {c.grade.value}"[:300],
            payload={"reviewId": str(review.id)}, node_id=review.node_id, reason=c.findings)
        review.approval_request_id, review.stage = request.id, ReviewStage.submitted
    review.updated_at = clock.utcnow()
    return await saved(session, review, "grading.credit_review.conclude", CREDIT_REVIEW, before=before,
                       reason=c.findings)


async def _review_of(session: AsyncSession, payload: dict[str, Any], *, lock: bool = False) -> CreditReview:
    stmt = select(CreditReview).where(CreditReview.id == payload_id(payload, "reviewId"))
    review = await session.scalar(stmt.with_for_update() if lock else stmt)
    if review is None:
        raise ProblemError("validation", "No such credit review.", errors=[field_error("payload.reviewId", "unknown")])
    return review


async def _review_payload(session: AsyncSession, payload: dict[str, Any]) -> dict[str, Any]:
    """What the approvers decide on, from the review as it is now."""
    r = await _review_of(session, payload)
    customer = await session.get(Customer, r.customer_id)
    assert customer is not None  # a foreign key holds it
    return {"reviewId": str(r.id), "number": r.number, "customerId": str(customer.id),
            "customerNumber": customer.number, "abnormality": r.abnormality, "findings": r.findings,
            "grade": r.grade.value if r.grade else None,
            "previousGrade": r.previous_grade.value if r.previous_grade else None,
            "holdsUntil": r.holds_until.isoformat() if r.holds_until else None}


async def _review_node(session: AsyncSession, payload: dict[str, Any]) -> uuid.UUID:
    return (await _review_of(session, payload)).node_id


async def _review_for(session: AsyncSession, request: ApprovalRequest) -> CreditReview:
    """The review a decided request is about (its current request), locked."""
    review = await session.scalar(select(CreditReview).where(CreditReview.approval_request_id == request.id)
                                  .with_for_update())
    if review is None:
        raise ProblemError("conflict", f"No credit review for approval request {request.id}.")
    return review


async def _notify_customer(session: AsyncSession, customer: Customer, review: CreditReview) -> str:
    """Tell the customer (in the app when they have an account, else by mail); the channel
    used, or "none" when they have neither."""
    reach = await customer_reach(session, customer)
    if reach is None:
        return "none"
    channel, recipient = reach
    assert review.grade is not None and review.holds_until is not None
    body = (f"尊敬的客户：您的信用等级已调整为 {review.grade.value} 级，有效期至 {review.holds_until.isoformat()}。"
            f"如有疑问，请联系客户服务中心。\n"
            f"Dear customer, your credit grade is now {review.grade.value}, until {review.holds_until.isoformat()}. "
            "For any question, please contact our customer service centre.")
    await queue_messages(session, [recipient], tenant_id=await tenant_id(session), channel=channel,
                         subject="信用等级变更通知 Your credit grade has changed", body=body,
                         data={"event": "grading.credit_grade.changed", "customerId": str(customer.id),
                               "reviewId": str(review.id), "grade": review.grade.value,
                               "holdsUntil": review.holds_until.isoformat()})
    return channel


async def _on_grade_approved(session: AsyncSession, request: ApprovalRequest) -> None:
    """On final approval, as the approver and once: the customer is graded again (the review
    now holds the grade down), the change registered, the customer told."""
    review = await _review_for(session, request)
    review.updated_at = clock.utcnow()
    if review.applied_at is None:
        # No lock on the customer: a computation holding the grading lock may be waiting to
        # write their grade, and recompute() below waits for that lock (a deadlock otherwise).
        customer = await session.get(Customer, review.customer_id)
        assert customer is not None  # a foreign key holds it
        require_live(customer)
        review.applied_at = clock.utcnow()
        await session.flush()
        await recompute(session, customer_id=customer.id)
        g = await session.get(CustomerGrade, customer.id, populate_existing=True)
        assert g is not None  # just graded
        review.notified_via = await _notify_customer(session, customer, review)
        await audit.record(session, action="grading.credit_grade.set", entity_type=CUSTOMER, entity_id=customer.id,
                           before={"grade": review.previous_grade.value if review.previous_grade else None},
                           after={"grade": g.grade.value, "creditReview": str(review.id),
                                  "holdsUntil": review.holds_until.isoformat() if review.holds_until else None,
                                  "notifiedVia": review.notified_via},
                           reason=f"{review.findings} (approval request {request.id})")
    await session.flush()


async def _review_decided(session: AsyncSession, request: ApprovalRequest) -> None:
    # Rejected or withdrawn: the shown status is the request's; the version moves with it.
    (await _review_for(session, request)).updated_at = clock.utcnow()
    await session.flush()


GRADE_REQUEST = request_type(
    GRADE_TYPE, "Credit grade change",
    on_approved=_on_grade_approved, on_rejected=_review_decided, on_withdrawn=_review_decided,
    node_of=_review_node, validate=_review_payload,
    subject_of=lambda payload: (CREDIT_REVIEW, payload["reviewId"]),
    # Seed 000 §20 (客户信用等级变更流程): the customer-information supervisor and the customer
    # service department manager decide a change of credit grade.
    default_chain=[
        {"name": "Customer information supervisor", "role": "customer_info_supervisor", "at": "branch"},
        {"name": "Customer service department manager", "role": "cs_manager", "at": "branch"},
    ],
    default_roles={"customer_info_supervisor": "客户信息主管 Customer information supervisor",
                   "cs_manager": "Customer service manager"},
    replaces=[[
        {"name": "Sales management manager", "role": "sales_admin_manager", "at": "branch"},
        {"name": "Sales VP", "role": "sales_vp", "at": "group"},
    ]],
)
