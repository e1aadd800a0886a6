"""Regional visit plans (seed 000 §21 ⑤–⑦): an area's visits over a period, compared with the
visits themselves, and closed with the written regional summary.

What was due is the frequency times the period (each stop: the period's days over its
frequency, rounded up); planned and done are counted from the visits to the area's customers
in the period, in the group's time zone.
"""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.grading.services.grades import current_rules
from app.domains.interactions.models import Visit, VisitStatus
from app.domains.org import services as org
from app.domains.org.models import OrgNode
from app.domains.org.services import records_at
from app.domains.visiting.models import PlanStatus, RegionalVisitPlan, VisitArea
from app.domains.visiting.schemas import (
    PlanClose,
    PlanCreate,
    PlanFigures,
    PlanLine,
    PlanSummaryOut,
    PlanUpdate,
    RegionalPlanOut,
)
from app.domains.visiting.services.areas import MADE, READ, WRITE, every_days, grades_of, routes_of
from app.tenants.bound import time_zone

PLAN = "regional_visit_plan"
PLAN_SORT = {"startsOn": RegionalVisitPlan.starts_on, "createdAt": RegionalVisitPlan.created_at}
MAX_DAYS = 366


async def get_plan(session: AsyncSession, authz: Authorizer, plan_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[RegionalVisitPlan, str]:
    return await get_at_node(session, authz, RegionalVisitPlan, plan_id, READ, "regional visit plan", lock=lock)


def plan_out(p: RegionalVisitPlan) -> RegionalPlanOut:
    return RegionalPlanOut(id=p.id, area_id=p.area_id, node_id=p.node_id, title=p.title, starts_on=p.starts_on,
                   ends_on=p.ends_on, status=p.status, summary=p.summary, closed_at=p.closed_at,
                   closed_by=p.closed_by, created_at=p.created_at, version=p.version)


async def list_plans(session: AsyncSession, authz: Authorizer, params: PageParams, *, node_id: uuid.UUID | None,
                     area_id: uuid.UUID | None, status: PlanStatus | None) -> Page[RegionalPlanOut]:
    stmt: Select[Any] = select(RegionalVisitPlan).where(authz.visible(READ, RegionalVisitPlan.node_id))
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, RegionalVisitPlan.node_id, node_id))
    if area_id is not None:
        stmt = stmt.where(RegionalVisitPlan.area_id == area_id)
    if status is not None:
        stmt = stmt.where(RegionalVisitPlan.status == status)
    return await paginate(session, stmt, params, sortable=PLAN_SORT, default_sort=["-startsOn"],
                          tiebreak=RegionalVisitPlan.id, to_schema=plan_out)


def _check_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on or (ends_on - starts_on).days >= MAX_DAYS:
        raise ProblemError("validation", f"A plan's period runs forwards, at most {MAX_DAYS} days.",
                           errors=[field_error("endsOn", f"on or after startsOn, within {MAX_DAYS} days")])


async def create_plan(session: AsyncSession, authz: Authorizer, data: PlanCreate) -> RegionalVisitPlan:
    # As for a node a body names (node_for): 404 for an area the caller does not see, 403 for
    # one they see but may not plan visits in.
    row = (await session.execute(select(VisitArea, OrgNode.path).join(OrgNode, OrgNode.id == VisitArea.node_id)
                                 .where(VisitArea.id == data.area_id))).first()
    if row is None or not (authz.can("org.read", row[1]) or authz.can(READ, row[1])):
        raise ProblemError("not-found", f"No visit area with id {data.area_id}.",
                           errors=[field_error("areaId", "no such visit area")])
    area, path = row[0], row[1]
    authz.require(WRITE, path)
    _check_period(data.starts_on, data.ends_on)
    plan = RegionalVisitPlan(area_id=area.id, node_id=area.node_id, title=data.title, starts_on=data.starts_on,
                             ends_on=data.ends_on, status=PlanStatus.open)
    session.add(plan)
    return await saved(session, plan, "visiting.plan.create", PLAN)


def _require_open(plan: RegionalVisitPlan) -> None:
    if plan.status is not PlanStatus.open:
        raise ProblemError("conflict", f"The regional visit plan {plan.title!r} is {plan.status.value}: "
                                       "a closed plan keeps its period and summary.")


async def update_plan(session: AsyncSession, authz: Authorizer, plan: RegionalVisitPlan, path: str,
                      data: PlanUpdate) -> RegionalVisitPlan:
    authz.require(WRITE, path)
    _require_open(plan)
    before = audit.snapshot(plan)
    if data.title is not msgspec.UNSET:
        plan.title = data.title
    starts = plan.starts_on if data.starts_on is msgspec.UNSET else data.starts_on
    ends = plan.ends_on if data.ends_on is msgspec.UNSET else data.ends_on
    _check_period(starts, ends)
    plan.starts_on, plan.ends_on = starts, ends
    return await saved(session, plan, "visiting.plan.update", PLAN, before=before)


async def close_plan(session: AsyncSession, authz: Authorizer, plan: RegionalVisitPlan, path: str,
                     data: PlanClose) -> RegionalVisitPlan:
    """§21 ⑦ 编写《区域客户拜访总结》: the summary written, the plan closed; the figures it was
    closed on go into the audit record."""
    authz.require(WRITE, path)
    _require_open(plan)
    figures = (await plan_summary(session, plan)).totals
    before = audit.snapshot(plan)
    plan.status, plan.summary = PlanStatus.closed, data.summary
    plan.closed_at, plan.closed_by = clock.utcnow(), authz.principal.subject
    return await saved(session, plan, "visiting.plan.close", PLAN, before=before,
                       snapshot=lambda p: {**audit.snapshot(p), "figures": msgspec.to_builtins(figures)})


def _bounds(plan: RegionalVisitPlan, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return (datetime.combine(plan.starts_on, time(), tz),
            datetime.combine(plan.ends_on + timedelta(days=1), time(), tz))


async def plan_summary(session: AsyncSession, plan: RegionalVisitPlan) -> PlanSummaryOut:
    area = await session.get(VisitArea, plan.area_id)
    assert area is not None  # a foreign key holds it
    routes = await routes_of(session, area.id)
    customers = list({s.customer_id for _, stops in routes for s in stops})
    start, end = _bounds(plan, await time_zone(session))
    planned: dict[uuid.UUID, int] = {}
    done: dict[uuid.UUID, int] = {}
    if customers:
        in_period = Visit.customer_id.in_(customers)
        planned = dict((await session.execute(
            select(Visit.customer_id, func.count()).where(
                in_period, Visit.status.in_((VisitStatus.planned, VisitStatus.submitted)),
                Visit.planned_at >= start, Visit.planned_at < end).group_by(Visit.customer_id))).tuples().all())
        done = dict((await session.execute(
            select(Visit.customer_id, func.count()).where(
                in_period, Visit.status.in_(MADE), Visit.visited_at >= start, Visit.visited_at < end)
            .group_by(Visit.customer_id))).tuples().all())
    grades = await grades_of(session, customers)
    rules = await current_rules(session)
    days = (plan.ends_on - plan.starts_on).days + 1
    lines = []
    for route, stops in routes:
        for s in stops:
            every = every_days(rules, route, grades.get(s.customer_id))
            # A customer on two routes of the area: their visits count on the first only.
            first = next(r for r, ss in routes if any(x.customer_id == s.customer_id for x in ss))
            counted = first.id == route.id
            lines.append(PlanLine(route_id=route.id, route=route.name, customer_id=s.customer_id, every_days=every,
                                  due=math.ceil(days / every) if every else 0,
                                  planned=planned.get(s.customer_id, 0) if counted else 0,
                                  done=done.get(s.customer_id, 0) if counted else 0))
    due = sum(line.due for line in lines)
    made = sum(line.done for line in lines)
    totals = PlanFigures(due=due, planned=sum(line.planned for line in lines), done=made,
                         completion=(Decimal(made * 100) / due).quantize(Decimal("0.01")) if due else None)
    return PlanSummaryOut(plan_id=plan.id, starts_on=plan.starts_on, ends_on=plan.ends_on, totals=totals,
                          lines=lines)


@org.live_records("visiting")
async def _visiting_at(session: AsyncSession, holder: org.Holder) -> str | None:
    return await records_at(session, holder, [(VisitArea, "visit areas"), (RegionalVisitPlan, "regional visit plans")])
