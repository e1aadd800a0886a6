"""Records that sit at an org node, found for a caller: the one lookup every domain uses.

A record of a domain sits at an org node; a caller without the permission to read it there
gets 404, as for an id that does not exist (a 403 would tell them it exists). A node named in
a body is found when the caller may see it in the org tree *or* act there in the domain (a
call-centre agent logs calls at projects whose tree they do not manage), and answers 404
naming the field otherwise.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import ColumnLike
from app.core.problems import ProblemError, field_error
from app.domains.access.authz import Authorizer
from app.domains.org.models import NodeKind, OrgNode

M = TypeVar("M")


async def get_at_node(session: AsyncSession, authz: Authorizer, model: type[M], record_id: uuid.UUID,
                      permission: str, what: str, *, lock: bool = False, nowait: bool = False,
                      field: str | None = None) -> tuple[M, str]:
    """A record of ``model`` (it has ``id`` and ``node_id``) the caller may read with
    ``permission``, and its node's path; any other id answers 404 (naming ``field`` when the
    id came from a body field). ``lock``: the record's row is locked for the transaction
    (``nowait``: a row another transaction holds answers 409 at once instead of waiting)."""
    table: Any = model
    stmt = select(model, OrgNode.path).join(OrgNode, OrgNode.id == table.node_id).where(table.id == record_id)
    if lock:
        stmt = stmt.with_for_update(of=table, nowait=nowait)
    row = (await session.execute(stmt)).first()
    if row is None or not authz.can(permission, row[1]):
        errors = [field_error(field, f"no such {what}")] if field else None
        raise ProblemError("not-found", f"No {what} with id {record_id}.", errors=errors)
    return row[0], row[1]


async def node_for(session: AsyncSession, authz: Authorizer, node_id: uuid.UUID, permission: str, *,
                   field: str = "nodeId", kinds: tuple[NodeKind, ...] | None = None) -> OrgNode:
    """The org node a request names, for a caller who holds ``permission`` there (403 when
    they only see it, 404 when they do not)."""
    node = await session.get(OrgNode, node_id)
    if node is None or not (authz.can("org.read", node.path) or authz.can(permission, node.path)):
        raise ProblemError("not-found", f"No org node with id {node_id}.", errors=[field_error(field, "no such node")])
    if kinds is not None and node.kind not in kinds:
        allowed = " or ".join(k.value for k in kinds)
        raise ProblemError("validation", f"The {node.kind.value} {node.code} cannot hold this record: name a "
                                         f"{allowed}.", errors=[field_error(field, f"must be a {allowed}")])
    authz.require(permission, node.path)
    return node


def under(column: ColumnLike[Any], path: str) -> ColumnElement[bool]:
    """``column`` (a node id) lies at the node with ``path`` or below it."""
    return column.in_(select(OrgNode.id).where(or_(OrgNode.path == path, OrgNode.path.like(path + "/%"))))


async def subtree_filter(session: AsyncSession, column: ColumnLike[Any],
                         node_id: uuid.UUID) -> ColumnElement[bool]:
    """A list filter: records at ``node_id`` or below (none when there is no such node)."""
    path = await session.scalar(select(OrgNode.path).where(OrgNode.id == node_id))
    return under(column, path) if path is not None else false()
