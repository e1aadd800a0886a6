"""Wire shapes of visit planning."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from app.core.schemas import ONE_LINE_PATTERN, Input, Schema
from app.domains.visiting.models import PlanStatus

Line200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_PATTERN)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]
EveryDays = Annotated[int, msgspec.Meta(ge=1, le=3650, description="The most days between two visits.")]


class RouteIn(Input):
    """A route: its customers in visiting order, and its own visit frequency (seed 000 §21 ④);
    without one each customer's comes from their grade (the grading rules' ``visitDays``)."""

    name: Line200
    customer_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]
    every_days: EveryDays | None = None


Routes = Annotated[list[RouteIn], msgspec.Meta(max_length=50)]


class AreaCreate(Input):
    """A visit area at a branch or project; its customers must sit there or below."""

    node_id: uuid.UUID
    name: Line200
    transport: Text | None = None  # §21 ② 交通考察分析
    routes: Routes = msgspec.field(default_factory=list)


class AreaUpdate(Input):
    name: Line200 | msgspec.UnsetType = msgspec.UNSET
    transport: Text | None | msgspec.UnsetType = msgspec.UNSET
    routes: Routes | msgspec.UnsetType = msgspec.UNSET  # replaces every route


class StopOut(Schema):
    customer_id: uuid.UUID
    grade: str | None  # the customer's grade; None: ungraded or outside the scale
    every_days: int | None  # the route's frequency, else the grade's; None: no routine visits


class RouteOut(Schema):
    id: uuid.UUID
    name: str
    every_days: int | None  # the route's own
    stops: list[StopOut]


class AreaOut(Schema):
    id: uuid.UUID
    node_id: uuid.UUID
    name: str
    transport: str | None
    routes: list[RouteOut]
    created_at: datetime
    version: int


class AreaSummary(Schema):
    id: uuid.UUID
    node_id: uuid.UUID
    name: str
    version: int


class PlanCreate(Input):
    """§21 ⑤ 区域拜访计划: an area's visits from ``startsOn`` to ``endsOn`` (inclusive)."""

    area_id: uuid.UUID
    title: Line200
    starts_on: date
    ends_on: date


class PlanUpdate(Input):
    title: Line200 | msgspec.UnsetType = msgspec.UNSET
    starts_on: date | msgspec.UnsetType = msgspec.UNSET
    ends_on: date | msgspec.UnsetType = msgspec.UNSET


class PlanClose(Input):
    summary: Text  # §21 ⑦ 区域客户拜访总结


class RegionalPlanOut(Schema):
    id: uuid.UUID
    area_id: uuid.UUID
    node_id: uuid.UUID
    title: str
    starts_on: date
    ends_on: date
    status: PlanStatus
    summary: str | None
    closed_at: datetime | None
    closed_by: str | None
    created_at: datetime
    version: int


class PlanLine(Schema):
    route_id: uuid.UUID
    route: str
    customer_id: uuid.UUID
    every_days: int | None
    due: int  # visits the frequency asks for in the period
    planned: int  # visits planned in the period and not made yet (cancelled ones left out)
    done: int  # visits made in the period


class PlanFigures(Schema):
    due: int
    planned: int
    done: int
    completion: Decimal | None  # done as a percent of due; None when nothing was due


class PlanSummaryOut(Schema):
    """The plan against the visits: per route and customer, and in total."""

    plan_id: uuid.UUID
    starts_on: date
    ends_on: date
    totals: PlanFigures
    lines: list[PlanLine]


class KeyCustomerOut(Schema):
    """§21 ⑧ 重要客户拜访计划: a key customer (an account manager, or grade A or B) and when
    their next visit is due."""

    id: uuid.UUID  # the customer's
    node_id: uuid.UUID
    grade: str | None
    account_manager_id: str | None
    every_days: int | None
    last_visited_at: datetime | None
    next_due_on: date | None  # None: no routine visits for the grade
    overdue: bool
    next_planned_at: datetime | None  # the next visit planned and not yet made
