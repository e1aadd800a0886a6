"""What the relations domains (interactions, surveys, grading) share: finding a record at its
org node for a caller, checking the customer, node or staff account a request names, the
status of a record decided by the approval engine, and the count of records at a node.

A record of these domains sits at an org node; a caller without the domain's read
permission there gets 404, as for an id that does not exist. A customer or node named in a
body is found when the caller may read it in its own domain *or* act there in this one (a
call-centre agent logs calls for customers whose files they do not read), and answers 404
naming the field otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Sequence, TypeVar
from zoneinfo import ZoneInfo

from litestar.params import Parameter
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import tenant_account
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import INSTANT_PATTERN, Page, on_edge_day
from app.domains.access.authz import Authorizer
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.customers.models import Customer
from app.domains.customers.services import READ as CUSTOMERS_READ
from app.domains.org import services as org
from app.domains.org.models import NodeKind, OrgNode
from app.tenants.bound import time_zone

M = TypeVar("M")
T = TypeVar("T")


async def get_at_node(session: AsyncSession, authz: Authorizer, model: type[M], record_id: uuid.UUID,
                      permission: str, what: str, *, lock: bool = False) -> tuple[M, str]:
    """A record of ``model`` (it has ``id`` and ``node_id``) the caller may read with
    ``permission``, and its node's path; any other id answers 404."""
    table: Any = model
    stmt = select(model, OrgNode.path).join(OrgNode, OrgNode.id == table.node_id).where(table.id == record_id)
    if lock:
        stmt = stmt.with_for_update(of=table)
    row = (await session.execute(stmt)).first()
    if row is None or not authz.can(permission, row[1]):
        raise ProblemError("not-found", f"No {what} with id {record_id}.")
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


async def customer_for(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, permission: str, *,
                       field: str = "customerId", lock: bool = False) -> tuple[Customer, OrgNode]:
    """The live customer a request names and their node, for a caller who holds
    ``permission`` there; a merged-away record answers 409 naming the survivor."""
    stmt = select(Customer, OrgNode).join(OrgNode, OrgNode.id == Customer.node_id).where(Customer.id == customer_id)
    if lock:
        stmt = stmt.with_for_update(of=Customer)
    row = (await session.execute(stmt)).first()
    if row is None or not (authz.can(CUSTOMERS_READ, row[1].path) or authz.can(permission, row[1].path)):
        raise ProblemError("not-found", f"No customer with id {customer_id}.",
                           errors=[field_error(field, "no such customer")])
    customer, node = row[0], row[1]
    if customer.merged_into_id is not None:
        raise ProblemError("conflict", f"Customer {customer.number} was merged into customer "
                                       f"{customer.merged_into_id}: use that one.",
                           errors=[field_error(field, f"merged into {customer.merged_into_id}")])
    authz.require(permission, node.path)
    return customer, node


async def staff_account(session: AsyncSession, account_id: uuid.UUID, field: str) -> str:
    """An active staff account of this tenant, as a subject id; 404 (another tenant's, or
    nobody's) or 422 (an owner, a disabled account) naming the field otherwise."""
    return str((await tenant_account(session, account_id, field)).id)


def under(column: ColumnElement[Any], path: str) -> ColumnElement[bool]:
    """``column`` (a node id) lies at the node with ``path`` or below it."""
    return column.in_(select(OrgNode.id).where(or_(OrgNode.path == path, OrgNode.path.like(path + "/%"))))


async def subtree_filter(session: AsyncSession, column: ColumnElement[Any],
                         node_id: uuid.UUID) -> ColumnElement[bool]:
    """A list filter: records at ``node_id`` or below (none when there is no such node)."""
    path = await session.scalar(select(OrgNode.path).where(OrgNode.id == node_id))
    return under(column, path) if path is not None else false()


def instant_param(name: str, description: str) -> Any:
    """A query-string instant, taken as text: a number is not a time, and a time without its
    offset is ambiguous (lenient datetime parsing would accept both)."""
    return Parameter(query=name, default=None,
                     description=f"{description} RFC 3339 with an offset (not on 0001-01-01 or 9999-12-31).",
                     schema_extra={"format": "date-time", "pattern": INSTANT_PATTERN})


def instant(value: str | None, field: str) -> datetime | None:
    """A query-string instant (see ``instant_param``), or 422 naming the parameter."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ProblemError("validation", f"{field}: not an RFC 3339 date-time.",
                           errors=[field_error(field, "not an RFC 3339 date-time", "query")]) from None
    if parsed.tzinfo is None:
        raise ProblemError("validation", f"{field}: give the offset, e.g. 2026-05-01T00:00:00+08:00.",
                           errors=[field_error(field, "needs an offset", "query")])
    if on_edge_day(parsed):
        raise ProblemError("validation", f"{field}: a time on 0001-01-01 or 9999-12-31 cannot be stored.",
                           errors=[field_error(field, "on the first or last day of the calendar", "query")])
    return parsed


async def local_year(session: AsyncSession, at: datetime) -> int:
    """The year of ``at`` in the tenant's time zone (numbers are counted per year there)."""
    return at.astimezone(ZoneInfo(await time_zone(session))).year


# ------------------------------------------------- records whose decision is the engine's
# A reception, a gift application or a credit review under review shows its approval
# request's status, read from the engine rather than copied, so that an action taken through
# the engine's own API can never leave the two disagreeing.

SUBMITTED = "submitted"  # the stage whose shown status is the request's


def shown_status(stage: str, request_status: RequestStatus | None) -> str:
    """The status shown for a record whose ``submitted`` stage defers to its request."""
    if stage == SUBMITTED:
        return request_status.value if request_status is not None else RequestStatus.pending.value
    return stage


def status_filter(stage_column: Any, stages: type[Any], status: str) -> ColumnElement[bool]:
    """The WHERE clause for a status as shown (the record's stage, or its request's); the
    statement joins ApprovalRequest on the record's request."""
    if status in {s.value for s in RequestStatus}:
        return and_(stage_column == stages(SUBMITTED), ApprovalRequest.status == RequestStatus(status))
    return stage_column == stages(status)  # type: ignore[no-any-return]


async def request_statuses(session: AsyncSession,
                           ids: Sequence[uuid.UUID | None]) -> dict[uuid.UUID, RequestStatus]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return dict((await session.execute(select(ApprovalRequest.id, ApprovalRequest.status)
                                       .where(ApprovalRequest.id.in_(wanted)))).all())  # type: ignore[arg-type]


async def page_with_request_status(session: AsyncSession, stmt: Select[Any], params: PageParams, *,
                                   sortable: dict[str, ColumnElement[Any]], default_sort: Sequence[str],
                                   tiebreak: ColumnElement[Any],
                                   to_schema: Callable[[Any, RequestStatus | None], T]) -> Page[T]:
    """A page of such records (``stmt`` selects them), each shown with its request's status,
    read in one query for the whole page."""
    page = await paginate(session, stmt, params, sortable=sortable, default_sort=default_sort, tiebreak=tiebreak,
                          to_schema=lambda r: r)
    statuses = await request_statuses(session, [r.approval_request_id for r in page.items])
    return Page(items=[to_schema(r, statuses.get(r.approval_request_id)) for r in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


async def request_status(session: AsyncSession, request_id: uuid.UUID | None) -> RequestStatus | None:
    if request_id is None:
        return None
    return await session.scalar(select(ApprovalRequest.status).where(ApprovalRequest.id == request_id))


def payload_id(payload: dict[str, Any], key: str) -> uuid.UUID:
    """The record id an approval request's payload names (422 naming it otherwise)."""
    try:
        return uuid.UUID(str(payload.get(key)))
    except ValueError:
        raise ProblemError("validation", f"The request names no {key}.",
                           errors=[field_error(f"payload.{key}", "a record id")]) from None


# ------------------------------------------------------------------------------ org hooks


async def records_at(session: AsyncSession, holder: org.Holder, models: Sequence[tuple[Any, str]]) -> str | None:
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
