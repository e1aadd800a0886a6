"""Improvement actions (改进措施) from return visits and satisfaction surveys (seed 001 §3.3.3
(4); seed 000 Ch 4 §11 ③–④).

An action is raised from a return-visit plan's statistics or from one customer's survey
result: the finding, the action, its owner and due date. It goes to the ``improvement_plan``
chain (the big-customer supervisor reviews, the big-customer manager approves); approved, it
is ``in_progress`` until its owner records the outcome (``done``). The daily scan flags the
ones past their due day and tells their owners (``overdue_scan``).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock
from app.core.notify import INBOX, queue_messages
from app.core.pagination import PageParams
from app.core.schemas import Page, provided
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
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
from app.domains.keyaccounts.models import ActionStage, SurveyImprovement
from app.domains.keyaccounts.schemas import (
    ActionCreate,
    ActionDone,
    ActionStatus,
    ActionUpdate,
    Cancellation,
    ImprovementOut,
    Submission,
)
from app.domains.keyaccounts.services.common import READ, WRITE, conflict, number, to_approval
from app.domains.surveys.models import ReturnVisitPlan, SurveyResult
from app.tenants.bound import tenant_id, today

ACTION, ACTION_TYPE = "survey_improvement", "improvement_plan"
SORT = {"dueOn": SurveyImprovement.due_on, "createdAt": SurveyImprovement.created_at,
        "number": SurveyImprovement.number}
SCAN_BATCH = 500
SURVEYS_READ = "surveys.read"

ACTION_FLOW: Workflow[ActionStage] = Workflow("improvement action", {
    "complete": ([ActionStage.in_progress], [ActionStage.done]),
    "cancel": ([ActionStage.draft, ActionStage.submitted, ActionStage.in_progress], [ActionStage.cancelled]),
})


def _status(a: SurveyImprovement, request: RequestStatus | None) -> ActionStatus:
    return shown_status(a.stage.value, request)  # type: ignore[return-value]  # a member of ActionStatus


def action_out(a: SurveyImprovement, request: RequestStatus | None, on: date) -> ImprovementOut:
    return ImprovementOut(
        id=a.id, number=a.number, node_id=a.node_id, plan_id=a.plan_id, result_id=a.result_id,
        customer_id=a.customer_id, finding=a.finding, action=a.action, owner_id=a.owner_id, due_on=a.due_on,
        status=_status(a, request), overdue=a.stage is ActionStage.in_progress and a.due_on < on,
        overdue_since=a.overdue_since, approval_request_id=a.approval_request_id, started_at=a.started_at,
        outcome=a.outcome, done_at=a.done_at, cancel_reason=a.cancel_reason, created_by=a.created_by,
        created_at=a.created_at, version=a.version)


async def show(session: AsyncSession, a: SurveyImprovement) -> ImprovementOut:
    return action_out(a, await request_status(session, a.approval_request_id), await today(session))


async def get_action(session: AsyncSession, authz: Authorizer, action_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[SurveyImprovement, str]:
    return await get_at_node(session, authz, SurveyImprovement, action_id, READ, "improvement action", lock=lock)


async def list_actions(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                       plan_id: uuid.UUID | None, customer_id: uuid.UUID | None, owner_id: str | None,
                       overdue: bool | None, node_id: uuid.UUID | None) -> Page[ImprovementOut]:
    stmt: Select[Any] = (select(SurveyImprovement)
                         .outerjoin(ApprovalRequest, ApprovalRequest.id == SurveyImprovement.approval_request_id)
                         .where(authz.visible(READ, SurveyImprovement.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(SurveyImprovement.stage, ActionStage, status))
    if plan_id is not None:
        stmt = stmt.where(SurveyImprovement.plan_id == plan_id)
    if customer_id is not None:
        stmt = stmt.where(SurveyImprovement.customer_id == customer_id)
    if owner_id is not None:
        stmt = stmt.where(SurveyImprovement.owner_id == owner_id)
    on = await today(session)
    if overdue is not None:
        late = (SurveyImprovement.stage == ActionStage.in_progress) & (SurveyImprovement.due_on < on)
        stmt = stmt.where(late if overdue else ~late)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, SurveyImprovement.node_id, node_id))
    return await page_with_request_status(session, stmt, params, sortable=SORT, default_sort=["dueOn"],
                                          tiebreak=SurveyImprovement.id,
                                          to_schema=lambda a, request: action_out(a, request, on))


async def _source(session: AsyncSession, authz: Authorizer,
                  data: ActionCreate) -> tuple[uuid.UUID, str, uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]:
    """The node, its path, the plan, the result and the customer the finding comes from."""
    if data.source == "result":
        result, path = await get_at_node(session, authz, SurveyResult, data.source_id, SURVEYS_READ,
                                         "survey result", field="sourceId")
        return result.node_id, path, result.plan_id, result.id, result.customer_id
    plan, path = await get_at_node(session, authz, ReturnVisitPlan, data.source_id, SURVEYS_READ,
                                   "return-visit plan", field="sourceId")
    return plan.node_id, path, plan.id, None, None


async def create_action(session: AsyncSession, authz: Authorizer, data: ActionCreate) -> SurveyImprovement:
    node_id, path, plan_id, result_id, customer_id = await _source(session, authz, data)
    authz.require(WRITE, path)
    a = SurveyImprovement(
        number=await number(session, "GJ"), node_id=node_id, plan_id=plan_id, result_id=result_id,
        customer_id=customer_id, finding=data.finding, action=data.action,
        owner_id=await staff_subject(session, data.owner_id, "ownerId"), due_on=data.due_on,
        stage=ActionStage.draft, created_by=authz.principal.subject)
    session.add(a)
    await saved(session, a, "keyaccounts.improvement.create", ACTION)
    if data.submit:
        await submit_action(session, authz, a, path, Submission())
    return a


async def update_action(session: AsyncSession, authz: Authorizer, a: SurveyImprovement, path: str,
                        data: ActionUpdate) -> SurveyImprovement:
    authz.require(WRITE, path)
    status = await request_status(session, a.approval_request_id)
    if not revisable(a.stage, ActionStage.draft, ActionStage.submitted, status):
        raise conflict(f"improvement action {a.number}", shown_status(a.stage.value, status),
                       "only a draft, or one rejected or withdrawn, can be revised")
    before = audit.snapshot(a)
    changes = provided(data)
    if "owner_id" in changes:
        changes["owner_id"] = await staff_subject(session, data.owner_id, "ownerId")  # type: ignore[arg-type]
    for name, value in changes.items():
        setattr(a, name, value)
    return await saved(session, a, "keyaccounts.improvement.update", ACTION, before=before)


async def submit_action(session: AsyncSession, authz: Authorizer, a: SurveyImprovement, path: str,
                        data: Submission) -> SurveyImprovement:
    authz.require(WRITE, path)
    before = audit.snapshot(a)
    await to_approval(session, a, what=f"improvement action {a.number}", draft=ActionStage.draft,
                      submitted=ActionStage.submitted, request_type=ACTION_TYPE,
                      title=f"改进方案 {a.number}: {a.action}", key="actionId", note=data.note)
    a.updated_at = clock.utcnow()
    return await saved(session, a, "keyaccounts.improvement.submit", ACTION, before=before, reason=data.note)


async def complete_action(session: AsyncSession, authz: Authorizer, a: SurveyImprovement, path: str,
                          data: ActionDone) -> SurveyImprovement:
    """Its owner (or anyone who may write there) records the outcome."""
    authz.require(WRITE, path)
    before = audit.snapshot(a)
    a.stage = ACTION_FLOW.to("complete", a.stage, ActionStage.done, f"Improvement action {a.number}")
    a.outcome, a.done_at = data.outcome, clock.utcnow()
    return await saved(session, a, "keyaccounts.improvement.complete", ACTION, before=before)


async def cancel_action(session: AsyncSession, authz: Authorizer, a: SurveyImprovement, path: str,
                        data: Cancellation) -> SurveyImprovement:
    authz.require(WRITE, path)
    status = await request_status(session, a.approval_request_id)
    if status is RequestStatus.pending and a.stage is ActionStage.submitted:
        raise conflict(f"improvement action {a.number}", "pending", "withdraw its approval request first")
    before = audit.snapshot(a)
    a.stage = ACTION_FLOW.to("cancel", a.stage, ActionStage.cancelled, f"Improvement action {a.number}")
    a.cancel_reason = data.reason
    return await saved(session, a, "keyaccounts.improvement.cancel", ACTION, before=before, reason=data.reason)


ACTION_RECORD = Approvable(SurveyImprovement, key="actionId", entity=ACTION, what="improvement action")


async def _payload(session: AsyncSession, a: SurveyImprovement) -> dict[str, Any]:
    """What the approvers decide on."""
    return {"actionId": str(a.id), "number": a.number, "finding": a.finding, "action": a.action,
            "ownerId": a.owner_id, "dueOn": a.due_on.isoformat(),
            "planId": str(a.plan_id) if a.plan_id else None, "resultId": str(a.result_id) if a.result_id else None}


async def _approved(session: AsyncSession, request: ApprovalRequest) -> None:
    """The improvement plan was approved: its owner carries it out."""
    a = await ACTION_RECORD.of(session, request.payload, lock=True)
    before = audit.snapshot(a)
    a.stage, a.started_at = ActionStage.in_progress, clock.utcnow()
    await saved(session, a, "keyaccounts.improvement.start", ACTION, before=before)


ACTION_REQUEST = approvable_type(
    ACTION_TYPE, "Improvement plan from a return visit or satisfaction survey", ACTION_RECORD, describe=_payload,
    on_approved=_approved,
    # Seed 000 Ch 4 §11 ③: the improvement plan is reviewed by the big-customer supervisor
    # and approved by the big-customer manager.
    default_chain=[{"name": "Big-customer supervisor", "role": "key_account_supervisor", "at": "branch"},
                   {"name": "Big-customer manager", "role": "key_account_manager", "at": "branch"}],
    default_roles={"key_account_supervisor": "Big-customer supervisor (大客户主管)",
                   "key_account_manager": "Big-customer manager (大客户经理)"},
)


async def overdue_scan(session: AsyncSession) -> dict[str, int]:
    """One batch of the daily scan: actions in progress past their due day, not yet flagged,
    are flagged (``overdueSince``) and their owners told once."""
    on = await today(session)
    rows = (await session.scalars(
        select(SurveyImprovement)
        .where(SurveyImprovement.stage == ActionStage.in_progress, SurveyImprovement.due_on < on,
               SurveyImprovement.overdue_since.is_(None))
        .order_by(SurveyImprovement.due_on, SurveyImprovement.id).limit(SCAN_BATCH)
        .with_for_update(skip_locked=True))).all()
    tenant = await tenant_id(session) if rows else None
    for a in rows:
        before = audit.snapshot(a)
        a.overdue_since = on
        await saved(session, a, "keyaccounts.improvement.overdue", ACTION, before=before)
        await queue_messages(
            session, [a.owner_id], tenant_id=tenant, channel=INBOX,
            subject=f"改进措施逾期 Improvement action {a.number} is overdue",
            body=f"The improvement action {a.number} ({a.action[:200]}) was due on {a.due_on}; record its outcome "
                 "once it is done.",
            data={"event": "keyaccounts.improvement.overdue", "actionId": str(a.id), "number": a.number,
                  "dueOn": a.due_on.isoformat()})
    return {"flagged": len(rows)}
