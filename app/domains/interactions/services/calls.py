"""Calls, inbound and outbound, logged with their outcome."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.crypto import mask_phone
from app.core.keystore import tenant_keys
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for, subtree_filter
from app.domains.customers.lookups import customer_for
from app.domains.customers.services import normalise_phone
from app.domains.inquiries.models import Inquiry
from app.domains.inquiries.services import READ as INQUIRIES_READ
from app.domains.interactions.models import Call, CallDirection, CallOutcome
from app.domains.interactions.schemas import Callback, CallCreate, CallOut, Failed, Interested, NotInterested
from app.domains.interactions.services.common import CALL, IX_PHONE, PHONE, READ, WRITE, require_consent, trail_snapshot
from app.domains.org import services as org
from app.domains.org.models import OrgNode

# -------------------------------------------------------------------------------- calls

CALL_SORT = {"startedAt": Call.started_at, "createdAt": Call.created_at}


async def get_call(session: AsyncSession, authz: Authorizer, call_id: uuid.UUID) -> tuple[Call, str]:
    return await get_at_node(session, authz, Call, call_id, READ, "call")


@dataclass
class _Outcome:
    outcome: CallOutcome
    interests: list[str]
    objections: list[str]
    failure_reason: Any = None
    callback_at: datetime | None = None


def _outcome(data: CallCreate) -> _Outcome:
    o = data.outcome
    if isinstance(o, Interested):
        return _Outcome(CallOutcome.interested, list(o.interests), [])
    if isinstance(o, NotInterested):
        return _Outcome(CallOutcome.not_interested, [], list(o.objections))
    if isinstance(o, Callback):
        return _Outcome(CallOutcome.callback, [], [], callback_at=o.callback_at)
    if isinstance(o, Failed):
        return _Outcome(CallOutcome.failed, [], [], failure_reason=o.reason)
    return _Outcome(CallOutcome.resolved, [], [])


async def call_out(session: AsyncSession, c: Call) -> CallOut:
    keys = await tenant_keys(session)
    phone = keys.open(PHONE, c.phone_sealed) if c.phone_sealed else None
    return CallOut(id=c.id, direction=c.direction, customer_id=c.customer_id, contact_note=c.contact_note,
                   phone=mask_phone(phone) if phone else None, node_id=c.node_id, agent_id=c.agent_id,
                   started_at=c.started_at, duration_seconds=c.duration_seconds, subject=c.subject, notes=c.notes,
                   outcome=c.outcome, interests=list(c.interests or []), objections=list(c.objections or []),
                   failure_reason=c.failure_reason, callback_at=c.callback_at, inquiry_id=c.inquiry_id,
                   created_at=c.created_at, version=c.version)


async def list_calls(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                     direction: CallDirection | None, outcome: CallOutcome | None, customer_id: uuid.UUID | None,
                     node_id: uuid.UUID | None, mine: bool | None, started_from: datetime | None,
                     started_to: datetime | None) -> Page[CallOut]:
    stmt: Select[Any] = select(Call).where(authz.visible(READ, Call.node_id))
    if direction is not None:
        stmt = stmt.where(Call.direction == direction)
    if outcome is not None:
        stmt = stmt.where(Call.outcome == outcome)
    if customer_id is not None:
        stmt = stmt.where(Call.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Call.node_id, node_id))
    if mine is not None:
        me = Call.agent_id == authz.principal.subject
        stmt = stmt.where(me if mine else ~me)
    if started_from is not None:
        stmt = stmt.where(Call.started_at >= started_from)
    if started_to is not None:
        stmt = stmt.where(Call.started_at < started_to)
    page = await paginate(session, stmt, params, sortable=CALL_SORT, default_sort=["-startedAt"], tiebreak=Call.id,
                          to_schema=lambda c: c)
    return Page(items=[await call_out(session, c) for c in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def _inquiry_for(session: AsyncSession, authz: Authorizer, inquiry_id: uuid.UUID) -> None:
    path = await session.scalar(select(OrgNode.path).join(Inquiry, Inquiry.node_id == OrgNode.id)
                                .where(Inquiry.id == inquiry_id))
    if path is None or not (authz.can(INQUIRIES_READ, path) or authz.can(WRITE, path)):
        raise ProblemError("not-found", f"No inquiry with id {inquiry_id}.",
                           errors=[field_error("inquiryId", "no such inquiry")])


async def create_call(session: AsyncSession, authz: Authorizer, data: CallCreate) -> Call:
    if data.customer_id is not None:
        _, node = await customer_for(session, authz, data.customer_id, WRITE)
        if data.node_id is not None and data.node_id != node.id:
            raise ProblemError("validation", "A known customer's call sits where the customer does.",
                               errors=[field_error("nodeId", f"the customer sits at {node.id}: leave it out")])
    elif data.node_id is not None:
        node = await node_for(session, authz, data.node_id, WRITE)
    else:
        node = await org.get_root(session)
        authz.require(WRITE, node.path)
    if data.inquiry_id is not None:
        await _inquiry_for(session, authz, data.inquiry_id)
    outcome = _outcome(data)
    await require_consent(session, data.customer_id, {"outcome.interests": outcome.interests,
                                                 "outcome.objections": outcome.objections})
    sealed = index = None
    if data.phone is not None:
        keys = await tenant_keys(session)
        number = normalise_phone(data.phone, "phone")
        sealed, index = keys.seal(PHONE, number), keys.blind_index(IX_PHONE, number)
    call = Call(direction=data.direction, customer_id=data.customer_id, contact_note=data.contact_note,
                phone_sealed=sealed, phone_index=index, node_id=node.id, agent_id=authz.principal.subject,
                started_at=data.started_at, duration_seconds=data.duration_seconds, subject=data.subject,
                notes=data.notes, outcome=outcome.outcome, interests=outcome.interests,
                objections=outcome.objections, failure_reason=outcome.failure_reason,
                callback_at=outcome.callback_at, inquiry_id=data.inquiry_id)
    session.add(call)
    return await saved(session, call, "interactions.call.log", CALL,
                       snapshot=lambda call: trail_snapshot(call, phone=mask_phone(data.phone) if data.phone else None))
