"""Warranty repairs (保修): warranty periods per category (the group's, or a project's own), and a
repair order per defect — from the owner's app, a complaint, a handover or an inspection — checked
against the warranty from the unit's handover day, assigned to the property company or a
contractor, scheduled, completed, signed off and rated by the owner. Repairs continue after the
property company is replaced: the developer answers for the warranty, not for daily management."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Select, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock, tenant_settings
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for
from app.domains.customers.models import Customer, CustomerUnit
from app.domains.org.models import NodeKind, OrgNode, Unit, UnitStatus
from app.domains.property.common import CONFIGURE, PAID_REPAIRS_SETTING, READ, WRITE, plus_months, unit_for
from app.domains.property.companies import partner_projects
from app.domains.property.models import (
    Assignee,
    CompanyStatus,
    Handover,
    HandoverStatus,
    PropertyCompany,
    RepairOrder,
    RepairSource,
    RepairStatus,
    WarrantyPeriod,
)
from app.domains.property.schemas import (
    AppointmentIn,
    AssignIn,
    CompletionIn,
    OwnRepairCreate,
    RepairCreate,
    RepairOut,
    RepeatedDefect,
    RepeatedPage,
    SignOffIn,
    WarrantyPeriodIn,
    WarrantyPeriodOut,
    WarrantyPeriodUpdate,
)
from app.tenants.bound import local_year, today

ENTITY, PERIOD = "repair_order", "warranty_period"
SERIES = "WX"  # 维修

S = RepairStatus
FLOW = Workflow("repair order", {
    "assign": ([S.open, S.assigned, S.scheduled], [S.assigned]),
    "schedule": ([S.assigned, S.scheduled], [S.scheduled]),
    "complete": ([S.assigned, S.scheduled], [S.completed]),
    "sign_off": ([S.completed], [S.signed_off]),
    "reopen": ([S.completed], [S.assigned]),
    "cancel": ([S.open, S.assigned, S.scheduled], [S.cancelled]),
})
OPEN = (S.open, S.assigned, S.scheduled, S.completed)
SORT = {"createdAt": RepairOrder.created_at, "number": RepairOrder.number,
        "appointmentAt": RepairOrder.appointment_at}


def _snapshot(r: RepairOrder) -> dict[str, Any]:
    return {"number": r.number, "status": r.status.value, "category": r.category, "source": r.source.value,
            "unitId": str(r.unit_id), "paid": r.paid, "warrantyExpiresOn": r.warranty_expires_on.isoformat(),
            "assignee": r.assignee.value if r.assignee else None,
            "companyId": str(r.company_id) if r.company_id else None, "contractor": r.contractor,
            "appointmentAt": r.appointment_at.isoformat() if r.appointment_at else None,
            "workDone": r.work_done, "cost": str(r.cost) if r.cost is not None else None, "rating": r.rating}


def _period_snapshot(p: WarrantyPeriod) -> dict[str, Any]:
    return {"nodeId": str(p.node_id), "category": p.category, "name": p.name, "months": p.months, "basis": p.basis}


# ------------------------------------------------------------------ warranty periods


async def list_periods(session: AsyncSession, authz: Authorizer, project_id: uuid.UUID | None
                       ) -> list[WarrantyPeriodOut]:
    """The group's periods and the projects' own the caller may see; for one project, the
    periods that apply there (its own where it has one, else the group's)."""
    authz.require_anywhere(READ)
    group = select(OrgNode.id).where(OrgNode.kind == NodeKind.group).scalar_subquery()
    rows = (await session.scalars(select(WarrantyPeriod).where(
        (WarrantyPeriod.node_id == group) | authz.visible(READ, WarrantyPeriod.node_id))
        .order_by(WarrantyPeriod.category, WarrantyPeriod.node_id))).all()
    if project_id is None:
        return [WarrantyPeriodOut.of(p) for p in rows]
    own = {p.category: p for p in rows if p.node_id == project_id}
    group_id = await session.scalar(select(OrgNode.id).where(OrgNode.kind == NodeKind.group))
    applying = [*own.values(), *(p for p in rows if p.node_id == group_id and p.category not in own)]
    return [WarrantyPeriodOut.of(p) for p in sorted(applying, key=lambda p: p.category)]


async def create_period(session: AsyncSession, authz: Authorizer, data: WarrantyPeriodIn) -> WarrantyPeriod:
    if data.project_id is not None:
        node = await node_for(session, authz, data.project_id, CONFIGURE, field="projectId", kinds=(NodeKind.project,))
    else:
        root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
        assert root is not None
        node = root
        authz.require(CONFIGURE, node.path)
    taken = await session.scalar(select(WarrantyPeriod.id).where(WarrantyPeriod.node_id == node.id,
                                                                 WarrantyPeriod.category == data.category))
    if taken is not None:
        raise ProblemError("duplicate", f"{node.code} has a warranty period for {data.category} already: change it.",
                           errors=[field_error("category", "exists at that node")])
    period = WarrantyPeriod(node_id=node.id, category=data.category, name=data.name, months=data.months,
                            basis=data.basis)
    session.add(period)
    return await saved(session, period, "property.warranty_period.create", PERIOD, snapshot=_period_snapshot)


async def get_period(session: AsyncSession, authz: Authorizer, period_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[WarrantyPeriod, str]:
    return await get_at_node(session, authz, WarrantyPeriod, period_id, READ, "warranty period", lock=lock)


async def update_period(session: AsyncSession, authz: Authorizer, period: WarrantyPeriod, path: str,
                        data: WarrantyPeriodUpdate) -> WarrantyPeriod:
    """Orders already opened keep the expiry they were checked against."""
    authz.require(CONFIGURE, path)
    before = _period_snapshot(period)
    for name in ("name", "months", "basis"):
        value = getattr(data, name)
        if value is not msgspec.UNSET:
            setattr(period, name, value)
    return await saved(session, period, "property.warranty_period.update", PERIOD, before=before,
                       snapshot=_period_snapshot)


async def period_for(session: AsyncSession, project_id: uuid.UUID, category: str) -> WarrantyPeriod:
    """The project's own period for ``category``, else the group's (422 for an unknown category)."""
    rows = (await session.execute(select(WarrantyPeriod, OrgNode.kind)
                                  .join(OrgNode, OrgNode.id == WarrantyPeriod.node_id)
                                  .where(WarrantyPeriod.category == category,
                                         (WarrantyPeriod.node_id == project_id) | (OrgNode.kind == NodeKind.group))
                                  )).all()
    own = [p for p, kind in rows if kind is NodeKind.project]
    if own:
        return own[0]
    if not rows:
        known = sorted(set((await session.scalars(select(WarrantyPeriod.category))).all()))
        raise ProblemError("validation", f"No warranty period for the category {category}.",
                           errors=[field_error("category", f"one of {', '.join(known)}")])
    return rows[0][0]


async def handed_over_on(session: AsyncSession, unit: Unit, project: OrgNode) -> date:
    """The day the unit was handed over: its handover's, or (a unit handed over before these
    records) the project's handover date; a home not handed over yet has no warranty running."""
    day = await session.scalar(select(Handover.handed_over_on).where(Handover.unit_id == unit.id,
                                                                    Handover.status == HandoverStatus.handed_over))
    if day is not None:
        return day
    if unit.status is UnitStatus.handed_over and project.handover_date is not None:
        return project.handover_date
    raise ProblemError("conflict", f"Unit {unit.number} is not handed over yet: defects before the handover are "
                                   f"recorded in its handover inspection.")


# ------------------------------------------------------------------ repair orders


async def _new_order(session: AsyncSession, unit: Unit, project_id: uuid.UUID, *, category: str, description: str,
                     source: RepairSource, source_id: uuid.UUID | None, customer_id: uuid.UUID | None,
                     since: date, paid_allowed: bool, paid: bool) -> RepairOrder:
    period = await period_for(session, project_id, category)
    expires = plus_months(since, period.months)
    day = await today(session)
    out_of_warranty = expires < day
    if out_of_warranty and not (paid and paid_allowed):
        how = " or accept it as paid work (paid: true)" if paid_allowed else ""
        raise ProblemError("conflict", f"Out of warranty: {period.name} ended on {expires.isoformat()} (handed over "
                                       f"{since.isoformat()}, {period.months} months){how}.",
                           errors=[field_error("category", f"warranty expired on {expires.isoformat()}")])
    if customer_id is None:
        customer_id = await session.scalar(select(CustomerUnit.customer_id).where(CustomerUnit.unit_id == unit.id)
                                           .order_by(CustomerUnit.created_at).limit(1))
    order = RepairOrder(number=await next_number(session, SERIES, await local_year(session, clock.utcnow())),
                        node_id=project_id, building_id=unit.building_id, unit_id=unit.id, customer_id=customer_id,
                        source=source, source_id=source_id, category=category, description=description,
                        status=RepairStatus.open, handed_over_on=since, warranty_expires_on=expires,
                        paid=out_of_warranty)
    session.add(order)
    return await saved(session, order, "property.repair.create", ENTITY, snapshot=_snapshot)


async def open_from_handover(session: AsyncSession, handover: Handover, category: str, description: str
                             ) -> RepairOrder:
    """A defect confirmed at handover: in warranty from the handover day on."""
    unit = await session.get(Unit, handover.unit_id)
    assert unit is not None
    return await _new_order(session, unit, handover.node_id, category=category, description=description,
                            source=RepairSource.handover, source_id=handover.id, customer_id=handover.customer_id,
                            since=await today(session), paid_allowed=False, paid=False)


async def _check_origin(session: AsyncSession, unit: Unit, project: OrgNode, data: RepairCreate) -> None:
    """The customer named owns the unit; the complaint or finding named is of the project."""
    from app.domains.complaints.models import Complaint
    from app.domains.property.models import Finding

    if data.customer_id is not None and await session.scalar(select(CustomerUnit.id).where(
            CustomerUnit.unit_id == unit.id, CustomerUnit.customer_id == data.customer_id)) is None:
        raise ProblemError("validation", "That customer does not own the unit.",
                           errors=[field_error("customerId", "not an owner of the unit")])
    origin: Any = {"complaint": Complaint, "inspection": Finding}.get(data.source)
    if data.source_id is None:
        return
    if origin is None:
        raise ProblemError("validation", "A repair opened by staff names no source record.",
                           errors=[field_error("sourceId", "only with source complaint or inspection")])
    if await session.scalar(select(origin.id).where(origin.id == data.source_id,
                                                    origin.node_id == project.id)) is None:
        raise ProblemError("not-found", f"No {data.source} record {data.source_id} in project {project.code}.",
                           errors=[field_error("sourceId", f"no such {data.source} record in the project")])


async def create_repair(session: AsyncSession, authz: Authorizer, data: RepairCreate) -> RepairOrder:
    unit, project = await unit_for(session, authz, data.unit_id, WRITE)
    await _check_origin(session, unit, project, data)
    allowed, _ = await tenant_settings.get(session, PAID_REPAIRS_SETTING)
    return await _new_order(session, unit, project.id, category=data.category, description=data.description,
                            source=RepairSource(data.source), source_id=data.source_id, customer_id=data.customer_id,
                            since=await handed_over_on(session, unit, project), paid_allowed=bool(allowed),
                            paid=data.paid)


async def get_repair(session: AsyncSession, authz: Authorizer, repair_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[RepairOrder, str]:
    return await get_at_node(session, authz, RepairOrder, repair_id, READ, "repair order", lock=lock)


async def list_repairs(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                       project_id: uuid.UUID | None, status: RepairStatus | None, category: str | None,
                       company_id: uuid.UUID | None = None, extra: Any = None) -> Page[RepairOut]:
    stmt: Select[Any] = select(RepairOrder)
    stmt = stmt.where(extra) if extra is not None else stmt.where(authz.visible(READ, RepairOrder.node_id))
    if project_id is not None:
        stmt = stmt.where(RepairOrder.node_id == project_id)
    if status is not None:
        stmt = stmt.where(RepairOrder.status == status)
    if category is not None:
        stmt = stmt.where(RepairOrder.category == category)
    if company_id is not None:
        stmt = stmt.where(RepairOrder.company_id == company_id)
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["-createdAt"], tiebreak=RepairOrder.id,
                          to_schema=RepairOut.of)


async def assign(session: AsyncSession, authz: Authorizer, r: RepairOrder, path: str, data: AssignIn) -> RepairOrder:
    authz.require(WRITE, path)
    before = _snapshot(r)
    r.status = FLOW.to("assign", r.status, RepairStatus.assigned, f"Repair order {r.number}")
    if data.assignee is Assignee.property_company:
        if data.company_id is None:
            raise ProblemError("validation", "Name the property company.",
                               errors=[field_error("companyId", "required for the property company")])
        company = await session.scalar(select(PropertyCompany).where(PropertyCompany.id == data.company_id))
        if company is None or company.status is not CompanyStatus.active:
            raise ProblemError("not-found", f"No active property company with id {data.company_id}.",
                               errors=[field_error("companyId", "no such property company")])
        r.company_id, r.contractor = company.id, None
    else:
        if data.company_id is not None:
            raise ProblemError("validation", "A contractor's order names no property company.",
                               errors=[field_error("companyId", "only when assigned to the property company")])
        if not data.contractor:
            raise ProblemError("validation", "Name the contractor.",
                               errors=[field_error("contractor", "required for a contractor")])
        r.company_id, r.contractor = None, data.contractor
    r.assignee = data.assignee
    r.appointment_at = None
    return await saved(session, r, "property.repair.assign", ENTITY, before=before, snapshot=_snapshot)


async def schedule(session: AsyncSession, r: RepairOrder, data: AppointmentIn) -> RepairOrder:
    before = _snapshot(r)
    r.status = FLOW.to("schedule", r.status, RepairStatus.scheduled, f"Repair order {r.number}",
                       hint="assign it first")
    r.appointment_at = data.appointment_at
    return await saved(session, r, "property.repair.schedule", ENTITY, before=before, snapshot=_snapshot)


async def complete(session: AsyncSession, r: RepairOrder, data: CompletionIn) -> RepairOrder:
    before = _snapshot(r)
    r.status = FLOW.to("complete", r.status, RepairStatus.completed, f"Repair order {r.number}")
    r.completed_at, r.work_done = clock.utcnow(), data.work_done
    r.cost = Decimal(data.cost) if data.cost is not None else None
    return await saved(session, r, "property.repair.complete", ENTITY, before=before, snapshot=_snapshot)


async def cancel(session: AsyncSession, authz: Authorizer, r: RepairOrder, path: str, reason: str) -> RepairOrder:
    authz.require(WRITE, path)
    before = _snapshot(r)
    r.status = FLOW.to("cancel", r.status, RepairStatus.cancelled, f"Repair order {r.number}")
    return await saved(session, r, "property.repair.cancel", ENTITY, before=before, snapshot=_snapshot,
                       reason=reason)


async def repeated(session: AsyncSession, authz: Authorizer, project_id: uuid.UUID | None,
                   at_least: int) -> RepeatedPage:
    """Defects that keep coming back: repair orders per building and category, ``at_least`` of them."""
    authz.require_anywhere(READ)
    stmt = (select(RepairOrder.building_id, RepairOrder.category, func.count())
            .where(authz.visible(READ, RepairOrder.node_id), RepairOrder.status != RepairStatus.cancelled)
            .group_by(RepairOrder.building_id, RepairOrder.category).having(func.count() >= at_least)
            .order_by(func.count().desc(), RepairOrder.building_id, RepairOrder.category))
    if project_id is not None:
        stmt = stmt.where(RepairOrder.node_id == project_id)
    return RepeatedPage(items=[RepeatedDefect(building_id=b, category=c, count=n)
                               for b, c, n in (await session.execute(stmt)).tuples()])


# ------------------------------------------------------------------ the property company's view


def assigned_to(company: PropertyCompany | None) -> Any:
    """Orders assigned to the company, in the projects it is commissioned for now."""
    if company is None:
        return false()
    return (RepairOrder.company_id == company.id) & RepairOrder.node_id.in_(partner_projects(company))


async def partner_repair(session: AsyncSession, company: PropertyCompany | None, repair_id: uuid.UUID, *,
                         lock: bool = False) -> RepairOrder:
    stmt = select(RepairOrder).where(RepairOrder.id == repair_id, assigned_to(company))
    r = await session.scalar(stmt.with_for_update() if lock else stmt)
    if r is None:
        raise ProblemError("not-found", f"No repair order with id {repair_id}.")
    return r


# ------------------------------------------------------------------ the owner's view


def mine(authz: Authorizer) -> Any:
    return RepairOrder.customer_id.in_(select(Customer.id).where(Customer.account_id == authz.owner_id,
                                                                 Customer.merged_into_id.is_(None)))


async def create_own(session: AsyncSession, authz: Authorizer, data: OwnRepairCreate) -> RepairOrder:
    row = (await session.execute(
        select(Unit, OrgNode, Customer.id).join(OrgNode, OrgNode.id == Unit.project_id)
        .join(CustomerUnit, CustomerUnit.unit_id == Unit.id).join(Customer, Customer.id == CustomerUnit.customer_id)
        .where(Unit.id == data.unit_id, Customer.account_id == authz.owner_id, Customer.merged_into_id.is_(None))
        .limit(1))).first()
    if row is None:
        raise ProblemError("not-found", f"No unit of yours with id {data.unit_id}.",
                           errors=[field_error("unitId", "not a unit you own")])
    unit, project, customer_id = row
    allowed, _ = await tenant_settings.get(session, PAID_REPAIRS_SETTING)
    return await _new_order(session, unit, project.id, category=data.category, description=data.description,
                            source=RepairSource.owner_app, source_id=None, customer_id=customer_id,
                            since=await handed_over_on(session, unit, project), paid_allowed=bool(allowed),
                            paid=data.paid)


async def my_repair(session: AsyncSession, authz: Authorizer, repair_id: uuid.UUID, *,
                    lock: bool = False) -> RepairOrder:
    stmt = select(RepairOrder).where(RepairOrder.id == repair_id, mine(authz))
    r = await session.scalar(stmt.with_for_update() if lock else stmt)
    if r is None:
        raise ProblemError("not-found", f"No repair order with id {repair_id}.")
    return r


async def sign_off(session: AsyncSession, r: RepairOrder, data: SignOffIn) -> RepairOrder:
    """The owner accepts the work and rates it."""
    before = _snapshot(r)
    r.status = FLOW.to("sign_off", r.status, RepairStatus.signed_off, f"Repair order {r.number}",
                       hint="the work is completed first")
    r.signed_off_at, r.rating, r.owner_comment = clock.utcnow(), data.rating, data.comment
    return await saved(session, r, "property.repair.sign_off", ENTITY, before=before, snapshot=_snapshot)


async def reject_work(session: AsyncSession, r: RepairOrder, comment: str) -> RepairOrder:
    """The owner does not accept the work: back to whoever did it."""
    before = _snapshot(r)
    r.status = FLOW.to("reopen", r.status, RepairStatus.assigned, f"Repair order {r.number}")
    r.owner_comment, r.appointment_at, r.completed_at = comment, None, None
    return await saved(session, r, "property.repair.reopen", ENTITY, before=before, snapshot=_snapshot,
                       reason=comment)


__all__ = ["audit"]
