"""Requests through their chain: created and submitted, decided step by step, withdrawn,
revised and resubmitted as a new round, delegated."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.auth.principal import Principal
from app.core import audit
from app.core.clock import utcnow
from app.core.problems import ProblemError, field_error
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.approvals.models import (
    ActionKind,
    ApprovalAction,
    ApprovalRequest,
    ApprovalStepApprover,
    RequestStatus,
)
from app.domains.approvals.registry import RequestType, request_types
from app.domains.approvals.schemas import (
    Delegation,
    Resubmission,
    dump_steps,
    money,
)
from app.domains.approvals.services.chains import get_chain
from app.domains.approvals.services.common import (
    ENTITY,
    active_staff,
    not_found,
    notify,
    person_of,
    request_node,
    step_label,
    steps_of,
    unknown_node,
)
from app.domains.approvals.services.deciders import approvers_of, levels_of, make_current, resolve
from app.domains.approvals.services.reads import can_see
from app.domains.org.models import OrgNode


async def _validated(session: AsyncSession, entry: RequestType, payload: dict[str, Any]) -> dict[str, Any]:
    return await entry.validate(session, payload) if entry.validate else payload


async def _locate(session: AsyncSession, entry: RequestType, payload: dict[str, Any],
                  node_id: uuid.UUID | None) -> OrgNode:
    if entry.node_of is not None:
        node_id = await entry.node_of(session, payload)
    if node_id is None:
        raise ProblemError("validation", f"Say where the {entry.code} request's record sits.",
                           errors=[field_error("nodeId", "required for this request type")])
    return await request_node(session, node_id)


def _authorize_submission(authz: Authorizer | None, entry: RequestType, payload: dict[str, Any],
                          node: OrgNode) -> None:
    """Over the API (``authz`` given) a type needs a permission to be submittable at all."""
    if authz is None:
        return  # the domain's own code submits, after its own checks
    permission = entry.permission_for(payload)
    if permission is None:
        raise ProblemError("validation", f"Requests of type {entry.code!r} are submitted by their own domain's "
                                         "endpoints, not here.", errors=[field_error("type", "not submittable here")])
    if entry.node_of is None and not (authz.can("org.read", node.path) or authz.can(permission, node.path)):
        # A node the caller cannot see is named like one that does not exist: ids cannot be probed.
        raise unknown_node(node.id)
    authz.require(permission, node.path)


async def create_request(
    session: AsyncSession,
    *,
    request_type: str,
    title: str,
    payload: dict[str, Any] | None = None,
    node_id: uuid.UUID | None = None,
    amount: Decimal | None = None,
    reason: str | None = None,
    submit: bool = True,
    authz: Authorizer | None = None,
) -> ApprovalRequest:
    """Create a request (and submit it unless ``submit`` is False): the entry point for
    domains. Pass ``authz`` only on behalf of an API caller who needs the type's permission."""
    entry = request_types().get(request_type)
    if entry is None:
        raise ProblemError("not-found", f"Unknown request type {request_type!r}.",
                           errors=[field_error("type", "not a registered request type")])
    payload = await _validated(session, entry, dict(payload or {}))
    node = await _locate(session, entry, payload, node_id)
    _authorize_submission(authz, entry, payload, node)
    subject = entry.subject_of(payload) if entry.subject_of else None
    request = ApprovalRequest(
        request_type=entry.code, title=title, payload=payload, node_id=node.id, amount=amount, reason=reason,
        subject_type=subject[0] if subject else None, subject_id=subject[1] if subject else None,
        status=RequestStatus.draft, round=1, steps=[], submitted_by=audit.actor_of(session).id,
    )
    session.add(request)
    await session.flush()
    if submit:
        await _start_round(session, request, entry, node, ActionKind.submit, reason)
    else:
        _act(session, request, ActionKind.create, comment=reason)
    return await saved(session, request, "approvals.request.submit" if submit else "approvals.request.create",
                       ENTITY, reason=reason)


async def _start_round(session: AsyncSession, request: ApprovalRequest, entry: RequestType, node: OrgNode,
                       kind: ActionKind, comment: str | None, extra: dict[str, Any] | None = None) -> None:
    """Take the chain as it is now, check every step can be decided, make step 1 current."""
    chain = await get_chain(session, entry.code)
    if request.amount is None and any(s.min_amount is not None for s in chain.steps):
        raise ProblemError("validation", f"The chain of {entry.code} depends on the amount: give one.",
                           errors=[field_error("amount", "required for this request type")])
    steps = [s for s in chain.steps
             if s.min_amount is None or (request.amount is not None and request.amount >= Decimal(s.min_amount))]
    request.steps = dump_steps(steps)
    request.chain_version = chain.version
    levels = await levels_of(session, node)
    # Fail at submission rather than strand the request half-way: every step needs someone
    # now (later steps are resolved again when they become current).
    for i, step in enumerate(steps[1:], start=2):
        await resolve(session, request, i, step, levels)
    move = "resubmit" if kind is ActionKind.resubmit else "submit"
    request.status = REQUEST.to(move, request.status, RequestStatus.pending, LABEL)
    request.submitted_at = utcnow()
    request.decided_at = None
    _act(session, request, kind, comment=comment,
         data={"steps": request.steps, "chainVersion": chain.version, **(extra or {})})
    await make_current(session, request, 1, levels)


def _act(session: AsyncSession, request: ApprovalRequest, kind: ActionKind, *, step: int | None = None,
         comment: str | None = None, data: dict[str, Any] | None = None) -> None:
    session.add(ApprovalAction(request_id=request.id, round=request.round, step=step,
                               actor=audit.actor_of(session).id, action=kind, comment=comment, data=data))


async def _locked(session: AsyncSession, request_id: uuid.UUID, principal: Principal | None,
                  authz: Authorizer | None) -> ApprovalRequest:
    """The request, locked until the transaction ends. An API caller (``principal`` and
    ``authz``) who may not see it gets the answer for an id that does not exist."""
    request = await session.scalar(
        select(ApprovalRequest).where(ApprovalRequest.id == request_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if request is None or (principal is not None and authz is not None
                           and not await can_see(session, request, principal, authz)):
        raise not_found(request_id)
    return request


_S = RequestStatus
# Every change of a request's status, and what may be done to it in each: a decision (and a
# delegation) while pending, a new round after a rejection, a withdrawal until approved.
REQUEST = Workflow("approval request", {
    "submit": ([_S.draft], [_S.pending]),
    "decide": ([_S.pending], [_S.approved, _S.rejected]),
    "delegate": ([_S.pending], [_S.pending]),
    "withdraw": ([_S.draft, _S.pending, _S.rejected], [_S.withdrawn]),
    "resubmit": ([_S.rejected], [_S.pending]),
})
_HINTS = {
    _S.withdrawn: "nobody can act on it any more",
    _S.approved: "its decision is final",
    _S.rejected: "only its submitter can revise and resubmit it",
    _S.draft: "its submitter has not submitted it yet",
    _S.pending: "wait for the decision, or withdraw it",
}
LABEL = "The request"


def _require(request: ApprovalRequest, move: str) -> None:
    REQUEST.require(move, request.status, LABEL, hint=_HINTS[request.status])


async def _check_decider(session: AsyncSession, request: ApprovalRequest, actor: audit.Actor,
                         expected_step: int | None, move: str) -> uuid.UUID:
    """The acting account, if it may decide the current step (for ``move``: decide or
    delegate); 409 when the step it meant has been decided already (twice, or a concurrent
    approval won), 403 when never its step."""
    _require(request, move)
    assert request.current_step is not None
    if expected_step is not None and expected_step != request.current_step:
        raise ProblemError("conflict", f"Step {expected_step} is not the current step: the request is at step "
                                       f"{request.current_step} of round {request.round}.",
                           errors=[field_error("step", f"the current step is {request.current_step}")])
    account = person_of(actor.kind, actor.id)
    if account is not None and account in await approvers_of(session, request.id, request.round,
                                                             request.current_step):
        return account
    if account is not None:
        earlier = await session.scalar(select(func.max(ApprovalStepApprover.step)).where(
            ApprovalStepApprover.request_id == request.id, ApprovalStepApprover.round == request.round,
            ApprovalStepApprover.step < request.current_step, ApprovalStepApprover.account_id == account))
        if earlier is not None:
            raise ProblemError("conflict", f"Step {earlier} of round {request.round} was already decided; the "
                                           f"request is now at step {request.current_step}, which is not yours.")
    step = steps_of(request)[request.current_step - 1]
    raise ProblemError("forbidden", f"You are not an approver of {step_label(request.current_step, step)} of "
                                    "this request.")


def _next_step(request: ApprovalRequest, step_no: int, refer: bool) -> tuple[int, list[int]]:
    """The step after an approval of ``step_no`` (past the end: none left), and the steps skipped
    on the way: a step taken only when referred on, when the approver did not refer it."""
    following, skipped = step_no + 1, []
    while following <= len(request.steps) and request.steps[following - 1].get("when") == "referred" and not refer:
        skipped.append(following)
        following += 1
    return following, skipped


async def decide(session: AsyncSession, request_id: uuid.UUID, *, approve: bool, comment: str | None,
                 expected_step: int | None = None, principal: Principal | None = None,
                 authz: Authorizer | None = None, refer: bool = False) -> ApprovalRequest:
    request = await _locked(session, request_id, principal, authz)
    actor = audit.actor_of(session)
    await _check_decider(session, request, actor, expected_step, "decide")
    before = audit.snapshot(request)
    step_no = request.current_step
    assert step_no is not None
    # Its domain must be there to be called back (a type no longer registered: 409).
    entry = _entry_of(request)
    following, skipped = _next_step(request, step_no, refer) if approve else (step_no + 1, [])
    _act(session, request, ActionKind.approve if approve else ActionKind.reject, step=step_no, comment=comment,
         data={"skipped": skipped} if skipped else ({"referred": True} if refer and approve else None))
    if approve and following <= len(request.steps):
        await make_current(session, request, following)
        action = "approvals.request.approve_step"
    else:
        request.status = REQUEST.to("decide", request.status,
                                    RequestStatus.approved if approve else RequestStatus.rejected, LABEL)
        request.current_step = None
        request.decided_at = utcnow()
        await session.flush()
        callback = entry.on_approved if approve else entry.on_rejected
        if callback is not None:
            await callback(session, request)
        verdict = "approved" if approve else "rejected"
        await notify(session, [request.submitted_by], f"approval.{verdict}", request,
                     f"{verdict.capitalize()}: {request.title}",
                     f"{request.title} was {verdict} at step {step_no}" + (f": {comment}" if comment else "."))
        action = f"approvals.request.{'approve' if approve else 'reject'}"
    return await saved(session, request, action, ENTITY, before=before, reason=comment)


def _require_submitter(request: ApprovalRequest, actor: audit.Actor, what: str) -> None:
    if request.submitted_by != actor.id:
        raise ProblemError("forbidden", f"Only the request's submitter may {what} it.")


async def submit(session: AsyncSession, request_id: uuid.UUID, *, principal: Principal | None = None,
                 authz: Authorizer | None = None) -> ApprovalRequest:
    """Submit a draft."""
    request = await _locked(session, request_id, principal, authz)
    _require_submitter(request, audit.actor_of(session), "submit")
    _require(request, "submit")
    entry = _entry_of(request)
    before = audit.snapshot(request)
    node = await request_node(session, request.node_id)
    _authorize_submission(authz, entry, request.payload, node)
    await _start_round(session, request, entry, node, ActionKind.submit, request.reason)
    return await saved(session, request, "approvals.request.submit", ENTITY, before=before, reason=request.reason)


def _entry_of(request: ApprovalRequest) -> RequestType:
    entry = request_types().get(request.request_type)
    if entry is None:
        raise ProblemError("conflict", f"The request type {request.request_type!r} is no longer registered.")
    return entry


async def withdraw(session: AsyncSession, request_id: uuid.UUID, *, comment: str | None = None,
                   principal: Principal | None = None, authz: Authorizer | None = None) -> ApprovalRequest:
    request = await _locked(session, request_id, principal, authz)
    _require_submitter(request, audit.actor_of(session), "withdraw")
    _require(request, "withdraw")
    before = audit.snapshot(request)
    _act(session, request, ActionKind.withdraw, step=request.current_step, comment=comment)
    request.status = REQUEST.to("withdraw", request.status, RequestStatus.withdrawn, LABEL)
    request.current_step = None
    request.decided_at = utcnow()
    await session.flush()
    entry = request_types().get(request.request_type)
    if entry is not None and entry.on_withdrawn is not None:
        await entry.on_withdrawn(session, request)
    return await saved(session, request, "approvals.request.withdraw", ENTITY, before=before, reason=comment)


async def resubmit(session: AsyncSession, request_id: uuid.UUID, data: Resubmission, *,
                   principal: Principal | None = None, authz: Authorizer | None = None) -> ApprovalRequest:
    """Revise a rejected request and send it through the chain again, as a new round.

    Over the API (``authz`` given) the payload of a type its domain submits cannot be
    revised here: its domain's endpoints own that payload's rules.
    """
    request = await _locked(session, request_id, principal, authz)
    _require_submitter(request, audit.actor_of(session), "resubmit")
    _require(request, "resubmit")
    entry = _entry_of(request)
    if authz is not None and data.payload is not None and entry.permission is None:
        raise ProblemError("validation", f"The payload of a {entry.code} request is revised through its domain.",
                           errors=[field_error("payload", "not revisable here")])
    before = audit.snapshot(request)
    previous = request.payload
    # Validated again even when unchanged: the record it describes may have moved on.
    payload = await _validated(session, entry, dict(data.payload if data.payload is not None else previous))
    node = await _locate(session, entry, payload, request.node_id)
    _authorize_submission(authz, entry, payload, node)
    request.payload = payload
    request.node_id = node.id
    request.reason = data.reason
    if data.title is not None:
        request.title = data.title
    if data.amount is not None:
        request.amount = money(data.amount)
    request.round += 1
    # The earlier round's payload stays in the history.
    extra = {"previousPayload": previous} if payload != previous else None
    await _start_round(session, request, entry, node, ActionKind.resubmit, data.reason, extra)
    return await saved(session, request, "approvals.request.resubmit", ENTITY, before=before, reason=data.reason)


async def delegate(session: AsyncSession, request_id: uuid.UUID, data: Delegation, *,
                   principal: Principal | None = None, authz: Authorizer | None = None) -> ApprovalRequest:
    """An approver of the current step adds another account who may decide it (the
    delegator keeps the right too)."""
    request = await _locked(session, request_id, principal, authz)
    actor = audit.actor_of(session)
    account = await _check_decider(session, request, actor, data.step, "delegate")
    if data.account_id == account:
        raise ProblemError("validation", "You cannot delegate to yourself.",
                           errors=[field_error("accountId", "is yourself")])
    staff = await active_staff(session)
    if await session.scalar(select(Account.id).where(Account.id == data.account_id, staff)) is None:
        raise ProblemError("validation", f"No active staff account {data.account_id} in the group.",
                           errors=[field_error("accountId", "not an active staff account of the group")])
    assert request.current_step is not None
    if data.account_id in await approvers_of(session, request.id, request.round, request.current_step):
        raise ProblemError("conflict", "That account can already decide this step.",
                           errors=[field_error("accountId", "already an approver of this step")])
    before = audit.snapshot(request)
    session.add(ApprovalStepApprover(request_id=request.id, round=request.round, step=request.current_step,
                                     account_id=data.account_id, delegated_by=account))
    _act(session, request, ActionKind.delegate, step=request.current_step, comment=data.comment,
         data={"to": str(data.account_id)})
    # The request's version moves: its ETag shows the step's approvers changed.
    request.updated_at = utcnow()
    step = steps_of(request)[request.current_step - 1]
    await notify(session, [str(data.account_id)], "approval.delegated", request, f"Approval delegated to you: "
                 f"{request.title}", f"{request.title} awaits your decision at {step_label(request.current_step, step)}"
                 + (f": {data.comment}" if data.comment else "."))
    return await saved(session, request, "approvals.request.delegate", ENTITY, before=before, reason=data.comment)
