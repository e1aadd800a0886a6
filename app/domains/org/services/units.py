"""Units in buildings: numbers unique per building, read and changed within the caller's
subtrees.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from sqlalchemy import ColumnElement, and_, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.reads import Read, TenantReader
from app.core.schemas import Page, provided
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.org.models import NodeKind, OrgNode, Unit, UnitStatus
from app.domains.org.schemas import UnitCreate, UnitOut, UnitUpdate
from app.domains.org.services.common import MANAGE, READ, UNIT
from app.domains.org.services.hooks import Holder, refuse_if_live
from app.domains.org.services.nodes import parent_for_create

U = TypeVar("U")  # a unit: the ORM object, or a reader row of one


# ----------------------------------------------------------------------------- units


def _area(area: str | None) -> Decimal | None:
    # The schema's pattern has checked it; quantized, "89.5" is stored and shown as "89.50".
    return None if area is None else Decimal(area).quantize(Decimal("0.01"))


def _unit_visible(authz: Authorizer) -> ColumnElement[bool]:
    # A unit's place in the tree is its building: grants on a building hold for its units.
    return authz.visible(READ, Unit.building_id)


async def _building_path(session: AsyncSession, building_id: uuid.UUID) -> str:
    return (await session.scalar(select(OrgNode.path).where(OrgNode.id == building_id))) or ""


# A unit with its building's path (where its readers' grants are checked).
UNIT_BY_ID = Read(select(Unit, OrgNode.path.label("building_path"))
                  .join(OrgNode, OrgNode.id == Unit.building_id).where(Unit.id == bindparam("id")))


async def read_unit(reader: TenantReader, authz: Authorizer, unit_id: uuid.UUID) -> Any:
    """A unit the caller may read, as a row with its ``building_path`` (for GETs); any
    other id answers 404."""
    row = await reader.one(UNIT_BY_ID, id=unit_id)
    return _readable_unit(row, row.building_path if row else None, authz, unit_id)


async def get_unit(session: AsyncSession, authz: Authorizer, unit_id: uuid.UUID, *, lock: bool = False
                   ) -> tuple[Unit, str]:
    """The same unit as an ORM object in ``session``, with its building's path (``lock``:
    FOR UPDATE of the unit, to change it)."""
    stmt = UNIT_BY_ID.statement.with_for_update(of=Unit) if lock else UNIT_BY_ID.statement
    row = (await session.execute(stmt, {"id": unit_id})).first()
    if row is None:
        raise _no_unit(unit_id)
    return _readable_unit(row[0], row[1], authz, unit_id), row[1]


def _readable_unit(unit: U | None, path: str | None, authz: Authorizer, unit_id: uuid.UUID) -> U:
    if unit is None or path is None or not authz.can(READ, path):
        raise _no_unit(unit_id)
    return unit


def _no_unit(unit_id: uuid.UUID) -> ProblemError:
    return ProblemError("not-found", f"No unit with id {unit_id}.")


UNIT_SORT = {
    "building": Unit.building_id, "number": Unit.number, "floor": Unit.floor, "area": Unit.area,
    "status": Unit.status, "createdAt": Unit.created_at,
}


async def list_units(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                     building_id: uuid.UUID | None, project_id: uuid.UUID | None, floor: int | None,
                     status: UnitStatus | None, layout: str | None, number: str | None) -> Page[UnitOut]:
    stmt = select(Unit).where(_unit_visible(authz))
    if building_id is not None:
        stmt = stmt.where(Unit.building_id == building_id)
    if project_id is not None:
        stmt = stmt.where(Unit.project_id == project_id)
    if floor is not None:
        stmt = stmt.where(Unit.floor == floor)
    if status is not None:
        stmt = stmt.where(Unit.status == status)
    if layout:
        stmt = stmt.where(Unit.layout == layout)
    if number:
        stmt = stmt.where(Unit.number == number)
    # The default order follows the (building_id, number) unique index: a page is an index
    # range, not a sort of every visible unit.
    return await paginate(session, stmt, params, sortable=UNIT_SORT, default_sort=["building", "number"],
                          tiebreak=Unit.id, to_schema=UnitOut.of)


async def _ensure_number_free(session: AsyncSession, building_id: uuid.UUID, number: str,
                              except_id: uuid.UUID | None = None) -> None:
    clause = and_(Unit.building_id == building_id, Unit.number == number)
    if except_id is not None:
        clause = clause & (Unit.id != except_id)
    if await session.scalar(select(exists().where(clause))):
        raise ProblemError("duplicate", f"The building already has a unit {number!r}.",
                           errors=[field_error("number", "already used in this building")])


async def create_unit(session: AsyncSession, authz: Authorizer, data: UnitCreate) -> Unit:
    building = await parent_for_create(session, authz, data.building_id, NodeKind.building, "buildingId")
    area = _area(data.area)
    await _ensure_number_free(session, building.id, data.number)
    unit = Unit(building_id=building.id, project_id=building.parent_id, number=data.number, floor=data.floor,
                layout=data.layout, area=area, status=data.status)
    session.add(unit)
    return await saved(session, unit, "org.unit.create", UNIT)


async def update_unit(session: AsyncSession, authz: Authorizer, unit: Unit, building_path: str,
                      data: UnitUpdate) -> Unit:
    authz.require(MANAGE, building_path)
    changes = provided(data)
    if data.area is not msgspec.UNSET:
        changes["area"] = _area(data.area)
    if "number" in changes and changes["number"] != unit.number:
        await _ensure_number_free(session, unit.building_id, str(changes["number"]), except_id=unit.id)
    before = audit.snapshot(unit)
    for field, value in changes.items():
        setattr(unit, field, value)
    return await saved(session, unit, "org.unit.update", UNIT, before=before)


async def delete_unit(session: AsyncSession, authz: Authorizer, unit: Unit, building_path: str) -> None:
    authz.require(MANAGE, building_path)
    await refuse_if_live(session, Holder("unit", unit.id), "unit")
    before = audit.snapshot(unit)
    await session.delete(unit)
    await session.flush()
    await audit.record(session, action="org.unit.delete", entity_type=UNIT, entity_id=unit.id, before=before)
