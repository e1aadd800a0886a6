"""Improvement actions from forum findings: follow-up (progress, a new owner or due date),
done with a result or dropped with a reason; and the daily scan that flags open actions past
their due date and tells each one's owner once."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock
from app.core.notify import INBOX, queue_messages
from app.core.pagination import PageParams, paginate
from app.core.schemas import Page
from app.core.states import Workflow
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.forums.models import ActionStatus, Forum, ImprovementAction
from app.domains.forums.schemas import ActionDone, ActionDrop, ActionOut, ActionUpdate
from app.domains.forums.services import ACTION, READ, WRITE, action_out
from app.tenants.bound import tenant_id, today

SORT = {"dueOn": ImprovementAction.due_on, "createdAt": ImprovementAction.created_at}
SCAN_BATCH = 500

FLOW = Workflow("improvement action", {
    "follow_up": ([ActionStatus.open], [ActionStatus.open]),
    "complete": ([ActionStatus.open], [ActionStatus.done]),
    "drop": ([ActionStatus.open], [ActionStatus.dropped]),
})


async def show(session: AsyncSession, a: ImprovementAction) -> ActionOut:
    return action_out(a, await today(session))


async def get_action(session: AsyncSession, authz: Authorizer, action_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[ImprovementAction, str]:
    return await get_at_node(session, authz, ImprovementAction, action_id, READ, "improvement action", lock=lock)


async def list_actions(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                       status: ActionStatus | None, overdue: bool | None, mine: bool | None,
                       forum_id: uuid.UUID | None, node_id: uuid.UUID | None) -> Page[ActionOut]:
    stmt: Select[Any] = select(ImprovementAction).where(authz.visible(READ, ImprovementAction.node_id))
    local = await today(session)
    if status is not None:
        stmt = stmt.where(ImprovementAction.status == status)
    if overdue is not None:
        late = (ImprovementAction.status == ActionStatus.open) & (ImprovementAction.due_on < local)
        stmt = stmt.where(late if overdue else ~late)
    if mine is not None:
        me = ImprovementAction.owner_id == authz.principal.subject
        stmt = stmt.where(me if mine else ~me)
    if forum_id is not None:
        stmt = stmt.where(ImprovementAction.forum_id == forum_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, ImprovementAction.node_id, node_id))
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["dueOn"], tiebreak=ImprovementAction.id,
                          to_schema=lambda a: action_out(a, local))


async def _saved(session: AsyncSession, a: ImprovementAction, action: str, before: dict[str, Any],
                 reason: str | None = None) -> ImprovementAction:
    await session.flush()
    await session.refresh(a)
    await audit.record(session, action=f"forums.action.{action}", entity_type=ACTION, entity_id=a.id, before=before,
                       after=audit.snapshot(a), reason=reason)
    return a


async def follow_up(session: AsyncSession, authz: Authorizer, a: ImprovementAction, path: str,
                    data: ActionUpdate) -> ImprovementAction:
    authz.require(WRITE, path)
    FLOW.require("follow_up", a.status, f"The action {a.title!r}")
    before = audit.snapshot(a)
    if data.progress is not msgspec.UNSET:
        a.progress = data.progress
    if data.owner_id is not msgspec.UNSET:
        a.owner_id = await staff_subject(session, data.owner_id, "ownerId")
    if data.due_on is not msgspec.UNSET and data.due_on != a.due_on:
        a.due_on, a.overdue_since = data.due_on, None  # a new date: flagged again if missed again
    a.updated_at = clock.utcnow()
    return await _saved(session, a, "follow_up", before)


async def complete(session: AsyncSession, authz: Authorizer, a: ImprovementAction, path: str,
                   data: ActionDone) -> ImprovementAction:
    authz.require(WRITE, path)
    before = audit.snapshot(a)
    a.status = FLOW.to("complete", a.status, ActionStatus.done, f"The action {a.title!r}")
    a.result, a.done_at = data.result, clock.utcnow()
    return await _saved(session, a, "complete", before)


async def drop(session: AsyncSession, authz: Authorizer, a: ImprovementAction, path: str,
               data: ActionDrop) -> ImprovementAction:
    authz.require(WRITE, path)
    before = audit.snapshot(a)
    a.status = FLOW.to("drop", a.status, ActionStatus.dropped, f"The action {a.title!r}")
    a.result = data.reason
    return await _saved(session, a, "drop", before, data.reason)


async def scan_overdue(session: AsyncSession) -> dict[str, int]:
    """Flag open actions past their due date (in the group's time zone) not flagged yet, and
    tell each one's owner in the app, once; a batch at a time (the caller loops)."""
    local = await today(session)
    rows = (await session.execute(
        select(ImprovementAction, Forum.number).join(Forum, Forum.id == ImprovementAction.forum_id)
        .where(ImprovementAction.status == ActionStatus.open, ImprovementAction.due_on < local,
               ImprovementAction.overdue_since.is_(None))
        .order_by(ImprovementAction.due_on, ImprovementAction.id).limit(SCAN_BATCH)
        .with_for_update(of=ImprovementAction, skip_locked=True))).tuples().all()
    tid, messages = await tenant_id(session), 0
    for a, number in rows:
        before = audit.snapshot(a)
        a.overdue_since = local
        await _saved(session, a, "overdue", before)
        sent = await queue_messages(
            session, [a.owner_id], tenant_id=tid, channel=INBOX, subject=f"改进措施已逾期：{a.title}",
            body=f"座谈会 {number} 的改进措施“{a.title}”应于 {a.due_on.isoformat()} 完成，现已逾期，请尽快跟进。",
            data={"event": "forums.action.overdue", "actionId": str(a.id), "forumId": str(a.forum_id),
                  "dueOn": a.due_on.isoformat()})
        messages += len(sent)
    return {"flagged": len(rows), "messages": messages}
