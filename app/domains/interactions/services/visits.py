"""Visits: planned for a customer, made (needs, objections, gifts, the next appointment),
reported with their expenses, or cancelled.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.schemas import Page, provided
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer
from app.domains.interactions.models import Visit, VisitStatus
from app.domains.interactions.schemas import (
    Cancellation,
    CostsOut,
    VisitCreate,
    VisitOut,
    VisitRecord,
    VisitReport,
    VisitSummary,
    VisitUpdate,
    costs,
    gift_lines,
    gift_lines_out,
)
from app.domains.interactions.services.common import READ, VISIT, WRITE, require_consent, trail_snapshot
from app.tenants.bound import local_year

# ------------------------------------------------------------------------------- visits

VISIT_SORT = {"plannedAt": Visit.planned_at, "createdAt": Visit.created_at, "number": Visit.number}


async def get_visit(session: AsyncSession, authz: Authorizer, visit_id: uuid.UUID, *,
                    lock: bool = False) -> tuple[Visit, str]:
    return await get_at_node(session, authz, Visit, visit_id, READ, "visit", lock=lock)


async def visit_out(session: AsyncSession, v: Visit) -> VisitOut:
    follow_up = await session.scalar(select(Visit.id).where(Visit.follow_up_of_id == v.id)
                                     .order_by(Visit.created_at).limit(1))
    expenses = None if v.status is not VisitStatus.reported else CostsOut.of(
        v.expense_meals, v.expense_transport, v.expense_gifts, v.expense_other)
    return VisitOut(id=v.id, number=v.number, customer_id=v.customer_id, node_id=v.node_id, owner_id=v.owner_id,
                    purpose=v.purpose, planned_at=v.planned_at, location=v.location, status=v.status,
                    follow_up_of_id=v.follow_up_of_id, follow_up_id=follow_up, visited_at=v.visited_at,
                    needs=list(v.needs or []), objections=list(v.objections or []), gifts=gift_lines_out(v.gifts),
                    next_appointment_at=v.next_appointment_at, notes=v.notes, report=v.report,
                    reported_at=v.reported_at, expenses=expenses, cancel_reason=v.cancel_reason,
                    created_at=v.created_at, version=v.version)


def _visit_summary(v: Visit) -> VisitSummary:
    return VisitSummary(id=v.id, number=v.number, customer_id=v.customer_id, node_id=v.node_id, owner_id=v.owner_id,
                        purpose=v.purpose, planned_at=v.planned_at, status=v.status, version=v.version)


async def list_visits(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: VisitStatus | None,
                      customer_id: uuid.UUID | None, node_id: uuid.UUID | None, mine: bool | None,
                      planned_from: datetime | None, planned_to: datetime | None) -> Page[VisitSummary]:
    stmt: Select[Any] = select(Visit).where(authz.visible(READ, Visit.node_id))
    if status is not None:
        stmt = stmt.where(Visit.status == status)
    if customer_id is not None:
        stmt = stmt.where(Visit.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Visit.node_id, node_id))
    if mine is not None:
        me = Visit.owner_id == authz.principal.subject
        stmt = stmt.where(me if mine else ~me)
    if planned_from is not None:
        stmt = stmt.where(Visit.planned_at >= planned_from)
    if planned_to is not None:
        stmt = stmt.where(Visit.planned_at < planned_to)
    return await paginate(session, stmt, params, sortable=VISIT_SORT, default_sort=["plannedAt"], tiebreak=Visit.id,
                          to_schema=_visit_summary)


async def _new_visit(session: AsyncSession, customer: Customer, node_id: uuid.UUID, owner: str, purpose: str,
                     planned_at: datetime, location: str | None, follow_up_of: uuid.UUID | None = None) -> Visit:
    visit = Visit(number=await next_number(session, "BF", await local_year(session, clock.utcnow())),
                  customer_id=customer.id, node_id=node_id, owner_id=owner, purpose=purpose, planned_at=planned_at,
                  location=location, status=VisitStatus.planned, follow_up_of_id=follow_up_of, needs=[],
                  objections=[], gifts=[])
    session.add(visit)
    return await saved(session, visit, "interactions.visit.plan", VISIT, snapshot=trail_snapshot)


async def create_visit(session: AsyncSession, authz: Authorizer, data: VisitCreate) -> Visit:
    customer, node = await customer_for(session, authz, data.customer_id, WRITE)
    owner = await staff_subject(session, data.owner_id, "ownerId") if data.owner_id else authz.principal.subject
    return await _new_visit(session, customer, node.id, owner, data.purpose, data.planned_at, data.location)


# A planned visit is changed, made or cancelled; a visit made is reported.
VISIT_FLOW = Workflow("visit", {
    "update": ([VisitStatus.planned], [VisitStatus.planned]),
    "record": ([VisitStatus.planned], [VisitStatus.visited]),
    "report": ([VisitStatus.visited], [VisitStatus.reported]),
    "cancel": ([VisitStatus.planned], [VisitStatus.cancelled]),
})


def _label(visit: Visit) -> str:
    return f"Visit {visit.number}"


async def update_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: VisitUpdate) -> Visit:
    authz.require(WRITE, path)
    VISIT_FLOW.require("update", visit.status, _label(visit))
    changes = provided(data)
    if data.owner_id is not msgspec.UNSET:
        changes["owner_id"] = await staff_subject(session, data.owner_id, "ownerId")
    before = trail_snapshot(visit)
    for name, value in changes.items():
        setattr(visit, name, value)
    return await saved(session, visit, "interactions.visit.update", VISIT, before=before, snapshot=trail_snapshot)


async def record_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: VisitRecord) -> Visit:
    """The visit took place: what was heard and handed over; a next appointment plans the
    follow-up visit (same customer, same visitor)."""
    authz.require(WRITE, path)
    VISIT_FLOW.require("record", visit.status, _label(visit))
    await require_consent(session, visit.customer_id, {"needs": data.needs, "objections": data.objections})
    before = trail_snapshot(visit)
    gifts, _ = gift_lines(data.gifts)
    visit.status = VISIT_FLOW.to("record", visit.status, VisitStatus.visited, _label(visit))
    visit.visited_at = data.visited_at or clock.utcnow()
    visit.needs, visit.objections, visit.gifts = list(data.needs), list(data.objections), gifts
    visit.next_appointment_at, visit.notes = data.next_appointment_at, data.notes
    await session.flush()
    await session.refresh(visit)
    follow_up = None
    if data.next_appointment_at is not None:
        customer = await session.get(Customer, visit.customer_id)
        assert customer is not None  # a foreign key holds it
        follow_up = await _new_visit(session, customer, visit.node_id, visit.owner_id,
                                     f"Follow-up of {visit.number}: {visit.purpose}"[:500], data.next_appointment_at,
                                     visit.location, follow_up_of=visit.id)
    await audit.record(session, action="interactions.visit.record", entity_type=VISIT, entity_id=visit.id,
                       before=before, after=trail_snapshot(visit, followUp=str(follow_up.id) if follow_up else None))
    return visit


async def report_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: VisitReport) -> Visit:
    authz.require(WRITE, path)
    before = trail_snapshot(visit)
    visit.status = VISIT_FLOW.to("report", visit.status, VisitStatus.reported, _label(visit))
    visit.report, visit.reported_at = data.report, clock.utcnow()
    visit.expense_meals, visit.expense_transport, visit.expense_gifts, visit.expense_other = costs(data.expenses)
    return await saved(session, visit, "interactions.visit.report", VISIT, before=before, snapshot=trail_snapshot)


async def cancel_visit(session: AsyncSession, authz: Authorizer, visit: Visit, path: str,
                       data: Cancellation) -> Visit:
    authz.require(WRITE, path)
    before = trail_snapshot(visit)
    visit.status = VISIT_FLOW.to("cancel", visit.status, VisitStatus.cancelled, _label(visit))
    visit.cancel_reason = data.reason
    return await saved(session, visit, "interactions.visit.cancel", VISIT, before=before, snapshot=trail_snapshot,
                       reason=data.reason)
