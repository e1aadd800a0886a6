"""Reading requests: who sees one, lists, the caller's inbox, the history round by round."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.pagination import PageParams, paginate
from app.core.schemas import Page
from app.domains.access.authz import Authorizer
from app.domains.approvals.models import (
    ActionKind,
    ApprovalAction,
    ApprovalRequest,
    ApprovalStepApprover,
    RequestStatus,
)
from app.domains.approvals.schemas import (
    ActionOut,
    RequestDetail,
    RequestOut,
    RoundOut,
    RoundStep,
    Step,
    StepState,
)
from app.domains.approvals.services.common import not_found, person_of


def _awaiting(account: uuid.UUID) -> Any:
    return exists().where(
        ApprovalStepApprover.request_id == ApprovalRequest.id,
        ApprovalStepApprover.round == ApprovalRequest.round,
        ApprovalStepApprover.step == ApprovalRequest.current_step,
        ApprovalStepApprover.account_id == account,
    ).correlate(ApprovalRequest) & (ApprovalRequest.status == RequestStatus.pending)


def visible_clause(principal: Principal, authz: Authorizer) -> Any:
    """The submitter, anyone who was ever asked to decide it, and approvals.read on its node."""
    clauses = [ApprovalRequest.submitted_by == principal.subject,
               authz.visible("approvals.read", ApprovalRequest.node_id)]
    account = person_of(principal.kind, principal.subject)
    if account is not None:
        clauses.append(exists().where(ApprovalStepApprover.request_id == ApprovalRequest.id,
                                      ApprovalStepApprover.account_id == account).correlate(ApprovalRequest))
    return or_(*clauses)


async def can_see(session: AsyncSession, request: ApprovalRequest, principal: Principal, authz: Authorizer) -> bool:
    return bool(await session.scalar(select(exists().where(ApprovalRequest.id == request.id,
                                                            visible_clause(principal, authz)))))


async def get_request(session: AsyncSession, request_id: uuid.UUID, principal: Principal, authz: Authorizer
                      ) -> ApprovalRequest:
    request = await session.get(ApprovalRequest, request_id)
    if request is None or not await can_see(session, request, principal, authz):
        raise not_found(request_id)
    return request


_SORTABLE = {"createdAt": ApprovalRequest.created_at, "submittedAt": ApprovalRequest.submitted_at,
             "updatedAt": ApprovalRequest.updated_at, "title": ApprovalRequest.title}


async def list_requests(session: AsyncSession, params: PageParams, principal: Principal, authz: Authorizer, *,
                        status: RequestStatus | None = None, request_type: str | None = None, mine: bool = False,
                        awaiting_me: bool = False, subject_type: str | None = None,
                        subject_id: str | None = None) -> Page[RequestOut]:
    stmt = select(ApprovalRequest).where(visible_clause(principal, authz))
    if status is not None:
        stmt = stmt.where(ApprovalRequest.status == status)
    if request_type:
        stmt = stmt.where(ApprovalRequest.request_type == request_type)
    if mine:
        stmt = stmt.where(ApprovalRequest.submitted_by == principal.subject)
    if awaiting_me:
        account = person_of(principal.kind, principal.subject)
        stmt = stmt.where(_awaiting(account) if account else false())
    if subject_type:
        stmt = stmt.where(ApprovalRequest.subject_type == subject_type)
    if subject_id:
        stmt = stmt.where(ApprovalRequest.subject_id == subject_id)
    return await paginate(session, stmt, params, sortable=_SORTABLE, default_sort=["-createdAt"],
                          tiebreak=ApprovalRequest.id, to_schema=RequestOut.of)


async def inbox(session: AsyncSession, params: PageParams, principal: Principal) -> Page[RequestOut]:
    """Pending requests whose current step the caller may decide, oldest submission first."""
    account = person_of(principal.kind, principal.subject)
    stmt = select(ApprovalRequest).where(_awaiting(account) if account else false())
    return await paginate(session, stmt, params, sortable=_SORTABLE, default_sort=["submittedAt"],
                          tiebreak=ApprovalRequest.id, to_schema=RequestOut.of)


async def detail(session: AsyncSession, request: ApprovalRequest) -> RequestDetail:
    """The request with its full history, round by round."""
    actions = (await session.scalars(select(ApprovalAction).where(ApprovalAction.request_id == request.id)
                                     .order_by(ApprovalAction.at, ApprovalAction.id))).all()
    approvers: dict[tuple[int, int], list[uuid.UUID]] = {}
    for row in (await session.scalars(select(ApprovalStepApprover).where(
            ApprovalStepApprover.request_id == request.id).order_by(ApprovalStepApprover.created_at,
                                                                    ApprovalStepApprover.id))).all():
        approvers.setdefault((row.round, row.step), []).append(row.account_id)
    rounds: list[RoundOut] = []
    for number in range(1, request.round + 1):
        in_round = [a for a in actions if a.round == number]
        start = next((a for a in in_round if a.action in (ActionKind.submit, ActionKind.resubmit)), None)
        steps = msgspec.convert((start.data or {}).get("steps", []), list[Step]) if start else []
        decided = {a.step: a.action for a in in_round if a.action in (ActionKind.approve, ActionKind.reject)}
        skipped = {n for a in in_round if a.action is ActionKind.approve for n in (a.data or {}).get("skipped", [])}
        states: list[RoundStep] = []
        for i, step in enumerate(steps, start=1):
            state: StepState
            if i in decided:
                state = "approved" if decided[i] is ActionKind.approve else "rejected"
            elif i in skipped:
                state = "skipped"  # applies only when referred on, and the step before did not
            elif number == request.round and request.status is RequestStatus.pending:
                state = "current" if i == request.current_step else "waiting"
            else:
                state = "stopped"  # the round ended before reaching it
            states.append(RoundStep(step=i, name=step.name, role=step.role, at=step.at, user=step.user,
                                    min_amount=step.min_amount, when=step.when, state=state,
                                    approvers=approvers.get((number, i), [])))
        rounds.append(RoundOut(round=number, reason=start.comment if start else None, steps=states,
                               actions=[ActionOut.of(a) for a in in_round]))
    base = RequestOut.of(request)
    return RequestDetail(**{f: getattr(base, f) for f in base.__struct_fields__}, payload=request.payload,
                         rounds=rounds)
