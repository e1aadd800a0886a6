"""Visit areas and their routes (seed 000 §21 ①–④), the visit frequency of each stop, and
the key-customer visit plan (§21 ⑧).

A stop's frequency is its route's when the area sets one, otherwise the one the grading
rules give the customer's grade (``visitDays``): the grade's treatment, not a second notion.
Key customers are grading's too: those with an account manager, or of grade A or B.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import msgspec
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for, subtree_filter
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer
from app.domains.grading.models import CustomerGrade, Grade
from app.domains.grading.schemas import Rules
from app.domains.grading.services.grades import current_rules
from app.domains.interactions.models import Visit, VisitStatus
from app.domains.org.models import NodeKind
from app.domains.visiting.models import VisitArea, VisitRoute, VisitStop
from app.domains.visiting.schemas import (
    AreaCreate,
    AreaOut,
    AreaSummary,
    AreaUpdate,
    KeyCustomerOut,
    RouteIn,
    RouteOut,
    StopOut,
)
from app.tenants.bound import today

READ, WRITE = "interactions.read", "interactions.write"
AREA = "visit_area"
AREA_SORT = {"name": VisitArea.name, "createdAt": VisitArea.created_at}
# An area is a branch's or a project's region.
AREA_NODES = (NodeKind.branch, NodeKind.project)
KEY_GRADES = (Grade.A, Grade.B)
MADE = (VisitStatus.visited, VisitStatus.reported)
OPEN = (VisitStatus.planned, VisitStatus.submitted)


async def get_area(session: AsyncSession, authz: Authorizer, area_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[VisitArea, str]:
    return await get_at_node(session, authz, VisitArea, area_id, READ, "visit area", lock=lock)


async def grades_of(session: AsyncSession, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Grade]:
    """The on-scale grades of these customers (the unrated and ungraded are left out)."""
    if not customer_ids:
        return {}
    rows = await session.execute(select(CustomerGrade.customer_id, CustomerGrade.grade)
                                 .where(CustomerGrade.customer_id.in_(customer_ids), CustomerGrade.on_scale))
    return dict(rows.tuples().all())


def every_days(rules: Rules, route: VisitRoute | None, grade: Grade | None) -> int | None:
    if route is not None and route.every_days is not None:
        return route.every_days
    return rules.visit_days.of(grade) if grade is not None else None


async def routes_of(session: AsyncSession, area_id: uuid.UUID) -> list[tuple[VisitRoute, list[VisitStop]]]:
    routes = (await session.scalars(select(VisitRoute).where(VisitRoute.area_id == area_id)
                                    .order_by(VisitRoute.position))).all()
    stops = (await session.scalars(select(VisitStop).where(VisitStop.route_id.in_([r.id for r in routes]))
                                   .order_by(VisitStop.position))).all() if routes else []
    return [(r, [s for s in stops if s.route_id == r.id]) for r in routes]


async def area_out(session: AsyncSession, area: VisitArea) -> AreaOut:
    routes = await routes_of(session, area.id)
    grades = await grades_of(session, [s.customer_id for _, stops in routes for s in stops])
    rules = await current_rules(session)

    def stop(route: VisitRoute, s: VisitStop) -> StopOut:
        grade = grades.get(s.customer_id)
        return StopOut(customer_id=s.customer_id, grade=grade.value if grade else None,
                       every_days=every_days(rules, route, grade))

    return AreaOut(id=area.id, node_id=area.node_id, name=area.name, transport=area.transport,
                   routes=[RouteOut(id=r.id, name=r.name, every_days=r.every_days, stops=[stop(r, s) for s in stops])
                           for r, stops in routes],
                   created_at=area.created_at, version=area.version)


def _area_summary(a: VisitArea) -> AreaSummary:
    return AreaSummary(id=a.id, node_id=a.node_id, name=a.name, version=a.version)


async def list_areas(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                     node_id: uuid.UUID | None) -> Page[AreaSummary]:
    stmt: Select[Any] = select(VisitArea).where(authz.visible(READ, VisitArea.node_id))
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, VisitArea.node_id, node_id))
    return await paginate(session, stmt, params, sortable=AREA_SORT, default_sort=["name"], tiebreak=VisitArea.id,
                          to_schema=_area_summary)


async def _routes(session: AsyncSession, authz: Authorizer, area: VisitArea, path: str,
                  routes: Sequence[RouteIn]) -> list[dict[str, Any]]:
    """The area's routes replaced by these; each customer one the caller plans visits for, at
    the area's node or below it (422 naming the line otherwise)."""
    old = (await session.scalars(select(VisitRoute).where(VisitRoute.area_id == area.id))).all()
    for row in old:
        await session.delete(row)
    await session.flush()
    trail = []
    for i, r in enumerate(routes):
        route = VisitRoute(area_id=area.id, position=i, name=r.name, every_days=r.every_days)
        session.add(route)
        await session.flush()
        for j, customer_id in enumerate(r.customer_ids):
            field = f"routes.{i}.customerIds.{j}"
            customer, node = await customer_for(session, authz, customer_id, WRITE, field=field)
            if not (node.path == path or node.path.startswith(path + "/")):
                raise ProblemError("validation", f"Customer {customer.number} is not in the area's region.",
                                   errors=[field_error(field, "a customer at the area's node or below it")])
            session.add(VisitStop(route_id=route.id, position=j, customer_id=customer.id))
        trail.append({"name": r.name, "everyDays": r.every_days, "customerIds": [str(c) for c in r.customer_ids]})
    await session.flush()
    return trail


async def create_area(session: AsyncSession, authz: Authorizer, data: AreaCreate) -> VisitArea:
    node = await node_for(session, authz, data.node_id, WRITE, kinds=AREA_NODES)
    area = VisitArea(node_id=node.id, name=data.name, transport=data.transport)
    session.add(area)
    await session.flush()
    routes = await _routes(session, authz, area, node.path, data.routes)
    return await saved(session, area, "visiting.area.create", AREA,
                       snapshot=lambda a: {**audit.snapshot(a), "routes": routes})


async def update_area(session: AsyncSession, authz: Authorizer, area: VisitArea, path: str,
                      data: AreaUpdate) -> VisitArea:
    authz.require(WRITE, path)
    before = audit.snapshot(area)
    extra: dict[str, Any] = {}
    if data.name is not msgspec.UNSET:
        area.name = data.name
    if data.transport is not msgspec.UNSET:
        area.transport = data.transport
    if data.routes is not msgspec.UNSET:
        extra["routes"] = await _routes(session, authz, area, path, data.routes)
    area.updated_at = clock.utcnow()  # the version moves when only the routes changed too
    return await saved(session, area, "visiting.area.update", AREA, before=before,
                       snapshot=lambda a: {**audit.snapshot(a), **extra})


# ------------------------------------------------------------- the key-customer visit plan


def _is_key() -> Any:
    return or_(CustomerGrade.account_manager_id.is_not(None),
               and_(CustomerGrade.grade.in_(KEY_GRADES), CustomerGrade.on_scale))


async def key_customers(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                        node_id: uuid.UUID | None, overdue: bool | None) -> Page[KeyCustomerOut]:
    """Each key customer the caller may plan visits for, with their last visit and when the
    next is due (the last visit plus the grade's frequency; today when never visited)."""
    last = (select(func.max(Visit.visited_at)).where(Visit.customer_id == Customer.id, Visit.status.in_(MADE))
            .correlate(Customer).scalar_subquery())
    stmt = (select(Customer, CustomerGrade, last.label("last"))
            .join(CustomerGrade, CustomerGrade.customer_id == Customer.id)
            .where(_is_key(), Customer.merged_into_id.is_(None), authz.visible(READ, Customer.node_id)))
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Customer.node_id, node_id))
    rules = await current_rules(session)
    on = await today(session)
    rows = [r for r in (await session.execute(stmt.order_by(Customer.number))).all()
            if overdue is None or _overdue(rules, r, on) is overdue]
    page = rows[params.offset:params.offset + params.limit]
    ids = [r[0].id for r in page]
    upcoming = dict((await session.execute(
        select(Visit.customer_id, func.min(Visit.planned_at)).where(Visit.customer_id.in_(ids), Visit.status.in_(OPEN))
        .group_by(Visit.customer_id))).tuples().all()) if ids else {}
    items = []
    for customer, grade, last_at in page:
        days = rules.visit_days.of(grade.grade) if grade.on_scale else None
        items.append(KeyCustomerOut(
            id=customer.id, node_id=customer.node_id, grade=grade.grade.value if grade.on_scale else None,
            account_manager_id=grade.account_manager_id, every_days=days, last_visited_at=last_at,
            next_due_on=_due(days, last_at, on), overdue=_overdue(rules, (customer, grade, last_at), on),
            next_planned_at=upcoming.get(customer.id)))
    return Page(items=items, total=len(rows), limit=params.limit, offset=params.offset)


def _due(days: int | None, last_at: Any, on: date) -> date | None:
    if days is None:
        return None
    return on if last_at is None else last_at.date() + timedelta(days=days)


def _overdue(rules: Rules, row: Any, on: date) -> bool:
    _, grade, last_at = row
    due = _due(rules.visit_days.of(grade.grade) if grade.on_scale else None, last_at, on)
    return due is not None and (due < on or (last_at is None))
