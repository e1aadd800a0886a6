"""After-sales service plans (seed 000 Ch 5 §12–13).

A plan answers what the customers' feedback showed (the key issue) with service rules. A
routine plan (常规性问题) is decided by the after-sales manager (``after_sales_plan``); a
non-routine one (非常规性问题), argued by the people concerned, goes to senior management as
well (``after_sales_plan_non_routine``). Approved, it is tried out until its trial ends
(试行售后服务计划); the customers' response is then discussed and judged: adopted, the plan
is in force (确定《售后服务计划》); not adopted, it goes back to a draft to be revised and
approved again.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.pagination import PageParams
from app.core.schemas import Page, provided
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for, subtree_filter
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
from app.domains.customers.lookups import customer_for
from app.domains.keyaccounts.models import AfterSalesPlan, PlanKind, PlanStage
from app.domains.keyaccounts.schemas import (
    PlanCreate,
    PlanStatus,
    PlanUpdate,
    ServicePlanOut,
    Submission,
    TrialEvaluation,
)
from app.domains.keyaccounts.services.common import READ, WRITE, conflict, number, to_approval
from app.domains.org.models import NodeKind

PLAN = "after_sales_plan"
ROUTINE_TYPE, NON_ROUTINE_TYPE = "after_sales_plan", "after_sales_plan_non_routine"
SORT = {"createdAt": AfterSalesPlan.created_at, "number": AfterSalesPlan.number,
        "trialEndsOn": AfterSalesPlan.trial_ends_on}
PLAN_NODES = (NodeKind.branch, NodeKind.project)

PLAN_FLOW: Workflow[PlanStage] = Workflow("after-sales service plan", {
    "adopt": ([PlanStage.trial], [PlanStage.in_force]),
    "rework": ([PlanStage.trial], [PlanStage.draft]),
})


def _status(p: AfterSalesPlan, request: RequestStatus | None) -> PlanStatus:
    return shown_status(p.stage.value, request)  # type: ignore[return-value]  # a member of PlanStatus


def plan_out(p: AfterSalesPlan, request: RequestStatus | None) -> ServicePlanOut:
    return ServicePlanOut(
        id=p.id, number=p.number, node_id=p.node_id, customer_id=p.customer_id, kind=p.kind, title=p.title,
        issue=p.issue, content=p.content, trial_ends_on=p.trial_ends_on, status=_status(p, request),
        approval_request_id=p.approval_request_id, trial_started_at=p.trial_started_at, evaluation=p.evaluation,
        in_force_at=p.in_force_at, created_by=p.created_by, created_at=p.created_at, version=p.version)


async def show(session: AsyncSession, p: AfterSalesPlan) -> ServicePlanOut:
    return plan_out(p, await request_status(session, p.approval_request_id))


async def get_plan(session: AsyncSession, authz: Authorizer, plan_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[AfterSalesPlan, str]:
    return await get_at_node(session, authz, AfterSalesPlan, plan_id, READ, "after-sales service plan", lock=lock)


async def list_plans(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                     kind: PlanKind | None, customer_id: uuid.UUID | None,
                     node_id: uuid.UUID | None) -> Page[ServicePlanOut]:
    stmt: Select[Any] = (select(AfterSalesPlan)
                         .outerjoin(ApprovalRequest, ApprovalRequest.id == AfterSalesPlan.approval_request_id)
                         .where(authz.visible(READ, AfterSalesPlan.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(AfterSalesPlan.stage, PlanStage, status))
    if kind is not None:
        stmt = stmt.where(AfterSalesPlan.kind == kind)
    if customer_id is not None:
        stmt = stmt.where(AfterSalesPlan.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, AfterSalesPlan.node_id, node_id))
    return await page_with_request_status(session, stmt, params, sortable=SORT, default_sort=["-createdAt"],
                                          tiebreak=AfterSalesPlan.id, to_schema=plan_out)


async def create_plan(session: AsyncSession, authz: Authorizer, data: PlanCreate) -> AfterSalesPlan:
    node = await node_for(session, authz, data.node_id, WRITE, kinds=PLAN_NODES)
    if data.customer_id is not None:
        await customer_for(session, authz, data.customer_id, WRITE)
    p = AfterSalesPlan(
        number=await number(session, "SH"), node_id=node.id, customer_id=data.customer_id, kind=data.kind,
        title=data.title, issue=data.issue, content=data.content, trial_ends_on=data.trial_ends_on,
        stage=PlanStage.draft, created_by=authz.principal.subject)
    session.add(p)
    await saved(session, p, "keyaccounts.service_plan.create", PLAN)
    if data.submit:
        await submit_plan(session, authz, p, node.path, Submission())
    return p


async def update_plan(session: AsyncSession, authz: Authorizer, p: AfterSalesPlan, path: str,
                      data: PlanUpdate) -> AfterSalesPlan:
    authz.require(WRITE, path)
    status = await request_status(session, p.approval_request_id)
    if not revisable(p.stage, PlanStage.draft, PlanStage.submitted, status):
        raise conflict(f"after-sales service plan {p.number}", shown_status(p.stage.value, status),
                       "only a draft, or one rejected or withdrawn, can be revised")
    changes = provided(data)
    before = audit.snapshot(p)
    if "kind" in changes and changes["kind"] is not p.kind and p.stage is PlanStage.submitted:
        # A request's chain is its type's: another kind is another request, from a draft.
        p.stage, p.approval_request_id = PlanStage.draft, None
    for name, value in changes.items():
        setattr(p, name, value)
    return await saved(session, p, "keyaccounts.service_plan.update", PLAN, before=before)


async def submit_plan(session: AsyncSession, authz: Authorizer, p: AfterSalesPlan, path: str,
                      data: Submission) -> AfterSalesPlan:
    authz.require(WRITE, path)
    before = audit.snapshot(p)
    request_type = NON_ROUTINE_TYPE if p.kind is PlanKind.non_routine else ROUTINE_TYPE
    await to_approval(session, p, what=f"after-sales service plan {p.number}", draft=PlanStage.draft,
                      submitted=PlanStage.submitted, request_type=request_type,
                      title=f"售后服务计划 {p.number} {p.title}", key="planId", note=data.note)
    p.updated_at = clock.utcnow()
    return await saved(session, p, "keyaccounts.service_plan.submit", PLAN, before=before, reason=data.note)


async def evaluate_trial(session: AsyncSession, authz: Authorizer, p: AfterSalesPlan, path: str,
                         data: TrialEvaluation) -> AfterSalesPlan:
    """The customers' response to the trial, judged: in force, or back to a draft."""
    authz.require(WRITE, path)
    before = audit.snapshot(p)
    label = f"After-sales service plan {p.number}"
    if data.adopt:
        p.stage, p.in_force_at = PLAN_FLOW.to("adopt", p.stage, PlanStage.in_force, label), clock.utcnow()
    else:
        # Revised, it needs a new approval: the next submission is a new request.
        p.stage, p.approval_request_id = PLAN_FLOW.to("rework", p.stage, PlanStage.draft, label), None
    p.evaluation = data.evaluation
    return await saved(session, p, "keyaccounts.service_plan.evaluate", PLAN, before=before)


PLAN_RECORD = Approvable(AfterSalesPlan, key="planId", entity=PLAN, what="after-sales service plan")


async def _payload(session: AsyncSession, p: AfterSalesPlan) -> dict[str, Any]:
    return {"planId": str(p.id), "number": p.number, "kind": p.kind.value, "title": p.title, "issue": p.issue,
            "content": p.content, "trialEndsOn": p.trial_ends_on.isoformat(),
            "customerId": str(p.customer_id) if p.customer_id else None}


async def _on_trial(session: AsyncSession, request: ApprovalRequest) -> None:
    p = await PLAN_RECORD.of(session, request.payload, lock=True)
    before = audit.snapshot(p)
    p.stage, p.trial_started_at = PlanStage.trial, clock.utcnow()
    await saved(session, p, "keyaccounts.service_plan.trial", PLAN, before=before)


_MANAGER = {"name": "After-sales service manager", "role": "after_sales_manager", "at": "branch"}
ROUTINE_REQUEST = approvable_type(
    ROUTINE_TYPE, "After-sales service plan (routine)", PLAN_RECORD, describe=_payload, on_approved=_on_trial,
    # Seed 000 Ch 5 §12–13: a routine plan is reviewed and settled by the after-sales manager.
    default_chain=[_MANAGER], default_roles={"after_sales_manager": "After-sales service manager (售后服务经理)"},
)
NON_ROUTINE_REQUEST = approvable_type(
    NON_ROUTINE_TYPE, "After-sales service plan (non-routine)", PLAN_RECORD, describe=_payload,
    on_approved=_on_trial,
    # Seed 000 Ch 5 §12: a non-routine issue is argued and goes to the company's senior
    # management (公司高层), after the after-sales manager's review (§13).
    default_chain=[_MANAGER, {"name": "Senior management", "role": "senior_management", "at": "branch"}],
    default_roles={"after_sales_manager": "After-sales service manager (售后服务经理)",
                   "senior_management": "Senior management (公司高层)"},
)
