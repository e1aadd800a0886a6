"""Handing a home over (入住/交付验收): an appointment, the inspection against the tenant's
checklist, defects that become repair orders, the owner's confirmation (in the app, or a signature
captured by staff), the keys. The handover sets the unit's phase (``Unit.status``) and, for the
first home of a project, the project's handover date: the pre/post-handover switch of the
inquiries and complaints reads that date. Also the tenant's checklists and the move-in rate."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node
from app.domains.customers.models import Customer, CustomerUnit, OwnerRole
from app.domains.org.models import OrgNode, Unit, UnitStatus
from app.domains.property import repairs
from app.domains.property.common import CONFIGURE, READ, WRITE, project_for, state_of, unit_for
from app.domains.property.models import (
    Checklist,
    ChecklistKind,
    Confirmation,
    Handover,
    HandoverStatus,
    RepairOrder,
    RepairSource,
)
from app.domains.property.schemas import (
    CancelIn,
    ChecklistOut,
    ChecklistUpdate,
    HandoverConfirmIn,
    HandoverCreate,
    HandOverIn,
    HandoverOut,
    InspectionIn,
    MoveInRate,
)
from app.tenants.bound import local_year, today

ENTITY, CHECKLIST = "property_handover", "property_checklist"
SERIES = "JF"  # 交付
STANDARD = {ChecklistKind.handover: "handover_standard", ChecklistKind.supervision: "supervision_routine"}
DEFAULT_CATEGORY = "decoration"  # a defect's warranty category when the inspector names none

S = HandoverStatus
FLOW = Workflow("handover", {
    "inspect": ([S.scheduled, S.inspected], [S.inspected]),
    "confirm": ([S.inspected], [S.confirmed]),
    "hand_over": ([S.confirmed], [S.handed_over]),
    "cancel": ([S.scheduled, S.inspected, S.confirmed], [S.cancelled]),
})

SORT = {"appointmentAt": Handover.appointment_at, "number": Handover.number, "createdAt": Handover.created_at}


def _snapshot(h: Handover) -> dict[str, Any]:
    return {"number": h.number, "status": h.status.value, "unitId": str(h.unit_id),
            "appointmentAt": h.appointment_at.isoformat(), "results": h.results, "inspector": h.inspector,
            "confirmation": h.confirmation.value if h.confirmation else None, "signedBy": h.signed_by,
            "keysHanded": h.keys_handed, "handedOverOn": h.handed_over_on.isoformat() if h.handed_over_on else None}


# ------------------------------------------------------------------ checklists


async def list_checklists(session: AsyncSession, authz: Authorizer, kind: ChecklistKind | None) -> list[ChecklistOut]:
    authz.require_anywhere(READ)
    stmt = select(Checklist).order_by(Checklist.kind, Checklist.code)
    if kind is not None:
        stmt = stmt.where(Checklist.kind == kind)
    return [ChecklistOut.of(c) for c in (await session.scalars(stmt)).all()]


async def get_checklist(session: AsyncSession, authz: Authorizer, checklist_id: uuid.UUID, *,
                        lock: bool = False) -> tuple[Checklist, None]:
    authz.require_anywhere(READ)
    stmt = select(Checklist).where(Checklist.id == checklist_id)
    checklist = await session.scalar(stmt.with_for_update() if lock else stmt)
    if checklist is None:
        raise ProblemError("not-found", f"No checklist with id {checklist_id}.")
    return checklist, None


async def update_checklist(session: AsyncSession, authz: Authorizer, checklist: Checklist,
                           data: ChecklistUpdate) -> Checklist:
    """Items are the group's to change (at the group node); records already made keep the items
    they were made with."""
    if authz.paths(CONFIGURE) is not None:
        raise ProblemError("forbidden", f"Checklists are changed with {CONFIGURE} at the group node.")
    codes = [i.code for i in data.items]
    if len(set(codes)) != len(codes):
        raise ProblemError("validation", "Item codes must differ.", errors=[field_error("items", "duplicate code")])
    before = {"name": checklist.name, "items": checklist.items}
    checklist.name = data.name
    checklist.items = [{"code": i.code, "label": i.label} for i in data.items]
    return await saved(session, checklist, "property.checklist.update", CHECKLIST, before=before,
                       snapshot=lambda c: {"name": c.name, "items": c.items})


async def checklist_for(session: AsyncSession, kind: ChecklistKind, checklist_id: uuid.UUID | None) -> Checklist:
    """The checklist a body names (of ``kind``), or the tenant's standard one."""
    stmt = select(Checklist).where(Checklist.kind == kind)
    stmt = stmt.where(Checklist.id == checklist_id) if checklist_id else stmt.where(Checklist.code == STANDARD[kind])
    checklist = await session.scalar(stmt)
    if checklist is None:
        raise ProblemError("not-found", f"No {kind.value} checklist with id {checklist_id}.",
                           errors=[field_error("checklistId", f"no such {kind.value} checklist")])
    return checklist


# ------------------------------------------------------------------ handovers


async def get_handover(session: AsyncSession, authz: Authorizer, handover_id: uuid.UUID, *,
                       lock: bool = False) -> tuple[Handover, str]:
    return await get_at_node(session, authz, Handover, handover_id, READ, "handover", lock=lock)


async def handover_out(session: AsyncSession, h: Handover) -> HandoverOut:
    ids = (await session.scalars(select(RepairOrder.id).where(RepairOrder.source == RepairSource.handover,
                                                             RepairOrder.source_id == h.id)
                                 .order_by(RepairOrder.number))).all()
    return HandoverOut.of(h, list(ids))


async def list_handovers(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                         project_id: uuid.UUID | None, status: HandoverStatus | None) -> Page[HandoverOut]:
    stmt: Select[Any] = select(Handover).where(authz.visible(READ, Handover.node_id))
    if project_id is not None:
        stmt = stmt.where(Handover.node_id == project_id)
    if status is not None:
        stmt = stmt.where(Handover.status == status)
    page = await paginate(session, stmt, params, sortable=SORT, default_sort=["appointmentAt"], tiebreak=Handover.id,
                          to_schema=lambda h: h)
    return Page(items=[await handover_out(session, h) for h in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def _owner_of(session: AsyncSession, unit_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(CustomerUnit.customer_id).where(CustomerUnit.unit_id == unit_id)
                                .order_by(CustomerUnit.role != OwnerRole.primary).limit(1))


async def create_handover(session: AsyncSession, authz: Authorizer, data: HandoverCreate) -> Handover:
    unit, project = await unit_for(session, authz, data.unit_id, WRITE)
    if unit.status is UnitStatus.handed_over:
        raise ProblemError("conflict", f"Unit {unit.number} is handed over already.")
    live = await session.scalar(select(Handover.number).where(Handover.unit_id == unit.id,
                                                              Handover.status != HandoverStatus.cancelled))
    if live is not None:
        raise ProblemError("conflict", f"Unit {unit.number} has handover {live} under way: cancel it first.")
    customer_id = data.customer_id
    if customer_id is not None:
        owns = await session.scalar(select(CustomerUnit.id).where(CustomerUnit.unit_id == unit.id,
                                                                  CustomerUnit.customer_id == customer_id))
        if owns is None:
            raise ProblemError("validation", "That customer does not own the unit.",
                               errors=[field_error("customerId", "not an owner of the unit")])
    else:
        customer_id = await _owner_of(session, unit.id)
    checklist = await checklist_for(session, ChecklistKind.handover, data.checklist_id)
    handover = Handover(
        number=await next_number(session, SERIES, await local_year(session, clock.utcnow())), node_id=project.id,
        unit_id=unit.id, customer_id=customer_id, status=HandoverStatus.scheduled,
        appointment_at=data.appointment_at, checklist_id=checklist.id,
        results=[{"code": i["code"], "label": i["label"], "ok": None, "note": None, "category": None}
                 for i in checklist.items], note=data.note)
    session.add(handover)
    return await saved(session, handover, "property.handover.create", ENTITY, snapshot=_snapshot)


async def inspect(session: AsyncSession, authz: Authorizer, h: Handover, path: str, data: InspectionIn) -> Handover:
    """Record the inspection: every item of the checklist passed or not (a defect names what is
    wrong). Inspecting again replaces the results; defects become repair orders at confirmation."""
    authz.require(WRITE, path)
    before = _snapshot(h)
    FLOW.require("inspect", h.status, f"Handover {h.number}")
    given = {r.code: r for r in data.results}
    known = [r["code"] for r in h.results]
    errors = [field_error(f"results.{i}.code", "not an item of the checklist")
              for i, r in enumerate(data.results) if r.code not in known]
    errors += [field_error("results", f"item {code} has no result") for code in known if code not in given]
    errors += [field_error(f"results.{i}.note", "say what is wrong")
               for i, r in enumerate(data.results) if not r.ok and not r.note]
    if errors:
        raise ProblemError("validation", "Every item of the checklist needs a result; a defect needs a note.",
                           errors=errors)
    h.results = [{**r, "ok": given[r["code"]].ok, "note": given[r["code"]].note,
                  "category": None if given[r["code"]].ok else (given[r["code"]].category or DEFAULT_CATEGORY)}
                 for r in h.results]
    h.inspector = data.inspector
    h.inspected_at = clock.utcnow()
    h.status = FLOW.to("inspect", h.status, HandoverStatus.inspected, f"Handover {h.number}")
    return await saved(session, h, "property.handover.inspect", ENTITY, before=before, snapshot=_snapshot)


async def _confirm(session: AsyncSession, h: Handover, how: Confirmation, signed_by: str | None) -> Handover:
    before = _snapshot(h)
    h.status = FLOW.to("confirm", h.status, HandoverStatus.confirmed, f"Handover {h.number}")
    h.confirmation, h.confirmed_at, h.signed_by = how, clock.utcnow(), signed_by
    h = await saved(session, h, "property.handover.confirm", ENTITY, before=before, snapshot=_snapshot)
    # The defects the owner confirmed become repair orders, counted from the handover day.
    for item in h.results:
        if item.get("ok") is False:
            await repairs.open_from_handover(session, h, item["category"], f"{item['label']}: {item['note']}")
    return h


async def confirm_by_signature(session: AsyncSession, authz: Authorizer, h: Handover, path: str,
                               data: HandoverConfirmIn) -> Handover:
    authz.require(WRITE, path)
    return await _confirm(session, h, Confirmation.signature, data.signed_by)


async def hand_over(session: AsyncSession, authz: Authorizer, h: Handover, path: str, data: HandOverIn) -> Handover:
    """The keys: the unit is handed over, and the project's handover date is set when this is its
    first home (customer affairs answers for the project from that day: the existing switch)."""
    authz.require(WRITE, path)
    before = _snapshot(h)
    h.status = FLOW.to("hand_over", h.status, HandoverStatus.handed_over, f"Handover {h.number}",
                       hint="the owner confirms the inspection record first")
    day = await today(session)
    h.keys_handed, h.handed_over_on = data.keys_handed, day
    if data.note:
        h.note = data.note
    unit = await session.scalar(select(Unit).where(Unit.id == h.unit_id).with_for_update())
    project = await session.scalar(select(OrgNode).where(OrgNode.id == h.node_id).with_for_update())
    assert unit is not None and project is not None  # foreign keys
    unit_before = {"status": unit.status.value}
    unit.status = UnitStatus.handed_over
    await saved(session, unit, "org.unit.handover", "unit", before=unit_before,
                snapshot=lambda u: {"status": u.status.value, "handover": h.number})
    if project.handover_date is None or project.handover_date > day:
        project_before = {"handoverDate": project.handover_date.isoformat() if project.handover_date else None}
        project.handover_date = day
        await saved(session, project, "org.project.handover", "org_node", before=project_before,
                    snapshot=lambda p: {"handoverDate": day.isoformat(), "handover": h.number})
    state = await state_of(session, h.node_id, lock=True)
    if state.first_move_in_on is None or state.first_move_in_on > day:
        state.first_move_in_on = day
    if state.responsible_account_id is None and authz.account_id is not None:
        state.responsible_account_id = authz.account_id  # told of missed coordination until someone else is named
    await session.flush()
    return await saved(session, h, "property.handover.hand_over", ENTITY, before=before, snapshot=_snapshot)


async def cancel(session: AsyncSession, authz: Authorizer, h: Handover, path: str, data: CancelIn) -> Handover:
    authz.require(WRITE, path)
    before = _snapshot(h)
    h.status = FLOW.to("cancel", h.status, HandoverStatus.cancelled, f"Handover {h.number}")
    h.note = data.reason
    return await saved(session, h, "property.handover.cancel", ENTITY, before=before, snapshot=_snapshot,
                       reason=data.reason)


async def move_in_rates(session: AsyncSession, authz: Authorizer, project_id: uuid.UUID | None) -> list[MoveInRate]:
    """The move-in rate of one project, or of every project with units the caller may read."""
    if project_id is not None:
        return [await move_in_rate(session, authz, await project_for(session, authz, project_id, READ))]
    projects = (await session.scalars(select(OrgNode).where(
        authz.visible_path(READ, OrgNode.path), OrgNode.id.in_(select(Unit.project_id))).order_by(OrgNode.code))).all()
    return [await move_in_rate(session, authz, p) for p in projects]


async def move_in_rate(session: AsyncSession, authz: Authorizer, project: OrgNode) -> MoveInRate:
    total, handed = (await session.execute(
        select(func.count(), func.count().filter(Unit.status == UnitStatus.handed_over))
        .where(Unit.project_id == project.id))).one()
    first = await session.scalar(select(func.min(Handover.handed_over_on)).where(Handover.node_id == project.id))
    rate = (Decimal(handed) * 100 / Decimal(total)).quantize(Decimal("0.01")) if total else Decimal("0.00")
    return MoveInRate(project_id=project.id, units=total, handed_over=handed, rate=rate, first_move_in_on=first,
                      handover_date=project.handover_date)


# ------------------------------------------------------------------ the owner's view


def _mine(authz: Authorizer) -> Any:
    owner = authz.owner_id
    return Handover.customer_id.in_(select(Customer.id).where(Customer.account_id == owner,
                                                              Customer.merged_into_id.is_(None)))


async def my_handovers(session: AsyncSession, authz: Authorizer) -> list[HandoverOut]:
    rows = (await session.scalars(select(Handover).where(_mine(authz)).order_by(Handover.appointment_at))).all()
    return [await handover_out(session, h) for h in rows]


async def my_handover(session: AsyncSession, authz: Authorizer, handover_id: uuid.UUID, *,
                      lock: bool = False) -> Handover:
    stmt = select(Handover).where(Handover.id == handover_id, _mine(authz))
    h = await session.scalar(stmt.with_for_update() if lock else stmt)
    if h is None:
        raise ProblemError("not-found", f"No handover with id {handover_id}.")
    return h


async def confirm_in_app(session: AsyncSession, authz: Authorizer, h: Handover) -> Handover:
    """The owner confirms the inspection record (and its defects) in the app."""
    return await _confirm(session, h, Confirmation.in_app, None)

