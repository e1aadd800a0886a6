"""Customer forums (座谈会, 004 §4.7): purpose and plan → approval (revise until approved) →
invitations → the meeting with its minutes and attendance → the analysis: classified
findings, each turned into improvement actions with an owner and a due date → closed.

The plan goes to the ``forum_plan`` chain (the supervising manager by default); while under
review its status is its approval request's. Actions are followed up on their own
(``actions.py``) and a daily scan flags those overdue.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock
from app.core.numbering import next_number
from app.core.pagination import PageParams
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.states import Workflow
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.records import get_at_node, node_for, subtree_filter
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import (
    Approvable,
    approvable_type,
    page_with_request_status,
    request_status,
    revisable,
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.schemas import Resubmission
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer
from app.domains.forums.models import (
    ActionStatus,
    Forum,
    ForumFinding,
    ForumInvitee,
    ForumStage,
    ImprovementAction,
    InviteeStatus,
)
from app.domains.forums.schemas import (
    ActionOut,
    Cancellation,
    Closing,
    FindingIn,
    FindingOut,
    ForumCreate,
    ForumOut,
    ForumStatus,
    ForumUpdate,
    Invitations,
    InviteeOut,
    Minutes,
    Submission,
)
from app.domains.org.models import NodeKind
from app.tenants.bound import local_year, today

READ, WRITE = "forums.read", "forums.write"
FORUM, FINDING, ACTION = "forum", "forum_finding", "forum_action"
FORUM_TYPE = "forum_plan"
FORUM_NODES = (NodeKind.project, NodeKind.branch)
SORT = {"plannedAt": Forum.planned_at, "createdAt": Forum.created_at, "number": Forum.number}

register_permissions({
    READ: "See customer forums, their minutes, findings and improvement actions in one's subtree.",
    WRITE: "Plan customer forums, invite, record minutes and attendance, record findings and follow up their "
           "improvement actions, in one's subtree.",
})

FLOW = Workflow("forum", {
    "invite": ([ForumStage.draft, ForumStage.submitted], [ForumStage.draft, ForumStage.submitted]),
    "hold": ([ForumStage.submitted], [ForumStage.held]),
    "find": ([ForumStage.held], [ForumStage.held]),
    "close": ([ForumStage.held], [ForumStage.closed]),
    "cancel": ([ForumStage.draft, ForumStage.submitted], [ForumStage.cancelled]),
})


def _status(f: Forum, request: RequestStatus | None) -> ForumStatus:
    return shown_status(f.stage.value, request)  # type: ignore[return-value]  # a member of ForumStatus


def _conflict(f: Forum, state: str, hint: str) -> ProblemError:
    return ProblemError("conflict", f"Forum {f.number} is {state}: {hint}.")


async def get_forum(session: AsyncSession, authz: Authorizer, forum_id: uuid.UUID, *,
                    lock: bool = False) -> tuple[Forum, str]:
    return await get_at_node(session, authz, Forum, forum_id, READ, "forum", lock=lock)


async def forum_out(session: AsyncSession, f: Forum) -> ForumOut:
    rows = dict((await session.execute(select(ForumInvitee.status, func.count()).where(
        ForumInvitee.forum_id == f.id).group_by(ForumInvitee.status))).tuples().all())
    return ForumOut(
        id=f.id, node_id=f.node_id, number=f.number, title=f.title, kind=f.kind, scope=f.scope, theme=f.theme,
        purpose=f.purpose, planned_at=f.planned_at, format=f.format, venue=f.venue, participants=f.participants,
        budget=f.budget, status=_status(f, await request_status(session, f.approval_request_id)),
        approval_request_id=f.approval_request_id, invited=sum(rows.values()),
        attended=rows.get(InviteeStatus.attended, 0), held_at=f.held_at, minutes=f.minutes, analysis=f.analysis,
        actual_cost=f.actual_cost, cancel_reason=f.cancel_reason, created_at=f.created_at, version=f.version)


async def list_forums(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                      node_id: uuid.UUID | None) -> Page[ForumOut]:
    stmt: Select[Any] = (select(Forum).outerjoin(ApprovalRequest, ApprovalRequest.id == Forum.approval_request_id)
                         .where(authz.visible(READ, Forum.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(Forum.stage, ForumStage, status))
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Forum.node_id, node_id))
    page = await page_with_request_status(session, stmt, params, sortable=SORT, default_sort=["-plannedAt"],
                                          tiebreak=Forum.id, to_schema=lambda f, _: f)
    return Page(items=[await forum_out(session, f) for f in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


def _check_theme(f: Forum) -> None:
    if f.scope.value == "thematic" and not f.theme:
        raise ProblemError("validation", "A thematic forum names its theme.",
                           errors=[field_error("theme", "required for a thematic forum")])


async def create_forum(session: AsyncSession, authz: Authorizer, data: ForumCreate) -> Forum:
    node = await node_for(session, authz, data.node_id, WRITE, kinds=FORUM_NODES)
    forum = Forum(node_id=node.id, number=await next_number(session, "ZT", await local_year(session, clock.utcnow())),
                  title=data.title, kind=data.kind, scope=data.scope, theme=data.theme, purpose=data.purpose,
                  planned_at=data.planned_at, format=data.format, venue=data.venue, participants=data.participants,
                  budget=Decimal(data.budget), stage=ForumStage.draft, created_by=authz.principal.subject)
    _check_theme(forum)
    session.add(forum)
    await session.flush()
    await session.refresh(forum)
    await audit.record(session, action="forums.forum.create", entity_type=FORUM, entity_id=forum.id,
                       after=audit.snapshot(forum))
    if data.submit:
        await submit_forum(session, authz, forum, node.path, Submission())
    return forum


async def update_forum(session: AsyncSession, authz: Authorizer, f: Forum, path: str, data: ForumUpdate) -> Forum:
    authz.require(WRITE, path)
    status = await request_status(session, f.approval_request_id)
    if not revisable(f.stage, ForumStage.draft, ForumStage.submitted, status):
        raise _conflict(f, shown_status(f.stage.value, status),
                        "only a draft, or a plan rejected or withdrawn, can be revised")
    before = audit.snapshot(f)
    for name, value in provided(data).items():
        setattr(f, name, Decimal(str(value)) if name == "budget" else value)
    _check_theme(f)
    return await _saved(session, f, "update", before)


async def _saved(session: AsyncSession, f: Forum, action: str, before: dict[str, Any],
                 reason: str | None = None) -> Forum:
    f.updated_at = clock.utcnow()
    await session.flush()
    await session.refresh(f)
    await audit.record(session, action=f"forums.forum.{action}", entity_type=FORUM, entity_id=f.id, before=before,
                       after=audit.snapshot(f), reason=reason)
    return f


async def submit_forum(session: AsyncSession, authz: Authorizer, f: Forum, path: str, data: Submission) -> Forum:
    authz.require(WRITE, path)
    status = await request_status(session, f.approval_request_id)
    if not revisable(f.stage, ForumStage.draft, ForumStage.submitted, status):
        raise _conflict(f, shown_status(f.stage.value, status), "it is already under review or decided")
    before = audit.snapshot(f)
    if status is RequestStatus.rejected:
        assert f.approval_request_id is not None
        await approvals.resubmit(session, f.approval_request_id, Resubmission(
            reason=data.note or "Revised and submitted again.", amount=str(f.budget)))
    else:
        request = await approvals.create_request(
            session, request_type=FORUM_TYPE, title=f"{f.number} {f.title}"[:300], payload={"forumId": str(f.id)},
            amount=f.budget, reason=data.note)
        f.approval_request_id = request.id
    f.stage = ForumStage.submitted
    return await _saved(session, f, "submit", before, data.note)


FORUM_RECORD = Approvable(Forum, key="forumId", entity=FORUM, what="forum")


async def _forum_payload(session: AsyncSession, f: Forum) -> dict[str, Any]:
    return {"forumId": str(f.id), "number": f.number, "title": f.title, "kind": f.kind.value,
            "scope": f.scope.value, "theme": f.theme, "purpose": f.purpose, "plannedAt": f.planned_at.isoformat(),
            "format": f.format, "participants": f.participants, "budget": str(f.budget)}


FORUM_REQUEST = approvable_type(
    FORUM_TYPE, "Customer forum plan", FORUM_RECORD, describe=_forum_payload,
    # 004 §4.7.4: the plan is approved by the company's supervising manager.
    default_chain=[{"name": "Supervising manager", "role": "supervising_manager", "at": "branch"}],
    default_roles={"supervising_manager": "Supervising manager"},
)
REQUEST_TYPES = [FORUM_REQUEST]


async def _approved(session: AsyncSession, f: Forum, move: str) -> None:
    status = await request_status(session, f.approval_request_id)
    FLOW.require(move, f.stage, f"Forum {f.number}")
    if f.stage is ForumStage.submitted and status is not RequestStatus.approved:
        raise _conflict(f, shown_status(f.stage.value, status), "its plan needs to be approved first")


def action_out(a: ImprovementAction, local_today: date) -> ActionOut:
    return ActionOut(id=a.id, forum_id=a.forum_id, finding_id=a.finding_id, node_id=a.node_id, title=a.title,
                     owner_id=a.owner_id, due_on=a.due_on, status=a.status,
                     overdue=a.status is ActionStatus.open and a.due_on < local_today, overdue_since=a.overdue_since,
                     progress=a.progress, result=a.result, done_at=a.done_at, version=a.version)


async def invitees(session: AsyncSession, f: Forum) -> list[InviteeOut]:
    rows = await session.execute(select(ForumInvitee, Customer.name).join(Customer, Customer.id ==
                                                                          ForumInvitee.customer_id)
                                 .where(ForumInvitee.forum_id == f.id).order_by(ForumInvitee.invited_at,
                                                                                ForumInvitee.id))
    return [InviteeOut(customer_id=i.customer_id, name=name, status=i.status, invited_at=i.invited_at)
            for i, name in rows.tuples()]


async def invite(session: AsyncSession, authz: Authorizer, f: Forum, path: str, data: Invitations) -> Forum:
    """Invite customers (those invited already stay as they are)."""
    authz.require(WRITE, path)
    FLOW.require("invite", f.stage, f"Forum {f.number}", hint="invitations go out before the meeting")
    known = set((await session.scalars(select(ForumInvitee.customer_id).where(ForumInvitee.forum_id == f.id))).all())
    now, added = clock.utcnow(), []
    for i, customer_id in enumerate(dict.fromkeys(data.customer_ids)):
        customer, _ = await customer_for(session, authz, customer_id, WRITE, field=f"customerIds.{i}")
        if customer.id not in known:
            session.add(ForumInvitee(forum_id=f.id, customer_id=customer.id, status=InviteeStatus.invited,
                                     invited_at=now))
            added.append(str(customer.id))
    before = audit.snapshot(f)
    await session.flush()
    f.updated_at = now
    await session.flush()
    await session.refresh(f)
    await audit.record(session, action="forums.forum.invite", entity_type=FORUM, entity_id=f.id, before=before,
                       after={**audit.snapshot(f), "invited": added})
    return f


async def record_minutes(session: AsyncSession, authz: Authorizer, f: Forum, path: str, data: Minutes) -> Forum:
    authz.require(WRITE, path)
    await _approved(session, f, "hold")
    rows = {i.customer_id: i for i in (await session.scalars(select(ForumInvitee).where(
        ForumInvitee.forum_id == f.id))).all()}
    strangers = [field_error(f"attended.{n}", "not invited") for n, c in enumerate(data.attended) if c not in rows]
    if strangers:
        raise ProblemError("validation", "Attendance is taken of those invited.", errors=strangers)
    came = set(data.attended)
    for customer_id, row in rows.items():
        row.status = InviteeStatus.attended if customer_id in came else InviteeStatus.absent
    before = audit.snapshot(f)
    f.stage = FLOW.to("hold", f.stage, ForumStage.held, f"Forum {f.number}")
    f.held_at, f.minutes = data.held_at, data.minutes
    f.actual_cost = Decimal(data.actual_cost) if data.actual_cost is not None else None
    return await _saved(session, f, "hold", before)


async def add_finding(session: AsyncSession, authz: Authorizer, f: Forum, path: str,
                      data: FindingIn) -> ForumFinding:
    authz.require(WRITE, path)
    FLOW.require("find", f.stage, f"Forum {f.number}", hint="findings follow the meeting")
    owners = [await staff_subject(session, a.owner_id, f"actions.{i}.ownerId") for i, a in enumerate(data.actions)]
    local = await today(session)
    past = [field_error(f"actions.{i}.dueOn", "in the past") for i, a in enumerate(data.actions) if a.due_on < local]
    if past:
        raise ProblemError("validation", "An action is due today or later.", errors=past)
    finding = ForumFinding(forum_id=f.id, node_id=f.node_id, category=data.category, description=data.description,
                           created_by=authz.principal.subject)
    session.add(finding)
    await session.flush()
    actions = [ImprovementAction(finding_id=finding.id, forum_id=f.id, node_id=f.node_id, title=a.title,
                                 owner_id=owner, due_on=a.due_on, status=ActionStatus.open)
               for a, owner in zip(data.actions, owners, strict=True)]
    session.add_all(actions)
    await session.flush()
    await session.refresh(finding)
    await audit.record(session, action="forums.finding.create", entity_type=FINDING, entity_id=finding.id,
                       after={**audit.snapshot(finding), "actions": [str(a.id) for a in actions]})
    for a in actions:
        await session.refresh(a)
        await audit.record(session, action="forums.action.create", entity_type=ACTION, entity_id=a.id,
                           after=audit.snapshot(a))
    return finding


async def findings(session: AsyncSession, f: Forum) -> list[FindingOut]:
    rows: Sequence[ForumFinding] = (await session.scalars(select(ForumFinding).where(
        ForumFinding.forum_id == f.id).order_by(ForumFinding.created_at, ForumFinding.id))).all()
    acts = (await session.scalars(select(ImprovementAction).where(ImprovementAction.forum_id == f.id)
                                  .order_by(ImprovementAction.due_on, ImprovementAction.id))).all()
    local = await today(session)
    return [FindingOut(id=r.id, forum_id=r.forum_id, category=r.category, description=r.description,
                       actions=[action_out(a, local) for a in acts if a.finding_id == r.id], created_at=r.created_at)
            for r in rows]


async def finding_out(session: AsyncSession, finding: ForumFinding) -> FindingOut:
    f = await session.get(Forum, finding.forum_id)
    assert f is not None
    return next(x for x in await findings(session, f) if x.id == finding.id)


async def close(session: AsyncSession, authz: Authorizer, f: Forum, path: str, data: Closing) -> Forum:
    authz.require(WRITE, path)
    before = audit.snapshot(f)
    f.stage = FLOW.to("close", f.stage, ForumStage.closed, f"Forum {f.number}", hint="record the minutes first")
    f.analysis = data.analysis
    return await _saved(session, f, "close", before)


async def cancel(session: AsyncSession, authz: Authorizer, f: Forum, path: str, data: Cancellation) -> Forum:
    authz.require(WRITE, path)
    status = await request_status(session, f.approval_request_id)
    if f.stage is ForumStage.submitted and status is RequestStatus.pending:
        raise _conflict(f, "pending", "withdraw its approval request first")
    before = audit.snapshot(f)
    f.stage = FLOW.to("cancel", f.stage, ForumStage.cancelled, f"Forum {f.number}")
    f.cancel_reason = data.reason
    return await _saved(session, f, "cancel", before, data.reason)
