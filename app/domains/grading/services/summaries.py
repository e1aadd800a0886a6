"""The grade summary table signed off (seed 002, 客户等级管理汇总表: 编制, 复核, 审核, 审批):
prepared at a node as the grades stand, then checked, reviewed and approved by the
``grade_summary`` approval chain. The prepared lines are kept: the approvers sign what was
prepared, not what the next computation makes of it.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.ids import new_id
from app.core.numbering import next_number
from app.core.pagination import PageParams
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for, subtree_filter
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import page_with_request_status, request_status
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.registry import request_type
from app.domains.customers.models import Customer
from app.domains.grading.models import CustomerGrade, Grade, GradeSummary
from app.domains.grading.schemas import GradeSummaryIn, GradeSummaryOut, SummaryLine
from app.domains.grading.services.common import READ, SUMMARY, SUMMARY_ENTITY, SUMMARY_TYPE
from app.domains.grading.services.credit import APPLIED_LIMITS
from app.domains.org import services as org
from app.tenants.bound import local_year

SUMMARY_SORT = {"createdAt": GradeSummary.created_at, "number": GradeSummary.number}
MAX_LINES = 20_000  # a group's table; a larger one is prepared per branch or project


def _out(s: GradeSummary, status: RequestStatus | None) -> GradeSummaryOut:
    assert status is not None  # made with its request (a foreign key holds it)
    return GradeSummaryOut(id=s.id, number=s.number, node_id=s.node_id, title=s.title, prepared_by=s.prepared_by,
                           status=status, approval_request_id=s.approval_request_id, signed_at=s.signed_at,
                           counts=s.counts, lines=msgspec.convert(s.lines, list[SummaryLine]),
                           created_at=s.created_at, version=s.version)


async def summary_out(session: AsyncSession, s: GradeSummary) -> GradeSummaryOut:
    return _out(s, await request_status(session, s.approval_request_id))


async def get_summary(session: AsyncSession, authz: Authorizer, summary_id: uuid.UUID) -> tuple[GradeSummary, str]:
    return await get_at_node(session, authz, GradeSummary, summary_id, READ, "grade summary")


async def list_summaries(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                         status: RequestStatus | None, node_id: uuid.UUID | None) -> Page[GradeSummaryOut]:
    stmt: Select[Any] = (select(GradeSummary)
                         .join(ApprovalRequest, ApprovalRequest.id == GradeSummary.approval_request_id)
                         .where(authz.visible(READ, GradeSummary.node_id)))
    if status is not None:
        stmt = stmt.where(ApprovalRequest.status == status)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, GradeSummary.node_id, node_id))
    return await page_with_request_status(session, stmt, params, sortable=SUMMARY_SORT, default_sort=["-createdAt"],
                                          tiebreak=GradeSummary.id, to_schema=_out)


async def prepare_summary(session: AsyncSession, authz: Authorizer, data: GradeSummaryIn) -> GradeSummary:
    """编制: the table as the grades stand at the node, sent to the chain at once."""
    if data.node_id is not None:
        node = await node_for(session, authz, data.node_id, SUMMARY, field="nodeId")
    else:
        node = await org.get_root(session)
        authz.require(SUMMARY, node.path)
    rows = (await session.execute(
        select(CustomerGrade, Customer.number, APPLIED_LIMITS.c.limit)
        .join(Customer, Customer.id == CustomerGrade.customer_id)
        .outerjoin(APPLIED_LIMITS, APPLIED_LIMITS.c.cid == CustomerGrade.customer_id)
        .where(Customer.merged_into_id.is_(None), await subtree_filter(session, Customer.node_id, node.id))
        .order_by(CustomerGrade.score.desc(), Customer.number).limit(MAX_LINES + 1))).all()
    if not rows:
        raise ProblemError("conflict", "No graded customer at this node: recompute the grades first "
                                       "(POST /api/v1/grading/recomputations).",
                           errors=[field_error("nodeId", "no graded customer")] if data.node_id else None)
    if len(rows) > MAX_LINES:
        raise ProblemError("conflict", f"More than {MAX_LINES} graded customers: prepare the table per branch or "
                                       "project.", errors=[field_error("nodeId", f"more than {MAX_LINES} lines")])
    lines = [{"customerId": str(g.customer_id), "customerNumber": number,
              "accountManagerId": g.account_manager_id, "score": str(g.score), "coefficient": str(g.coefficient),
              "monthlySales": str(g.monthly_sales),
              "fulfilmentRate": None if g.fulfilment_rate is None else str(g.fulfilment_rate),
              "grade": g.grade.value if g.on_scale else None, "creditLimit": None if limit is None else str(limit)}
             for g, number, limit in rows]
    counts = {g.value: 0 for g in Grade} | {"unrated": 0}
    for line in lines:
        counts[line["grade"] or "unrated"] += 1
    summary_id = new_id()
    request = await approvals.create_request(
        session, request_type=SUMMARY_TYPE, title=f"Grade summary table: {data.title}"[:300],
        payload={"summaryId": str(summary_id), "title": data.title, "lines": len(lines), "counts": counts},
        node_id=node.id)
    summary = GradeSummary(id=summary_id, number=await next_number(session, "DJ", await local_year(
                               session, clock.utcnow())),
                           node_id=node.id, title=data.title, prepared_by=authz.principal.subject,
                           lines=lines, counts=counts, approval_request_id=request.id)
    session.add(summary)
    return await saved(session, summary, "grading.grade_summary.prepare", SUMMARY_ENTITY)


async def _summary_for(session: AsyncSession, request: ApprovalRequest) -> GradeSummary:
    summary = await session.scalar(select(GradeSummary).where(GradeSummary.approval_request_id == request.id)
                                   .with_for_update())
    if summary is None:
        raise ProblemError("conflict", f"No grade summary for approval request {request.id}.")
    return summary


async def _on_signed(session: AsyncSession, request: ApprovalRequest) -> None:
    """审批, the last sign-off: the table stands as signed."""
    summary = await _summary_for(session, request)
    summary.updated_at = clock.utcnow()
    if summary.signed_at is None:
        summary.signed_at = clock.utcnow()
        await audit.record(session, action="grading.grade_summary.sign", entity_type=SUMMARY_ENTITY,
                           entity_id=summary.id, after={"signedAt": summary.signed_at.isoformat(),
                                                        "counts": summary.counts},
                           reason=f"approval request {request.id}")
    await session.flush()


async def _decided(session: AsyncSession, request: ApprovalRequest) -> None:
    # Rejected or withdrawn: the shown status is the request's; the version moves with it.
    (await _summary_for(session, request)).updated_at = clock.utcnow()
    await session.flush()


SUMMARY_REQUEST = request_type(
    SUMMARY_TYPE, "Grade summary table sign-off",
    on_approved=_on_signed, on_rejected=_decided, on_withdrawn=_decided,
    subject_of=lambda payload: (SUMMARY_ENTITY, payload["summaryId"]),
    # Seed 002, 客户等级管理汇总表: 编制 (the preparer), 复核, 审核, 审批. The form names no roles:
    # the sales management manager checks (002 §11 has them organise the customer archive), the
    # sales GM reviews, the group GM approves (002 §11: 集团总经理 定期审批).
    default_chain=[
        {"name": "Checked (复核): sales management manager", "role": "sales_admin_manager", "at": "group"},
        {"name": "Reviewed (审核): sales GM", "role": "sales_gm", "at": "group"},
        {"name": "Approved (审批): group GM", "role": "group_gm", "at": "group"},
    ],
    default_roles={"sales_admin_manager": "Sales management manager", "sales_gm": "Sales general manager",
                   "group_gm": "Group general manager"},
)
