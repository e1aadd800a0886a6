"""Org tree rules: one root per tenant, a fixed shape (group → branch → project → building,
units in buildings), unique codes, no deleting a node that still holds anything, and every
read and write inside the caller's subtrees (``Authorizer``).

Visibility: a record the caller may not read (``org.read`` at its node) is answered like
one that does not exist (404), so ids cannot be probed; one the caller may read but not
change answers 403. Creating and deleting a node need ``org.manage`` at its parent (they
change the parent's children), changing it needs ``org.manage`` at the node itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import ColumnElement, and_, bindparam, case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.ids import new_id
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.reads import Read, TenantReader
from app.core.schemas import Page, provided
from app.domains.access.authz import Authorizer, trusted
from app.domains.org.models import PARENT_KIND, NodeKind, OrgNode, Unit, UnitStatus
from app.domains.org.schemas import (
    BranchCreate,
    BuildingCreate,
    Department,
    NodeUpdate,
    OrgNodeOut,
    ProjectCreate,
    ProjectMove,
    ProjectOut,
    ProjectUpdate,
    Responsibility,
    UnitCreate,
    UnitOut,
    UnitUpdate,
)


class _Placed(Protocol):
    @property
    def path(self) -> str: ...


N = TypeVar("N", bound=_Placed)  # an org node: the ORM object, or a reader row of one
U = TypeVar("U")  # a unit, likewise

ENTITY = "org_node"
UNIT = "unit"
ROOT_CODE = "GROUP"
READ = "org.read"
MANAGE = "org.manage"


def parent_path(path: str) -> str:
    return path.rpartition("/")[0]


# ------------------------------------------------------------------ live records hook


@dataclass(frozen=True)
class Holder:
    """What is about to be deleted: an org node (any kind) or a unit."""

    kind: Literal["node", "unit"]
    id: uuid.UUID


# Returns a short description of what still hangs on the holder ("3 open complaints"), or None.
LiveRecordsCheck = Callable[[AsyncSession, Holder], Awaitable[str | None]]
LIVE_RECORD_CHECKS: dict[str, LiveRecordsCheck] = {}


def live_records(name: str) -> Callable[[LiveRecordsCheck], LiveRecordsCheck]:
    """Register a domain's "has live records under this node or unit" check; deleting a
    node or unit is refused (409) while any check reports something."""

    def register(check: LiveRecordsCheck) -> LiveRecordsCheck:
        if name in LIVE_RECORD_CHECKS and LIVE_RECORD_CHECKS[name] is not check:
            raise ValueError(f"live-records check {name!r} registered twice")
        LIVE_RECORD_CHECKS[name] = check
        return check

    return register


async def records_at(session: AsyncSession, holder: Holder, models: Sequence[tuple[Any, str]]) -> str | None:
    """For a domain's live-records check: how many records of each model (with ``node_id``)
    sit at the org node about to be deleted, e.g. "2 visits, 1 calls"; None when none."""
    if holder.kind != "node":
        return None
    found = []
    for model, what in models:
        count = await session.scalar(select(func.count()).where(model.node_id == holder.id))
        if count:
            found.append(f"{count} {what}")
    return ", ".join(found) or None


async def _refuse_if_live(session: AsyncSession, holder: Holder, what: str) -> None:
    found = [d for check in LIVE_RECORD_CHECKS.values() if (d := await check(session, holder))]
    if found:
        raise ProblemError("conflict", f"The {what} still has {'; '.join(found)}: close, move or remove them first.")


# ----------------------------------------------------------------------------- nodes


async def create_root(session: AsyncSession, name: str) -> OrgNode:
    """The group node, made once at provisioning."""
    node_id = new_id()
    root = OrgNode(id=node_id, kind=NodeKind.group, parent_id=None, path=str(node_id), depth=0,
                   code=ROOT_CODE, name=name)
    session.add(root)
    await session.flush()
    await audit.record(session, action="org.group.create", entity_type=ENTITY, entity_id=root.id,
                       after=audit.snapshot(root))
    return root


# The group node: GET /group reads it through the reader, the rest through their session.
GROUP_NODE = Read(select(OrgNode).where(OrgNode.kind == NodeKind.group))


async def read_root(reader: TenantReader, authz: Authorizer) -> Any:
    """The group node as a row (for GETs), for a caller who may read it."""
    return _root(await reader.one(GROUP_NODE), authz)


async def get_root(session: AsyncSession, authz: Authorizer | None = None, *, lock: bool = False) -> OrgNode:
    """The group node; with ``authz``, only for a caller who may read it (403 otherwise:
    that the group exists is no secret)."""
    stmt = GROUP_NODE.statement.with_for_update() if lock else GROUP_NODE.statement
    return _root(await session.scalar(stmt), authz)


def _root(root: N | None, authz: Authorizer | None) -> N:
    if root is None:
        raise ProblemError("not-found", "The tenant has no group node.")
    if authz is not None:
        authz.require(READ, root.path)
    return root


# A node by id and kind: GETs read it through the reader, updates lock it in their session.
NODE_BY_ID = Read(select(OrgNode).where(OrgNode.id == bindparam("id"), OrgNode.kind == bindparam("kind")))


async def read_node(reader: TenantReader, authz: Authorizer, node_id: uuid.UUID, kind: NodeKind) -> Any:
    """A node of ``kind`` the caller may read, as a row (for GETs); any other id answers 404."""
    return _readable(await reader.one(NODE_BY_ID, id=node_id, kind=kind), authz, node_id, kind)


async def lock_node(session: AsyncSession, authz: Authorizer, node_id: uuid.UUID, kind: NodeKind) -> OrgNode:
    """The same node as an ORM object in ``session``, locked FOR UPDATE: to change it."""
    stmt = NODE_BY_ID.statement.with_for_update()
    return _readable(await session.scalar(stmt, {"id": node_id, "kind": kind}), authz, node_id, kind)


def _readable(node: N | None, authz: Authorizer, node_id: uuid.UUID, kind: NodeKind) -> N:
    if node is None or not authz.can(READ, node.path):
        raise ProblemError("not-found", f"No {kind.value} with id {node_id}.")
    return node


async def _parent_for_create(session: AsyncSession, authz: Authorizer, parent_id: uuid.UUID, kind: NodeKind,
                             field: str) -> OrgNode:
    """The parent named in a request body: 404 (naming the field) when it is not there for the caller."""
    parent = await session.scalar(select(OrgNode).where(OrgNode.id == parent_id, OrgNode.kind == kind))
    if parent is None or not authz.can(READ, parent.path):
        raise ProblemError("not-found", f"No {kind.value} with id {parent_id}.",
                           errors=[field_error(field, f"no such {kind.value}")])
    authz.require(MANAGE, parent.path)
    return parent


async def _ensure_code_free(session: AsyncSession, code: str, *, except_id: uuid.UUID | None = None) -> None:
    clause = OrgNode.code == code
    if except_id is not None:
        clause = clause & (OrgNode.id != except_id)
    if await session.scalar(select(exists().where(clause))):
        raise ProblemError("duplicate", f"The code {code!r} is already used in this group.",
                           errors=[field_error("code", "already used")])


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _node_filters(stmt: Any, authz: Authorizer, q: str | None, code: str | None) -> Any:
    stmt = stmt.where(authz.visible_path(READ, OrgNode.path))
    if q:
        stmt = stmt.where(OrgNode.name.ilike(f"%{_escape_like(q)}%", escape="\\"))
    if code:
        stmt = stmt.where(OrgNode.code == code.upper())
    return stmt


NODE_SORT = {"name": OrgNode.name, "code": OrgNode.code, "createdAt": OrgNode.created_at}
PROJECT_SORT = {**NODE_SORT, "handoverDate": OrgNode.handover_date}


async def _add_node(session: AsyncSession, parent: OrgNode, kind: NodeKind, code: str, name: str,
                    description: str | None, **extra: Any) -> OrgNode:
    assert PARENT_KIND[kind] is parent.kind, "the tree's shape is fixed"
    code = code.upper()
    await _ensure_code_free(session, code)
    node_id = new_id()
    node = OrgNode(id=node_id, kind=kind, parent_id=parent.id, path=f"{parent.path}/{node_id}",
                   depth=parent.depth + 1, code=code, name=name, description=description, **extra)
    session.add(node)
    await session.flush()
    await session.refresh(node)
    await audit.record(session, action=f"org.{kind.value}.create", entity_type=ENTITY, entity_id=node.id,
                       after=audit.snapshot(node))
    return node


async def update_node(session: AsyncSession, authz: Authorizer, node: OrgNode,
                      data: NodeUpdate | ProjectUpdate) -> OrgNode:
    authz.require(MANAGE, node.path)
    before = audit.snapshot(node)
    changes = provided(data)
    if "code" in changes:
        code = changes["code"] = str(changes["code"]).upper()
        if code != node.code:
            await _ensure_code_free(session, code, except_id=node.id)
    for field, value in changes.items():
        setattr(node, field, value)
    await session.flush()
    await session.refresh(node)
    await audit.record(session, action=f"org.{node.kind.value}.update", entity_type=ENTITY, entity_id=node.id,
                       before=before, after=audit.snapshot(node))
    return node


async def delete_node(session: AsyncSession, authz: Authorizer, node: OrgNode) -> None:
    """Delete an empty node: no child nodes, no units, no live records of any domain."""
    authz.require(MANAGE, parent_path(node.path))
    what = node.kind.value
    children = await session.scalar(select(func.count()).where(OrgNode.parent_id == node.id))
    if children:
        below = {NodeKind.group: "branches", NodeKind.branch: "projects", NodeKind.project: "buildings"}
        raise ProblemError("conflict", f"The {what} still has {children} {below.get(node.kind, 'children')}: "
                                       "move or delete them first.")
    units = await session.scalar(select(func.count()).where(
        (Unit.building_id == node.id) | (Unit.project_id == node.id)))
    if units:
        raise ProblemError("conflict", f"The {what} still has {units} units: delete them first.")
    await _refuse_if_live(session, Holder("node", node.id), what)
    before = audit.snapshot(node)
    await session.delete(node)
    await session.flush()
    await audit.record(session, action=f"org.{what}.delete", entity_type=ENTITY, entity_id=node.id, before=before)


# -------------------------------------------------------------------------- branches


async def list_branches(session: AsyncSession, authz: Authorizer, params: PageParams, q: str | None,
                        code: str | None) -> Page[OrgNodeOut]:
    stmt = _node_filters(select(OrgNode).where(OrgNode.kind == NodeKind.branch), authz, q, code)
    return await paginate(session, stmt, params, sortable=NODE_SORT, default_sort=["code"], tiebreak=OrgNode.id,
                          to_schema=OrgNodeOut.of)


async def create_branch(session: AsyncSession, data: BranchCreate, authz: Authorizer | None = None) -> OrgNode:
    """A branch under the group; without ``authz``, as the system (seeding: no caller)."""
    root = await get_root(session)
    (authz or trusted()).require(MANAGE, root.path)
    return await _add_node(session, root, NodeKind.branch, data.code, data.name, data.description)


# -------------------------------------------------------------------------- projects


async def list_projects(session: AsyncSession, authz: Authorizer, params: PageParams, *, branch_id: uuid.UUID | None,
                        q: str | None, code: str | None, handover_from: date | None,
                        handover_to: date | None) -> Page[ProjectOut]:
    stmt = _node_filters(select(OrgNode).where(OrgNode.kind == NodeKind.project), authz, q, code)
    if branch_id is not None:
        stmt = stmt.where(OrgNode.parent_id == branch_id)
    if handover_from is not None:
        stmt = stmt.where(OrgNode.handover_date >= handover_from)
    if handover_to is not None:
        stmt = stmt.where(OrgNode.handover_date <= handover_to)
    return await paginate(session, stmt, params, sortable=PROJECT_SORT, default_sort=["code"], tiebreak=OrgNode.id,
                          to_schema=ProjectOut.of)


async def create_project(session: AsyncSession, authz: Authorizer, data: ProjectCreate) -> OrgNode:
    branch = await _parent_for_create(session, authz, data.branch_id, NodeKind.branch, "branchId")
    return await _add_node(session, branch, NodeKind.project, data.code, data.name, data.description,
                           handover_date=data.handover_date)


async def move_project(session: AsyncSession, authz: Authorizer, project: OrgNode, data: ProjectMove) -> OrgNode:
    """Re-hang a project (with its buildings, and everything recorded at them) under another
    branch. Needs ``org.manage`` where it leaves and where it arrives."""
    authz.require(MANAGE, parent_path(project.path))
    target = await session.scalar(select(OrgNode).where(OrgNode.id == data.branch_id))
    if target is not None and (target.path == project.path or target.path.startswith(project.path + "/")):
        # The tree's fixed shape rules this out (no branch lies below a project); refuse it anyway.
        raise ProblemError("conflict", "A project cannot be moved under itself.",
                           errors=[field_error("branchId", "lies inside the project")])
    if target is None or target.kind is not NodeKind.branch or not authz.can(READ, target.path):
        raise ProblemError("not-found", f"No branch with id {data.branch_id}.",
                           errors=[field_error("branchId", "no such branch")])
    authz.require(MANAGE, target.path)
    if target.id == project.parent_id:
        return project  # already there: nothing to change, nothing to audit
    before = audit.snapshot(project)
    old_prefix, new_prefix = project.path, f"{target.path}/{project.id}"
    is_project = OrgNode.id == project.id
    # One statement for the project and its whole subtree: every path keeps its tail below
    # the project and gets the new prefix (depth is unchanged: branch to branch). Only the
    # project itself changes as a resource (parent, version, updated_at); paths are internal.
    await session.execute(
        update(OrgNode)
        .where((OrgNode.path == old_prefix) | OrgNode.path.like(old_prefix + "/%"))
        .values(
            path=func.concat(new_prefix, func.substr(OrgNode.path, len(old_prefix) + 1)),
            parent_id=case((is_project, target.id), else_=OrgNode.parent_id),
            version=case((is_project, OrgNode.version + 1), else_=OrgNode.version),
            updated_at=case((is_project, func.now()), else_=OrgNode.updated_at),
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(project)
    moved = await session.scalar(select(func.count()).where(OrgNode.path.like(new_prefix + "/%")))
    await audit.record(session, action="org.project.move", entity_type=ENTITY, entity_id=project.id,
                       before=before, after={**audit.snapshot(project), "movedDescendants": moved},
                       reason=data.reason)
    return project


# ------------------------------------------------------------------------- buildings


async def list_buildings(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                         project_id: uuid.UUID | None, q: str | None, code: str | None) -> Page[OrgNodeOut]:
    stmt = _node_filters(select(OrgNode).where(OrgNode.kind == NodeKind.building), authz, q, code)
    if project_id is not None:
        stmt = stmt.where(OrgNode.parent_id == project_id)
    return await paginate(session, stmt, params, sortable=NODE_SORT, default_sort=["code"], tiebreak=OrgNode.id,
                          to_schema=OrgNodeOut.of)


async def create_building(session: AsyncSession, authz: Authorizer, data: BuildingCreate) -> OrgNode:
    project = await _parent_for_create(session, authz, data.project_id, NodeKind.project, "projectId")
    return await _add_node(session, project, NodeKind.building, data.code, data.name, data.description)


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
    building = await _parent_for_create(session, authz, data.building_id, NodeKind.building, "buildingId")
    area = _area(data.area)
    await _ensure_number_free(session, building.id, data.number)
    unit = Unit(building_id=building.id, project_id=building.parent_id, number=data.number, floor=data.floor,
                layout=data.layout, area=area, status=data.status)
    session.add(unit)
    await session.flush()
    await session.refresh(unit)
    await audit.record(session, action="org.unit.create", entity_type=UNIT, entity_id=unit.id,
                       after=audit.snapshot(unit))
    return unit


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
    await session.flush()
    await session.refresh(unit)
    await audit.record(session, action="org.unit.update", entity_type=UNIT, entity_id=unit.id,
                       before=before, after=audit.snapshot(unit))
    return unit


async def delete_unit(session: AsyncSession, authz: Authorizer, unit: Unit, building_path: str) -> None:
    authz.require(MANAGE, building_path)
    await _refuse_if_live(session, Holder("unit", unit.id), "unit")
    before = audit.snapshot(unit)
    await session.delete(unit)
    await session.flush()
    await audit.record(session, action="org.unit.delete", entity_type=UNIT, entity_id=unit.id, before=before)


# -------------------------------------------------------------------- responsibility


def responsibility(project: OrgNode, time_zone: str) -> Responsibility:
    """Who owns the customer relation of a project's units today (in the tenant's time
    zone): the project department until the handover date, customer affairs from it on."""
    zone = ZoneInfo(time_zone)
    today = clock.utcnow().astimezone(zone).date()  # through the module: tests fix the time
    handover = project.handover_date
    if handover is not None and today >= handover:
        return Responsibility(department=Department.customer_affairs, project_id=project.id,
                              handover_date=handover, since=handover)
    return Responsibility(department=Department.project_department, project_id=project.id, handover_date=handover,
                          since=project.created_at.astimezone(zone).date())


async def unit_responsibility(session: AsyncSession, authz: Authorizer, unit_id: uuid.UUID,
                              time_zone: str) -> Responsibility:
    unit, _ = await get_unit(session, authz, unit_id)
    project = await session.scalar(select(OrgNode).where(OrgNode.id == unit.project_id))
    assert project is not None  # a foreign key holds it
    return responsibility(project, time_zone)
