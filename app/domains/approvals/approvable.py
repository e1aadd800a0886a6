"""Records whose decision is the approval engine's: one declaration per request type.

A reception, a gift application or a credit review under review shows its approval request's
status, read from the engine rather than copied, so that an action taken through the
engine's own API can never leave the two disagreeing. What every such record needs — finding
it from a request's payload, its org node, moving its version when the engine decides (so
that its ETag tells a client the shown status changed), its listing with the request's
status — is declared once::

    RECEPTION = Approvable(Reception, key="receptionId", entity="reception", what="reception")

    REQUEST_TYPES = [approvable_type(
        "reception", "Reception or hospitality application", RECEPTION, describe=_reception_payload,
        default_chain=[...], default_roles={...})]
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.pagination import ColumnLike, PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.registry import Callback, Payload, RequestType, request_type


class ApprovableRecord(Protocol):
    id: Any
    node_id: uuid.UUID
    updated_at: datetime


M = TypeVar("M", bound=ApprovableRecord)
T = TypeVar("T")

SUBMITTED = "submitted"  # the stage whose shown status is the request's


def payload_id(payload: Mapping[str, Any], key: str) -> uuid.UUID:
    """The record id an approval request's payload names (422 naming it otherwise)."""
    try:
        return uuid.UUID(str(payload.get(key)))
    except ValueError:
        raise ProblemError("validation", f"The request names no {key}.",
                           errors=[field_error(f"payload.{key}", "a record id")]) from None


@dataclass(frozen=True)
class Approvable(Generic[M]):
    """A kind of record an approval request is about: ``model`` has ``id``, ``node_id`` and
    ``updated_at``; the request's payload names it under ``key``."""

    model: type[M]
    key: str  # e.g. "receptionId"
    entity: str  # its entity type (audit records, the request's subject)
    what: str  # how messages name it: "reception"

    async def of(self, session: AsyncSession, payload: Mapping[str, Any], *, lock: bool = False) -> M:
        table: Any = self.model
        stmt = select(self.model).where(table.id == payload_id(payload, self.key))
        record = await session.scalar(stmt.with_for_update() if lock else stmt)
        if record is None:
            raise ProblemError("validation", f"No such {self.what}.",
                               errors=[field_error(f"payload.{self.key}", "unknown")])
        return record

    async def node(self, session: AsyncSession, payload: Payload) -> uuid.UUID:
        node_id: uuid.UUID = (await self.of(session, payload)).node_id
        return node_id

    async def touch(self, session: AsyncSession, request: ApprovalRequest) -> None:
        """The engine decided: the shown status is the request's, and the record's version
        moves with it so that its ETag tells a client it changed."""
        record = await self.of(session, request.payload, lock=True)
        record.updated_at = clock.utcnow()
        await session.flush()


def approvable_type(code: str, title: str, record: Approvable[M], *,
                    describe: Callable[[AsyncSession, M], Awaitable[Payload]],
                    on_approved: Callback | None = None, on_rejected: Callback | None = None,
                    on_withdrawn: Callback | None = None, permission: str | None = None,
                    default_chain: Sequence[Mapping[str, Any]] = (),
                    default_roles: Mapping[str, str] | None = None,
                    replaces: Sequence[Sequence[Mapping[str, Any]]] = ()) -> RequestType:
    """The request type of one approvable record. ``describe`` is what the approvers decide
    on, read from the record as it is now (so that a revision resubmitted through the engine's
    own API shows its new values too); a decision without its own callback touches the record."""

    async def validate(session: AsyncSession, payload: Payload) -> Payload:
        return await describe(session, await record.of(session, payload))

    return request_type(
        code, title, on_approved=on_approved or record.touch, on_rejected=on_rejected or record.touch,
        on_withdrawn=on_withdrawn or record.touch, permission=permission, node_of=record.node, validate=validate,
        subject_of=lambda payload: (record.entity, str(payload[record.key])), default_chain=default_chain,
        default_roles=default_roles, replaces=replaces)


def revisable(stage: Any, draft: Any, submitted: Any, request_status: RequestStatus | None) -> bool:
    """Whether a record in ``stage`` may be revised and submitted again: a draft, or one
    submitted whose request was rejected or withdrawn."""
    return stage is draft or (
        stage is submitted and request_status in (RequestStatus.rejected, RequestStatus.withdrawn))


def shown_status(stage: str, request_status: RequestStatus | None) -> str:
    """The status shown for a record whose ``submitted`` stage defers to its request."""
    if stage == SUBMITTED:
        return request_status.value if request_status is not None else RequestStatus.pending.value
    return stage


def status_filter(stage_column: ColumnLike[Any], stages: type[Enum], status: str) -> ColumnElement[bool]:
    """The WHERE clause for a status as shown (the record's stage, or its request's); the
    statement joins ApprovalRequest on the record's request."""
    if status in {s.value for s in RequestStatus}:
        return and_(stage_column == stages(SUBMITTED), ApprovalRequest.status == RequestStatus(status))
    return stage_column == stages(status)


async def request_status(session: AsyncSession, request_id: uuid.UUID | None) -> RequestStatus | None:
    if request_id is None:
        return None
    return await session.scalar(select(ApprovalRequest.status).where(ApprovalRequest.id == request_id))


async def request_statuses(session: AsyncSession,
                           ids: Sequence[uuid.UUID | None]) -> dict[uuid.UUID, RequestStatus]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await session.execute(select(ApprovalRequest.id, ApprovalRequest.status)
                                 .where(ApprovalRequest.id.in_(wanted)))
    return {request_id: status for request_id, status in rows.tuples()}


async def page_with_request_status(session: AsyncSession, stmt: Select[Any], params: PageParams, *,
                                   sortable: Mapping[str, ColumnLike[Any]], default_sort: Sequence[str],
                                   tiebreak: ColumnLike[Any],
                                   to_schema: Callable[[Any, RequestStatus | None], T]) -> Page[T]:
    """A page of such records (``stmt`` selects them), each shown with its request's status,
    read in one query for the whole page."""
    page = await paginate(session, stmt, params, sortable=sortable, default_sort=default_sort, tiebreak=tiebreak,
                          to_schema=lambda r: r)
    statuses = await request_statuses(session, [r.approval_request_id for r in page.items])
    return Page(items=[to_schema(r, statuses.get(r.approval_request_id)) for r in page.items], total=page.total,
                limit=page.limit, offset=page.offset)
