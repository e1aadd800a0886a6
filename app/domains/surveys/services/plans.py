"""Return-visit plans and their targets: chosen when the plan is made, worked by staff
until a result completes them, cancelled when the plan closes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, and_, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.db import rowcount
from app.core.ids import new_id
from app.core.numbering import next_number
from app.core.pagination import ColumnLike, PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for, subtree_filter
from app.domains.customers.models import Customer, CustomerStatus, CustomerUnit
from app.domains.grading.models import CustomerGrade
from app.domains.org.models import OrgNode
from app.domains.surveys.models import PlanStatus, ReturnVisitPlan, ReturnVisitTarget, SurveyResult, TargetStatus
from app.domains.surveys.schemas import (
    Closing,
    PlanCreate,
    PlanOut,
    PlanSummary,
    PlanUpdate,
    TargetCounts,
    TargetFilters,
    TargetFiltersOut,
    TargetOut,
    TargetUpdate,
)
from app.domains.surveys.services.common import INSERT_BATCH, MAX_TARGETS, PLAN, READ, TARGET, WRITE
from app.domains.surveys.services.questionnaires import get_questionnaire, require_usable
from app.tenants import bound
from app.tenants.bound import local_year

# -------------------------------------------------------------------------------- plans

PLAN_SORT = {"dueOn": ReturnVisitPlan.due_on, "createdAt": ReturnVisitPlan.created_at,
             "number": ReturnVisitPlan.number}


async def get_plan(session: AsyncSession, authz: Authorizer, plan_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[ReturnVisitPlan, str]:
    return await get_at_node(session, authz, ReturnVisitPlan, plan_id, READ, "return-visit plan", lock=lock)


def _overdue(today: date) -> ColumnElement[bool]:
    return and_(ReturnVisitTarget.status == TargetStatus.pending, ReturnVisitTarget.due_on < today)


async def plan_out(session: AsyncSession, p: ReturnVisitPlan) -> PlanOut:
    today = await bound.today(session)
    counts = dict((await session.execute(
        select(ReturnVisitTarget.status, func.count()).where(ReturnVisitTarget.plan_id == p.id)
        .group_by(ReturnVisitTarget.status))).all())
    overdue = await session.scalar(select(func.count()).where(ReturnVisitTarget.plan_id == p.id, _overdue(today)))
    targets = TargetCounts(total=sum(counts.values()), overdue=overdue or 0,
                           **{s.value: counts.get(s, 0) for s in TargetStatus})
    return PlanOut(id=p.id, number=p.number, node_id=p.node_id, title=p.title, method=p.method,
                   questionnaire_id=p.questionnaire_id, due_on=p.due_on,
                   filters=msgspec.convert(p.filters, TargetFiltersOut), status=p.status, targets=targets,
                   created_by=p.created_by, created_at=p.created_at, version=p.version)


def _plan_summary(p: ReturnVisitPlan) -> PlanSummary:
    return PlanSummary(id=p.id, number=p.number, node_id=p.node_id, title=p.title, method=p.method, due_on=p.due_on,
                       status=p.status, version=p.version)


async def list_plans(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: PlanStatus | None,
                     node_id: uuid.UUID | None) -> Page[PlanSummary]:
    stmt: Select[Any] = select(ReturnVisitPlan).where(authz.visible(READ, ReturnVisitPlan.node_id))
    if status is not None:
        stmt = stmt.where(ReturnVisitPlan.status == status)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, ReturnVisitPlan.node_id, node_id))
    return await paginate(session, stmt, params, sortable=PLAN_SORT, default_sort=["dueOn"],
                          tiebreak=ReturnVisitPlan.id, to_schema=_plan_summary)


def _within(path: ColumnLike[str], root: str) -> ColumnElement[bool]:
    return or_(path == root, path.like(root + "/%"))


async def _selection(session: AsyncSession, authz: Authorizer, plan_node: OrgNode,
                     filters: TargetFilters) -> Select[uuid.UUID, uuid.UUID]:
    """The live customers under the plan's node that match every filter: (id, node id)."""
    stmt = (select(Customer.id, Customer.node_id).join(OrgNode, OrgNode.id == Customer.node_id)
            .where(_within(OrgNode.path, plan_node.path), Customer.merged_into_id.is_(None),
                   Customer.status.in_([CustomerStatus(s) for s in filters.statuses])))
    if filters.node_ids:
        paths = []
        for i, node_id in enumerate(filters.node_ids):
            node = await node_for(session, authz, node_id, READ, field=f"filters.nodeIds.{i}")
            paths.append(node.path)
        stmt = stmt.where(or_(*(_within(OrgNode.path, p) for p in paths)))
    if filters.grades:
        stmt = stmt.where(Customer.id.in_(select(CustomerGrade.customer_id)
                                          .where(CustomerGrade.grade.in_(filters.grades),
                                                 CustomerGrade.on_scale)))  # the unrated have no grade
    if filters.tiers:
        stmt = stmt.where(Customer.id.in_(select(CustomerGrade.customer_id)
                                          .where(CustomerGrade.tier.in_(filters.tiers))))
    if filters.kinds:
        stmt = stmt.where(Customer.kind.in_(filters.kinds))
    if filters.has_units is not None:
        owns = exists().where(CustomerUnit.customer_id == Customer.id)
        stmt = stmt.where(owns if filters.has_units else ~owns)
    if filters.not_surveyed_within_days is not None:
        since = clock.utcnow() - timedelta(days=filters.not_surveyed_within_days)
        stmt = stmt.where(~exists().where(SurveyResult.customer_id == Customer.id, SurveyResult.responded_at >= since))
    return stmt


async def create_plan(session: AsyncSession, authz: Authorizer, data: PlanCreate) -> ReturnVisitPlan:
    node = await node_for(session, authz, data.node_id, WRITE)
    if data.questionnaire_id is not None:
        require_usable(await get_questionnaire(session, authz, data.questionnaire_id, field="questionnaireId"),
                "questionnaireId")
    chosen = await _selection(session, authz, node, data.filters)
    count = await session.scalar(select(func.count()).select_from(chosen.subquery()))
    if count and count > MAX_TARGETS:
        raise ProblemError("conflict", f"The filters choose {count} customers; a plan reaches at most {MAX_TARGETS}. "
                                       "Narrow them, or split the campaign into several plans.",
                           errors=[field_error("filters", f"{count} customers")])
    plan = ReturnVisitPlan(
        number=await next_number(session, "HF", await local_year(session, clock.utcnow())), node_id=node.id,
        title=data.title, method=data.method, questionnaire_id=data.questionnaire_id, due_on=data.due_on,
        filters=msgspec.to_builtins(data.filters), status=PlanStatus.open, created_by=authz.principal.subject)
    session.add(plan)
    await session.flush()
    rows = (await session.execute(chosen.order_by(Customer.id))).all()
    table = ReturnVisitTarget.__table__
    for start in range(0, len(rows), INSERT_BATCH):
        await session.execute(insert(table), [
            {"id": new_id(), "plan_id": plan.id, "customer_id": cid, "node_id": nid, "due_on": data.due_on,
             "status": TargetStatus.pending, "attempts": 0, "version": 1}
            for cid, nid in rows[start:start + INSERT_BATCH]])
    await session.refresh(plan)
    await audit.record(session, action="surveys.plan.create", entity_type=PLAN, entity_id=plan.id,
                       after={**audit.snapshot(plan), "targets": len(rows)})
    return plan


# An open plan is changed, its targets worked and results recorded, until it is closed.
PLAN_FLOW = Workflow("return-visit plan", {
    "update": ([PlanStatus.open], [PlanStatus.open]),
    "work": ([PlanStatus.open], [PlanStatus.open]),
    "close": ([PlanStatus.open], [PlanStatus.closed]),
})


def _label(plan: ReturnVisitPlan) -> str:
    return f"Return-visit plan {plan.number}"


async def update_plan(session: AsyncSession, authz: Authorizer, plan: ReturnVisitPlan, path: str,
                      data: PlanUpdate) -> ReturnVisitPlan:
    authz.require(WRITE, path)
    PLAN_FLOW.require("update", plan.status, _label(plan))
    changes = provided(data)
    before = audit.snapshot(plan)
    for name, value in changes.items():
        setattr(plan, name, value)
    moved = 0
    if "due_on" in changes:
        result = await session.execute(
            update(ReturnVisitTarget).where(ReturnVisitTarget.plan_id == plan.id,
                                            ReturnVisitTarget.status == TargetStatus.pending)
            .values(due_on=data.due_on, version=ReturnVisitTarget.version + 1)
            .execution_options(synchronize_session=False))
        moved = rowcount(result)
    return await saved(session, plan, "surveys.plan.update", PLAN, before=before,
                       snapshot=lambda plan: {**audit.snapshot(plan), "targetsMoved": moved})


async def close_plan(session: AsyncSession, authz: Authorizer, plan: ReturnVisitPlan, path: str,
                     data: Closing) -> ReturnVisitPlan:
    authz.require(WRITE, path)
    PLAN_FLOW.require("close", plan.status, _label(plan))
    before = audit.snapshot(plan)
    result = await session.execute(
        update(ReturnVisitTarget).where(ReturnVisitTarget.plan_id == plan.id,
                                        ReturnVisitTarget.status.in_([TargetStatus.pending, TargetStatus.unreachable]))
        .values(status=TargetStatus.cancelled, version=ReturnVisitTarget.version + 1)
        .execution_options(synchronize_session=False))
    plan.status = PLAN_FLOW.to("close", plan.status, PlanStatus.closed, _label(plan))
    return await saved(session, plan, "surveys.plan.close", PLAN, before=before,
                       snapshot=lambda plan: {**audit.snapshot(plan), "targetsCancelled": rowcount(result)},
                       reason=data.reason)


# ------------------------------------------------------------------------------ targets

TARGET_SORT = {"dueOn": ReturnVisitTarget.due_on, "customerNumber": Customer.number,
               "createdAt": ReturnVisitTarget.created_at}


async def get_target(session: AsyncSession, authz: Authorizer, target_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[ReturnVisitTarget, str]:
    return await get_at_node(session, authz, ReturnVisitTarget, target_id, READ, "return-visit target", lock=lock)


async def _targets_out(session: AsyncSession, targets: Sequence[ReturnVisitTarget], today: date) -> list[TargetOut]:
    """Targets with their customers' numbers and names and their results, in one query each."""
    if not targets:
        return []
    ids = [t.id for t in targets]
    customers = {c.id: c for c in (await session.execute(
        select(Customer.id, Customer.number, Customer.name).where(
            Customer.id.in_({t.customer_id for t in targets})))).all()}
    results = dict((await session.execute(select(SurveyResult.target_id, SurveyResult.id)
                                          .where(SurveyResult.target_id.in_(ids)))).all())
    return [TargetOut(id=t.id, plan_id=t.plan_id, customer_id=t.customer_id,
                      customer_number=customers[t.customer_id].number, customer_name=customers[t.customer_id].name,
                      node_id=t.node_id, due_on=t.due_on, status=t.status,
                      overdue=t.status is TargetStatus.pending and t.due_on < today, attempts=t.attempts, note=t.note,
                      result_id=results.get(t.id), completed_at=t.completed_at, version=t.version) for t in targets]


async def target_out(session: AsyncSession, target: ReturnVisitTarget) -> TargetOut:
    return (await _targets_out(session, [target], await bound.today(session)))[0]


async def list_targets(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                       plan_id: uuid.UUID | None, status: TargetStatus | None, overdue: bool | None,
                       customer_id: uuid.UUID | None, node_id: uuid.UUID | None) -> Page[TargetOut]:
    today = await bound.today(session)
    stmt: Select[Any] = (select(ReturnVisitTarget).join(Customer, Customer.id == ReturnVisitTarget.customer_id)
                         .where(authz.visible(READ, ReturnVisitTarget.node_id)))
    if plan_id is not None:
        stmt = stmt.where(ReturnVisitTarget.plan_id == plan_id)
    if status is not None:
        stmt = stmt.where(ReturnVisitTarget.status == status)
    if overdue is not None:
        stmt = stmt.where(_overdue(today) if overdue else ~_overdue(today))
    if customer_id is not None:
        stmt = stmt.where(ReturnVisitTarget.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, ReturnVisitTarget.node_id, node_id))
    page = await paginate(session, stmt, params, sortable=TARGET_SORT, default_sort=["dueOn", "customerNumber"],
                          tiebreak=ReturnVisitTarget.id, to_schema=lambda t: t)
    return Page(items=await _targets_out(session, page.items, today), total=page.total, limit=page.limit,
                offset=page.offset)


_WORKABLE = (TargetStatus.pending, TargetStatus.unreachable, TargetStatus.declined)


async def open_plan_of(session: AsyncSession, target: ReturnVisitTarget) -> ReturnVisitPlan:
    plan = await session.get(ReturnVisitPlan, target.plan_id)
    assert plan is not None  # a foreign key holds it
    PLAN_FLOW.require("work", plan.status, _label(plan))
    return plan


async def update_target(session: AsyncSession, authz: Authorizer, target: ReturnVisitTarget, path: str,
                        data: TargetUpdate) -> ReturnVisitTarget:
    authz.require(WRITE, path)
    await open_plan_of(session, target)
    if target.status not in _WORKABLE:
        raise ProblemError("conflict", f"The target is {target.status.value}.")
    changes = provided(data)
    before = audit.snapshot(target)
    if changes.get("status") == "unreachable":
        target.attempts += 1
    if "status" in changes:
        changes["status"] = TargetStatus(changes["status"])
    for name, value in changes.items():
        setattr(target, name, value)
    return await saved(session, target, "surveys.target.update", TARGET, before=before)
