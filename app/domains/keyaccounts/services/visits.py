"""On-site return visits of big customers (seed 000 Ch 4 §13): the big-customer supervisor
issues the return-visit notice and assigns the visit to a specialist (①②); the specialist
visits and writes the report, with the related departments' service-quality material (③–⑥);
the customer-service manager reviews it (``key_account_visit_report`` chain) and, approved,
it is archived (⑦) and shows in the customer's history.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock
from app.core.pagination import PageParams
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.approvals.approvable import (
    Approvable,
    approvable_type,
    page_with_request_status,
    request_status,
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.customers.timeline import TimelineSource
from app.domains.keyaccounts.models import KeyAccountVisit, VisitStage
from app.domains.keyaccounts.schemas import (
    Cancellation,
    CompanionOut,
    VisitNotice,
    VisitOut,
    VisitReport,
    VisitStatus,
)
from app.domains.keyaccounts.services.common import READ, WRITE, conflict, key_customer, number, to_approval

VISIT, VISIT_TYPE = "key_account_visit", "key_account_visit_report"
SORT = {"scheduledOn": KeyAccountVisit.scheduled_on, "createdAt": KeyAccountVisit.created_at,
        "number": KeyAccountVisit.number}


def _status(v: KeyAccountVisit, request: RequestStatus | None) -> VisitStatus:
    return shown_status(v.stage.value, request)  # type: ignore[return-value]  # a member of VisitStatus


def visit_out(v: KeyAccountVisit, request: RequestStatus | None) -> VisitOut:
    return VisitOut(
        id=v.id, number=v.number, customer_id=v.customer_id, node_id=v.node_id, purpose=v.purpose,
        scheduled_on=v.scheduled_on, visitor_id=v.visitor_id, notified_by=v.notified_by, status=_status(v, request),
        visited_on=v.visited_on, companions=[CompanionOut(name=c["name"], department=c["department"])
                                             for c in v.companions],
        findings=v.findings, service_quality=v.service_quality, customer_feedback=v.customer_feedback,
        reported_at=v.reported_at, approval_request_id=v.approval_request_id, archived_at=v.archived_at,
        cancel_reason=v.cancel_reason, created_at=v.created_at, version=v.version)


async def show(session: AsyncSession, v: KeyAccountVisit) -> VisitOut:
    return visit_out(v, await request_status(session, v.approval_request_id))


async def get_visit(session: AsyncSession, authz: Authorizer, visit_id: uuid.UUID, *,
                    lock: bool = False) -> tuple[KeyAccountVisit, str]:
    return await get_at_node(session, authz, KeyAccountVisit, visit_id, READ, "big-customer return visit", lock=lock)


async def list_visits(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                      customer_id: uuid.UUID | None, visitor_id: str | None,
                      node_id: uuid.UUID | None) -> Page[VisitOut]:
    stmt: Select[Any] = (select(KeyAccountVisit)
                         .outerjoin(ApprovalRequest, ApprovalRequest.id == KeyAccountVisit.approval_request_id)
                         .where(authz.visible(READ, KeyAccountVisit.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(KeyAccountVisit.stage, VisitStage, status))
    if customer_id is not None:
        stmt = stmt.where(KeyAccountVisit.customer_id == customer_id)
    if visitor_id is not None:
        stmt = stmt.where(KeyAccountVisit.visitor_id == visitor_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, KeyAccountVisit.node_id, node_id))
    return await page_with_request_status(session, stmt, params, sortable=SORT, default_sort=["-scheduledOn"],
                                          tiebreak=KeyAccountVisit.id, to_schema=visit_out)


async def notify_visit(session: AsyncSession, authz: Authorizer, data: VisitNotice) -> KeyAccountVisit:
    """① the return-visit notice, ② the visit assigned to a specialist."""
    customer, node = await key_customer(session, authz, data.customer_id)
    authz.require(WRITE, node.path)
    v = KeyAccountVisit(
        number=await number(session, "DH"), customer_id=customer.id, node_id=customer.node_id, purpose=data.purpose,
        scheduled_on=data.scheduled_on, visitor_id=await staff_subject(session, data.visitor_id, "visitorId"),
        notified_by=authz.principal.subject, stage=VisitStage.notified, companions=[])
    session.add(v)
    return await saved(session, v, "keyaccounts.visit.notify", VISIT)


async def report_visit(session: AsyncSession, authz: Authorizer, v: KeyAccountVisit, path: str,
                       data: VisitReport) -> KeyAccountVisit:
    """⑥ the written report, to review; a rejected report is written again and resubmitted."""
    authz.require(WRITE, path)
    before = audit.snapshot(v)
    v.visited_on, v.findings, v.customer_feedback = data.visited_on, data.findings, data.customer_feedback
    v.service_quality = data.service_quality
    v.companions = [msgspec.structs.asdict(c) for c in data.companions]
    v.reported_at = clock.utcnow()
    await to_approval(session, v, what=f"big-customer return visit {v.number}", draft=VisitStage.notified,
                      submitted=VisitStage.submitted, request_type=VISIT_TYPE,
                      title=f"大客户回访报告 {v.number}", key="visitId", note=data.note)
    v.updated_at = clock.utcnow()
    return await saved(session, v, "keyaccounts.visit.report", VISIT, before=before, reason=data.note)


async def cancel_visit(session: AsyncSession, authz: Authorizer, v: KeyAccountVisit, path: str,
                       data: Cancellation) -> KeyAccountVisit:
    authz.require(WRITE, path)
    if v.stage is not VisitStage.notified:
        status = await request_status(session, v.approval_request_id)
        raise conflict(f"big-customer return visit {v.number}", shown_status(v.stage.value, status),
                       "only a visit not yet reported can be cancelled")
    before = audit.snapshot(v)
    v.stage, v.cancel_reason = VisitStage.cancelled, data.reason
    return await saved(session, v, "keyaccounts.visit.cancel", VISIT, before=before, reason=data.reason)


VISIT_RECORD = Approvable(KeyAccountVisit, key="visitId", entity=VISIT, what="big-customer return visit")


async def _payload(session: AsyncSession, v: KeyAccountVisit) -> dict[str, Any]:
    return {"visitId": str(v.id), "number": v.number, "customerId": str(v.customer_id), "purpose": v.purpose,
            "visitedOn": v.visited_on.isoformat() if v.visited_on else None, "findings": v.findings,
            "customerFeedback": v.customer_feedback, "serviceQuality": v.service_quality,
            "companions": list(v.companions)}


async def _archived(session: AsyncSession, request: ApprovalRequest) -> None:
    """⑦ the approved report is filed: it is in the customer's history from now on."""
    v = await VISIT_RECORD.of(session, request.payload, lock=True)
    before = audit.snapshot(v)
    v.stage, v.archived_at = VisitStage.archived, clock.utcnow()
    await saved(session, v, "keyaccounts.visit.archive", VISIT, before=before)


VISIT_REQUEST = approvable_type(
    VISIT_TYPE, "Big-customer return-visit report", VISIT_RECORD, describe=_payload, on_approved=_archived,
    # Seed 000 Ch 4 §13 ⑥: the written report is reviewed by the customer-service manager.
    default_chain=[{"name": "Customer service manager", "role": "cs_manager", "at": "branch"}],
    default_roles={"cs_manager": "Customer service manager"},
)

# The archived reports in the customer's history (app/domains/customers/timeline.py).
TIMELINE = [TimelineSource("key_account_visit", READ, "keyaccounts:read", lambda customer_id: select(
    KeyAccountVisit.id, KeyAccountVisit.archived_at, KeyAccountVisit.number + literal(" 大客户回访 ")
    + KeyAccountVisit.purpose, KeyAccountVisit.stage, KeyAccountVisit.node_id).where(
    KeyAccountVisit.customer_id == customer_id, KeyAccountVisit.stage == VisitStage.archived))]
