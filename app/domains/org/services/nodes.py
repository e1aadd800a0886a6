"""The tree's nodes: the group (one root per tenant), branches, projects and buildings, with
unique codes, moves and deletions.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam, case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.ids import new_id
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.reads import Read, TenantReader
from app.core.schemas import Page, provided
from app.core.writes import saved
from app.domains.access.authz import Authorizer, trusted
from app.domains.org.models import PARENT_KIND, NodeKind, OrgNode, Unit
from app.domains.org.schemas import (
    BranchCreate,
    BuildingCreate,
    NodeUpdate,
    OrgNodeOut,
    ProjectCreate,
    ProjectMove,
    ProjectOut,
    ProjectUpdate,
)
from app.domains.org.services.common import ENTITY, MANAGE, READ, ROOT_CODE, parent_path
from app.domains.org.services.hooks import Holder, refuse_if_live


class _Placed(Protocol):
    @property
    def path(self) -> str: ...


N = TypeVar("N", bound=_Placed)  # an org node: the ORM object, or a reader row of one


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


async def parent_for_create(session: AsyncSession, authz: Authorizer, parent_id: uuid.UUID, kind: NodeKind,
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
    return await saved(session, node, f"org.{kind.value}.create", ENTITY)


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
    return await saved(session, node, f"org.{node.kind.value}.update", ENTITY, before=before)


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
    await refuse_if_live(session, Holder("node", node.id), what)
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
    branch = await parent_for_create(session, authz, data.branch_id, NodeKind.branch, "branchId")
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
    project = await parent_for_create(session, authz, data.project_id, NodeKind.project, "projectId")
    return await _add_node(session, project, NodeKind.building, data.code, data.name, data.description)
