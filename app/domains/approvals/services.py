"""The approval engine: chains, submission, decisions, the revise-until-approved loop.

Every action locks the request row (``SELECT … FOR UPDATE``) and then checks the status,
round and step it acts on, so two approvals of one step serialise and the second finds
the step decided (409). Domain callbacks run in the same transaction, as the acting
approver: the decision and its effects commit together or not at all.

Approvers of a step are resolved when it becomes current, from the role assignments at
the step's level relative to the request's node (its project, branch or the group), or a
named account; only active staff accounts of the tenant count. A submission checks every
step of the round can be decided by someone before it is accepted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import and_, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, AccountKind, AccountStatus
from app.auth.principal import Principal
from app.core import audit
from app.core.clock import utcnow
from app.core.notify import queue_messages
from app.core.pagination import PageParams, paginate
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import Page
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.models import Role, RoleAssignment
from app.domains.access.schemas import RoleCreate
from app.domains.access.services import ensure_roles
from app.domains.approvals import registry
from app.domains.approvals.models import (
    ActionKind,
    ApprovalAction,
    ApprovalChain,
    ApprovalRequest,
    ApprovalStepApprover,
    RequestStatus,
)
from app.domains.approvals.registry import CHANGE_APPLIERS, RequestType, request_types
from app.domains.approvals.schemas import (
    ActionOut,
    ChainIn,
    ChainOut,
    Delegation,
    RequestDetail,
    RequestOut,
    Resubmission,
    RoundOut,
    RoundStep,
    Step,
    StepState,
    chain_out,
    dump_steps,
    money,
    parse_steps,
    step_problems,
)
from app.domains.org.models import NodeKind, OrgNode
from app.tenants.bound import tenant_id

ENTITY = "approval_request"
CHAIN_ENTITY = "approval_chain"
INBOX = "inbox"  # the outbox channel of in-app notifications

register_permissions({
    "approvals.read": "See the approval requests of one's subtree and their history.",
})


# ------------------------------------------------------------------------------ helpers

async def _staff(session: AsyncSession) -> Any:
    """Active staff accounts of this tenant: the only ones who may decide a step."""
    return and_(Account.tenant_id == await tenant_id(session), Account.status == AccountStatus.active,
                Account.kind == AccountKind.staff)


def _person(kind: str, subject: str) -> uuid.UUID | None:
    """The account id of a user (a person); None for clients and the system, who never decide."""
    if kind != "user":
        return None
    try:
        return uuid.UUID(subject)
    except ValueError:
        return None


def _label(step_no: int, step: Step) -> str:
    return f"step {step_no} ({step.name})"


# ------------------------------------------------------------------------------- chains

def _type_or_404(code: str) -> RequestType:
    entry = request_types().get(code)
    if entry is None:
        raise no_chain(code)
    return entry


def no_chain(code: str) -> ProblemError:
    # One answer for an unknown type and a known one without a chain: the two look alike
    # to a caller, whichever tenant holds what.
    return ProblemError("not-found", f"No approval chain for request type {code!r}.")


async def _chain_row(session: AsyncSession, code: str, *, lock: bool = False) -> ApprovalChain | None:
    stmt = select(ApprovalChain).where(ApprovalChain.request_type == code)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


@dataclass
class Chain:
    entry: RequestType
    row: ApprovalChain | None  # None: the type's default
    steps: list[Step]

    @property
    def version(self) -> int:
        return self.row.version if self.row else 0

    def out(self) -> ChainOut:
        return chain_out(self.entry.code, self.entry.title, self.row, self.steps)


async def get_chain(session: AsyncSession, code: str, *, lock: bool = False) -> Chain:
    entry = _type_or_404(code)
    row = await _chain_row(session, code, lock=lock)
    if row is not None:
        return Chain(entry, row, parse_steps(row.steps))
    if entry.default_chain:
        return Chain(entry, None, parse_steps([dict(s) for s in entry.default_chain]))
    raise no_chain(code)


async def chain_for_update(session: AsyncSession, code: str) -> Chain | None:
    """The chain to replace, locked; None for a registered type with no chain (nor default)."""
    entry = _type_or_404(code)
    if entry.default_chain or await _chain_row(session, code) is not None:
        return await get_chain(session, code, lock=True)
    return None


async def list_chains(session: AsyncSession, params: PageParams) -> Page[ChainOut]:
    """The tenant's chains, and the defaults of registered types it has not edited."""
    rows = {c.request_type: c for c in (await session.scalars(select(ApprovalChain))).all()}
    chains: list[ChainOut] = []
    for code in sorted(set(rows) | {c for c, e in request_types().items() if e.default_chain}):
        entry = request_types().get(code)
        row = rows.get(code)
        if entry is None:  # a type whose domain no longer registers it: still shown, as stored
            entry = RequestType(code=code, title=code)
        steps = parse_steps(row.steps) if row else parse_steps([dict(s) for s in entry.default_chain])
        chains.append(chain_out(code, entry.title, row, steps))
    # A handful of chains per tenant: sorted and sliced here (the only sort field is requestType).
    if params.sort and params.sort.startswith("-"):
        chains.reverse()
    return Page(items=chains[params.offset:params.offset + params.limit], total=len(chains), limit=params.limit,
                offset=params.offset)


async def _tenant_problems(session: AsyncSession, steps: list[Step]) -> list[FieldError]:
    """Roles must exist and named users be active staff of this tenant."""
    codes = {s.role for s in steps if s.role}
    known = set((await session.scalars(select(Role.code).where(Role.code.in_(codes)))).all()) if codes else set()
    users = {s.user for s in steps if s.user}
    staff = set((await session.scalars(select(Account.id).where(Account.id.in_(users), await _staff(session))))
                .all()) if users else set()
    errors: list[FieldError] = []
    for i, step in enumerate(steps):
        if step.role and step.role not in known:
            errors.append(field_error(f"steps.{i}.role", f"no role with code {step.role!r}"))
        if step.user and step.user not in staff:
            errors.append(field_error(f"steps.{i}.user", "no active staff account with this id in the group"))
    return errors


async def save_chain(session: AsyncSession, chain: Chain | None, code: str, data: ChainIn) -> Chain:
    """Replace the chain (``chain`` as read under lock) or create it (``chain`` None)."""
    errors = step_problems(data.steps) + await _tenant_problems(session, data.steps)
    if errors:
        raise ProblemError("validation", "The chain is not valid.", errors=errors)
    steps = dump_steps(data.steps)
    entry = chain.entry if chain else _type_or_404(code)
    before = audit.snapshot(chain.row) if chain and chain.row else None
    if chain and chain.row:
        row = chain.row
        row.steps = steps
    else:
        row = ApprovalChain(request_type=code, steps=steps)
        session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(session, action="approvals.chain.update" if before else "approvals.chain.create",
                       entity_type=CHAIN_ENTITY, entity_id=code, before=before, after=audit.snapshot(row))
    return Chain(entry, row, data.steps)


async def chains_naming_role(session: AsyncSession, code: str) -> list[str]:
    """The request types whose stored chain names the role ``code`` (for the access domain:
    deleting such a role breaks those chains)."""
    rows = (await session.execute(select(ApprovalChain.request_type, ApprovalChain.steps))).all()
    return sorted(t for t, steps in rows if any(s.get("role") == code for s in steps))


async def create_default_chains(session: AsyncSession, entries: list[RequestType]) -> None:
    """Store each of ``entries``' default as the tenant's chain (seeding; the caller knows they
    have none), creating the roles they name that the tenant lacks: a few statements in all."""
    entries = [e for e in entries if e.default_chain]
    # Reading requests is what an approver's role needs; the rest is the access domain's.
    await ensure_roles(session, [RoleCreate(code=code, name=name, permissions=["approvals.read"])
                                 for e in entries for code, name in e.default_roles.items()])
    rows = [ApprovalChain(request_type=e.code, steps=dump_steps(parse_steps([dict(s) for s in e.default_chain])))
            for e in entries]
    await audit.add_created(session, rows, action="approvals.chain.create", entity_type=CHAIN_ENTITY,
                            entity_id=lambda chain: chain.request_type)


# ---------------------------------------------------------------------- who may decide

async def _levels(session: AsyncSession, node: OrgNode) -> dict[str, OrgNode]:
    """The request node's project, branch and group (those that exist above or at it)."""
    ids = [uuid.UUID(p) for p in node.path.split("/")]
    nodes = (await session.scalars(select(OrgNode).where(OrgNode.id.in_(ids)))).all()
    return {n.kind.value: n for n in nodes if n.kind in (NodeKind.project, NodeKind.branch, NodeKind.group)}


async def _resolve(session: AsyncSession, request: ApprovalRequest, step_no: int, step: Step,
                   levels: dict[str, OrgNode]) -> list[uuid.UUID]:
    """The accounts that may decide ``step``; a precise 409 when there are none."""
    staff = await _staff(session)
    label = _label(step_no, step)
    if step.user is not None:
        found = await session.scalar(select(Account.id).where(Account.id == step.user, staff))
        if found is None:
            raise ProblemError("conflict", f"Nobody can decide {label} of this {request.request_type} request: "
                                           f"the account {step.user} it names is not an active staff account of "
                                           "the group. An administrator must change the chain.")
        return [found]
    assert step.role is not None and step.at is not None
    role_id = await session.scalar(select(Role.id).where(Role.code == step.role))
    if role_id is None:
        raise ProblemError(
            "conflict",
            f"The chain of {request.request_type} names the role {step.role!r} at {label}, and that role no longer "
            "exists. An administrator must change the chain.",
            errors=[field_error(f"steps.{step_no - 1}.role", f"role {step.role!r} no longer exists", "chain")],
        )
    node = levels.get(step.at)
    if node is None:
        raise ProblemError("conflict", f"Nobody can decide {label}: it needs the record's {step.at}, and the "
                                       f"record is not under any {step.at}.")
    accounts = (await session.scalars(
        select(RoleAssignment.account_id)
        .join(Account, Account.id == RoleAssignment.account_id)
        .where(RoleAssignment.role_id == role_id, RoleAssignment.node_id == node.id, staff)
        .order_by(RoleAssignment.account_id)
    )).all()
    if not accounts:
        raise ProblemError("conflict", f"Nobody can decide {label}: no active staff account holds the role "
                                       f"{step.role!r} at the {step.at} {node.name} ({node.code}). Assign the role "
                                       "there, or change the chain.")
    return list(accounts)


async def _approvers(session: AsyncSession, request_id: uuid.UUID, round_: int, step: int) -> set[uuid.UUID]:
    return set((await session.scalars(select(ApprovalStepApprover.account_id).where(
        ApprovalStepApprover.request_id == request_id, ApprovalStepApprover.round == round_,
        ApprovalStepApprover.step == step))).all())


async def _make_current(session: AsyncSession, request: ApprovalRequest, step_no: int,
                        levels: dict[str, OrgNode] | None = None) -> None:
    step = _steps(request)[step_no - 1]
    levels = levels if levels is not None else await _levels(session, await _node(session, request.node_id))
    accounts = await _resolve(session, request, step_no, step, levels)
    session.add_all([ApprovalStepApprover(request_id=request.id, round=request.round, step=step_no, account_id=a)
                     for a in accounts])
    request.current_step = step_no
    await notify(session, [str(a) for a in accounts], "approval.awaiting", request,
                 f"Approval needed: {request.title}",
                 f"{request.title} awaits your decision at {_label(step_no, step)}, round {request.round}.")


def _steps(request: ApprovalRequest) -> list[Step]:
    return msgspec.convert(request.steps, list[Step])


# --------------------------------------------------------------------------- the outbox

async def notify(session: AsyncSession, recipients: Sequence[str], event: str, request: ApprovalRequest,
                 subject: str, body: str) -> None:
    """In-app messages (channel ``inbox``, to account ids), written with the change and
    delivered by the outbox once it commits."""
    if not recipients:
        return
    await queue_messages(session, recipients, tenant_id=await tenant_id(session), channel=INBOX, subject=subject,
                         body=body, data={"event": event, "requestId": str(request.id),
                                          "requestType": request.request_type, "round": request.round,
                                          "step": request.current_step, "status": request.status.value})


# ----------------------------------------------------------------------------- requests

async def _node(session: AsyncSession, node_id: uuid.UUID) -> OrgNode:
    node = await session.get(OrgNode, node_id)
    if node is None:
        raise _unknown_node(node_id)
    return node


def _unknown_node(node_id: uuid.UUID) -> ProblemError:
    return ProblemError("not-found", f"No org node with id {node_id}.", errors=[field_error("nodeId", "unknown")])


async def _validated(session: AsyncSession, entry: RequestType, payload: dict[str, Any]) -> dict[str, Any]:
    return await entry.validate(session, payload) if entry.validate else payload


async def _locate(session: AsyncSession, entry: RequestType, payload: dict[str, Any],
                  node_id: uuid.UUID | None) -> OrgNode:
    if entry.node_of is not None:
        node_id = await entry.node_of(session, payload)
    if node_id is None:
        raise ProblemError("validation", f"Say where the {entry.code} request's record sits.",
                           errors=[field_error("nodeId", "required for this request type")])
    return await _node(session, node_id)


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
        raise _unknown_node(node.id)
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
    await session.flush()
    await session.refresh(request)
    await audit.record(session, action="approvals.request.submit" if submit else "approvals.request.create",
                       entity_type=ENTITY, entity_id=request.id, after=audit.snapshot(request), reason=reason)
    return request


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
    levels = await _levels(session, node)
    # Fail at submission rather than strand the request half-way: every step needs someone
    # now (later steps are resolved again when they become current).
    for i, step in enumerate(steps[1:], start=2):
        await _resolve(session, request, i, step, levels)
    request.status = RequestStatus.pending
    request.submitted_at = utcnow()
    request.decided_at = None
    _act(session, request, kind, comment=comment,
         data={"steps": request.steps, "chainVersion": chain.version, **(extra or {})})
    await _make_current(session, request, 1, levels)


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
        raise _not_found(request_id)
    return request


def _not_found(request_id: uuid.UUID) -> ProblemError:
    return ProblemError("not-found", f"No approval request with id {request_id}.")


_CLOSED = {
    RequestStatus.withdrawn: "The request was withdrawn; nobody can act on it any more.",
    RequestStatus.approved: "The request is already approved; its decision is final.",
    RequestStatus.rejected: "The request was rejected; only its submitter can revise and resubmit it.",
    RequestStatus.draft: "The request is a draft; its submitter has not submitted it yet.",
}


async def _check_decider(session: AsyncSession, request: ApprovalRequest, actor: audit.Actor,
                         expected_step: int | None) -> uuid.UUID:
    """The acting account, if it may decide the current step; 409 when the step it meant has
    been decided already (twice, or a concurrent approval won), 403 when never its step."""
    if request.status is not RequestStatus.pending:
        raise ProblemError("conflict", _CLOSED[request.status])
    assert request.current_step is not None
    if expected_step is not None and expected_step != request.current_step:
        raise ProblemError("conflict", f"Step {expected_step} is not the current step: the request is at step "
                                       f"{request.current_step} of round {request.round}.",
                           errors=[field_error("step", f"the current step is {request.current_step}")])
    account = _person(actor.kind, actor.id)
    if account is not None and account in await _approvers(session, request.id, request.round,
                                                           request.current_step):
        return account
    if account is not None:
        earlier = await session.scalar(select(func.max(ApprovalStepApprover.step)).where(
            ApprovalStepApprover.request_id == request.id, ApprovalStepApprover.round == request.round,
            ApprovalStepApprover.step < request.current_step, ApprovalStepApprover.account_id == account))
        if earlier is not None:
            raise ProblemError("conflict", f"Step {earlier} of round {request.round} was already decided; the "
                                           f"request is now at step {request.current_step}, which is not yours.")
    step = _steps(request)[request.current_step - 1]
    raise ProblemError("forbidden", f"You are not an approver of {_label(request.current_step, step)} of "
                                    "this request.")


async def decide(session: AsyncSession, request_id: uuid.UUID, *, approve: bool, comment: str | None,
                 expected_step: int | None = None, principal: Principal | None = None,
                 authz: Authorizer | None = None) -> ApprovalRequest:
    request = await _locked(session, request_id, principal, authz)
    actor = audit.actor_of(session)
    await _check_decider(session, request, actor, expected_step)
    before = audit.snapshot(request)
    step_no = request.current_step
    assert step_no is not None
    # Its domain must be there to be called back (a type no longer registered: 409).
    entry = _entry_of(request)
    _act(session, request, ActionKind.approve if approve else ActionKind.reject, step=step_no, comment=comment)
    if approve and step_no < len(request.steps):
        await _make_current(session, request, step_no + 1)
        action = "approvals.request.approve_step"
    else:
        request.status = RequestStatus.approved if approve else RequestStatus.rejected
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
    await session.flush()
    await session.refresh(request)
    await audit.record(session, action=action, entity_type=ENTITY, entity_id=request.id, before=before,
                       after=audit.snapshot(request), reason=comment)
    return request


def _require_submitter(request: ApprovalRequest, actor: audit.Actor, what: str) -> None:
    if request.submitted_by != actor.id:
        raise ProblemError("forbidden", f"Only the request's submitter may {what} it.")


async def submit(session: AsyncSession, request_id: uuid.UUID, *, principal: Principal | None = None,
                 authz: Authorizer | None = None) -> ApprovalRequest:
    """Submit a draft."""
    request = await _locked(session, request_id, principal, authz)
    _require_submitter(request, audit.actor_of(session), "submit")
    if request.status is not RequestStatus.draft:
        raise ProblemError("conflict", f"The request is {request.status.value}; only a draft can be submitted.")
    entry = _entry_of(request)
    before = audit.snapshot(request)
    node = await _node(session, request.node_id)
    _authorize_submission(authz, entry, request.payload, node)
    await _start_round(session, request, entry, node, ActionKind.submit, request.reason)
    return await _recorded(session, request, "approvals.request.submit", before, request.reason)


def _entry_of(request: ApprovalRequest) -> RequestType:
    entry = request_types().get(request.request_type)
    if entry is None:
        raise ProblemError("conflict", f"The request type {request.request_type!r} is no longer registered.")
    return entry


async def _recorded(session: AsyncSession, request: ApprovalRequest, action: str, before: dict[str, Any],
                    reason: str | None) -> ApprovalRequest:
    await session.flush()
    await session.refresh(request)
    await audit.record(session, action=action, entity_type=ENTITY, entity_id=request.id, before=before,
                       after=audit.snapshot(request), reason=reason)
    return request


async def withdraw(session: AsyncSession, request_id: uuid.UUID, *, comment: str | None = None,
                   principal: Principal | None = None, authz: Authorizer | None = None) -> ApprovalRequest:
    request = await _locked(session, request_id, principal, authz)
    _require_submitter(request, audit.actor_of(session), "withdraw")
    if request.status in (RequestStatus.withdrawn, RequestStatus.approved):
        raise ProblemError("conflict", _CLOSED[request.status])
    before = audit.snapshot(request)
    _act(session, request, ActionKind.withdraw, step=request.current_step, comment=comment)
    request.status = RequestStatus.withdrawn
    request.current_step = None
    request.decided_at = utcnow()
    await session.flush()
    entry = request_types().get(request.request_type)
    if entry is not None and entry.on_withdrawn is not None:
        await entry.on_withdrawn(session, request)
    return await _recorded(session, request, "approvals.request.withdraw", before, comment)


_NOT_RESUBMITTABLE = {
    RequestStatus.pending: "The request is still under review: wait for the decision, or withdraw it.",
    RequestStatus.draft: "The request is a draft: submit it.",
}


async def resubmit(session: AsyncSession, request_id: uuid.UUID, data: Resubmission, *,
                   principal: Principal | None = None, authz: Authorizer | None = None) -> ApprovalRequest:
    """Revise a rejected request and send it through the chain again, as a new round.

    Over the API (``authz`` given) the payload of a type its domain submits cannot be
    revised here: its domain's endpoints own that payload's rules.
    """
    request = await _locked(session, request_id, principal, authz)
    _require_submitter(request, audit.actor_of(session), "resubmit")
    if request.status is not RequestStatus.rejected:
        raise ProblemError("conflict", _NOT_RESUBMITTABLE.get(request.status) or _CLOSED[request.status])
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
    return await _recorded(session, request, "approvals.request.resubmit", before, data.reason)


async def delegate(session: AsyncSession, request_id: uuid.UUID, data: Delegation, *,
                   principal: Principal | None = None, authz: Authorizer | None = None) -> ApprovalRequest:
    """An approver of the current step adds another account who may decide it (the
    delegator keeps the right too)."""
    request = await _locked(session, request_id, principal, authz)
    actor = audit.actor_of(session)
    account = await _check_decider(session, request, actor, data.step)
    if data.account_id == account:
        raise ProblemError("validation", "You cannot delegate to yourself.",
                           errors=[field_error("accountId", "is yourself")])
    if await session.scalar(select(Account.id).where(Account.id == data.account_id, await _staff(session))) is None:
        raise ProblemError("validation", f"No active staff account {data.account_id} in the group.",
                           errors=[field_error("accountId", "not an active staff account of the group")])
    assert request.current_step is not None
    if data.account_id in await _approvers(session, request.id, request.round, request.current_step):
        raise ProblemError("conflict", "That account can already decide this step.",
                           errors=[field_error("accountId", "already an approver of this step")])
    before = audit.snapshot(request)
    session.add(ApprovalStepApprover(request_id=request.id, round=request.round, step=request.current_step,
                                     account_id=data.account_id, delegated_by=account))
    _act(session, request, ActionKind.delegate, step=request.current_step, comment=data.comment,
         data={"to": str(data.account_id)})
    # The request's version moves: its ETag shows the step's approvers changed.
    request.updated_at = utcnow()
    step = _steps(request)[request.current_step - 1]
    await notify(session, [str(data.account_id)], "approval.delegated", request, f"Approval delegated to you: "
                 f"{request.title}", f"{request.title} awaits your decision at {_label(request.current_step, step)}"
                 + (f": {data.comment}" if data.comment else "."))
    return await _recorded(session, request, "approvals.request.delegate", before, data.comment)


# -------------------------------------------------------------------------------- reads

def _awaiting(account: uuid.UUID) -> Any:
    return exists().where(
        ApprovalStepApprover.request_id == ApprovalRequest.id,
        ApprovalStepApprover.round == ApprovalRequest.round,
        ApprovalStepApprover.step == ApprovalRequest.current_step,
        ApprovalStepApprover.account_id == account,
    ).correlate(ApprovalRequest) & (ApprovalRequest.status == RequestStatus.pending)


def _visible(principal: Principal, authz: Authorizer) -> Any:
    """The submitter, anyone who was ever asked to decide it, and approvals.read on its node."""
    clauses = [ApprovalRequest.submitted_by == principal.subject,
               authz.visible("approvals.read", ApprovalRequest.node_id)]
    account = _person(principal.kind, principal.subject)
    if account is not None:
        clauses.append(exists().where(ApprovalStepApprover.request_id == ApprovalRequest.id,
                                      ApprovalStepApprover.account_id == account).correlate(ApprovalRequest))
    return or_(*clauses)


async def can_see(session: AsyncSession, request: ApprovalRequest, principal: Principal, authz: Authorizer) -> bool:
    return bool(await session.scalar(select(exists().where(ApprovalRequest.id == request.id,
                                                            _visible(principal, authz)))))


async def get_request(session: AsyncSession, request_id: uuid.UUID, principal: Principal, authz: Authorizer
                      ) -> ApprovalRequest:
    request = await session.get(ApprovalRequest, request_id)
    if request is None or not await can_see(session, request, principal, authz):
        raise _not_found(request_id)
    return request


_SORTABLE = {"createdAt": ApprovalRequest.created_at, "submittedAt": ApprovalRequest.submitted_at,
             "updatedAt": ApprovalRequest.updated_at, "title": ApprovalRequest.title}


async def list_requests(session: AsyncSession, params: PageParams, principal: Principal, authz: Authorizer, *,
                        status: RequestStatus | None = None, request_type: str | None = None, mine: bool = False,
                        awaiting_me: bool = False, subject_type: str | None = None,
                        subject_id: str | None = None) -> Page[RequestOut]:
    stmt = select(ApprovalRequest).where(_visible(principal, authz))
    if status is not None:
        stmt = stmt.where(ApprovalRequest.status == status)
    if request_type:
        stmt = stmt.where(ApprovalRequest.request_type == request_type)
    if mine:
        stmt = stmt.where(ApprovalRequest.submitted_by == principal.subject)
    if awaiting_me:
        account = _person(principal.kind, principal.subject)
        stmt = stmt.where(_awaiting(account) if account else false())
    if subject_type:
        stmt = stmt.where(ApprovalRequest.subject_type == subject_type)
    if subject_id:
        stmt = stmt.where(ApprovalRequest.subject_id == subject_id)
    return await paginate(session, stmt, params, sortable=_SORTABLE, default_sort=["-createdAt"],
                          tiebreak=ApprovalRequest.id, to_schema=RequestOut.of)


async def inbox(session: AsyncSession, params: PageParams, principal: Principal) -> Page[RequestOut]:
    """Pending requests whose current step the caller may decide, oldest submission first."""
    account = _person(principal.kind, principal.subject)
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
        states: list[RoundStep] = []
        for i, step in enumerate(steps, start=1):
            state: StepState
            if i in decided:
                state = "approved" if decided[i] is ActionKind.approve else "rejected"
            elif number == request.round and request.status is RequestStatus.pending:
                state = "current" if i == request.current_step else "waiting"
            else:
                state = "stopped"  # the round ended before reaching it
            states.append(RoundStep(step=i, name=step.name, role=step.role, at=step.at, user=step.user,
                                    min_amount=step.min_amount, state=state,
                                    approvers=approvers.get((number, i), [])))
        rounds.append(RoundOut(round=number, reason=start.comment if start else None, steps=states,
                               actions=[ActionOut.of(a) for a in in_round]))
    base = RequestOut.of(request)
    return RequestDetail(**{f: getattr(base, f) for f in base.__struct_fields__}, payload=request.payload,
                         rounds=rounds)


# --------------------------------------------------------------- customer-information control

class ChangePayload(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    entity_type: str
    entity_id: str
    changes: dict[str, Any] = msgspec.field(default_factory=dict)
    deletion: bool = False
    before: dict[str, Any] | None = None  # filled in by the engine: the values being replaced


CHANGE_CONTROL = "change_control"


def _applier(entity_type: str) -> registry.ChangeApplier:
    applier = CHANGE_APPLIERS.get(entity_type)
    if applier is None:
        raise ProblemError("validation", f"Changes to {entity_type!r} records are not under change control.",
                           errors=[field_error("payload.entityType", "no change control for this entity type")])
    return applier


def _change(payload: dict[str, Any]) -> ChangePayload:
    try:
        return msgspec.convert(payload, ChangePayload)
    except msgspec.ValidationError as exc:
        # msgspec says "… - at `$.path`", or names the field itself for a missing or unknown one.
        message, _, path = str(exc).partition(" - at `$")
        path = path.rstrip("`").lstrip(".")
        if not path and "field `" in message:
            path = message.split("field `", 1)[1].split("`", 1)[0]
        field = "payload" + (f".{path}" if path else "")
        raise ProblemError("validation", f"The change is not valid: {message}.",
                           errors=[field_error(field, message)]) from None


async def _validate_change(session: AsyncSession, payload: dict[str, Any]) -> dict[str, Any]:
    change = _change(payload)
    applier = _applier(change.entity_type)
    if change.deletion == bool(change.changes):
        raise ProblemError("validation", "A change request either changes fields or deletes the record.",
                           errors=[field_error("payload.changes", "give changes, or deletion: true, not both")])
    unknown = sorted(set(change.changes) - applier.fields)
    if unknown:
        raise ProblemError("validation", f"Not protected fields of {change.entity_type}: {', '.join(unknown)}.",
                           errors=[field_error(f"payload.changes.{f}", "not a protected field") for f in unknown])
    fields = frozenset(change.changes) or applier.fields
    try:
        before = await applier.read(session, change.entity_id, fields)
    except ProblemError as exc:
        if exc.slug != "not-found":
            raise
        raise ProblemError("validation", f"No {change.entity_type} with id {change.entity_id}.",
                           errors=[field_error("payload.entityId", "unknown")]) from None
    return {"entityType": change.entity_type, "entityId": change.entity_id, "changes": change.changes,
            "deletion": change.deletion, "before": before}


async def _change_node(session: AsyncSession, payload: dict[str, Any]) -> uuid.UUID:
    change = _change(payload)
    return await _applier(change.entity_type).node_of(session, change.entity_id)


async def _apply_change(session: AsyncSession, request: ApprovalRequest) -> None:
    """On final approval: apply the change as the approver, refusing a stale one."""
    change = _change(request.payload)
    applier = _applier(change.entity_type)
    before = change.before or {}
    current = await applier.read(session, change.entity_id, frozenset(before))
    if current != before:
        moved = sorted(k for k in before if current.get(k) != before.get(k))
        raise ProblemError("conflict", f"The {change.entity_type} {change.entity_id} changed since this request was "
                                       f"submitted ({', '.join(moved)}): reject it, so that it can be resubmitted "
                                       "against the current values.")
    await applier.apply(session, change.entity_id, change.changes, change.deletion)
    after = None if change.deletion else await applier.read(session, change.entity_id, frozenset(change.changes))
    verb = "delete" if change.deletion else "update"
    # The actor of this record is the approver; the reason tells who asked and why.
    await audit.record(session, action=f"change_control.{verb}", entity_type=change.entity_type,
                       entity_id=change.entity_id, before=current, after=after,
                       reason=f"{request.reason or ''} (approval request {request.id}, requested by "
                              f"{request.submitted_by})".strip())


async def request_change(session: AsyncSession, *, entity_type: str, entity_id: str, reason: str,
                         changes: dict[str, Any] | None = None, deletion: bool = False, title: str | None = None,
                         authz: Authorizer | None = None) -> ApprovalRequest:
    """The hook for domains: ask for a change (or the deletion) of protected fields; it is
    applied only when the change_control chain approves it."""
    return await create_request(
        session, request_type=CHANGE_CONTROL, reason=reason, authz=authz,
        title=title or f"{'Delete' if deletion else 'Change'} {entity_type} {entity_id}",
        payload={"entityType": entity_type, "entityId": entity_id, "changes": changes or {}, "deletion": deletion},
    )


CHANGE_CONTROL_TYPE = registry.request_type(
    CHANGE_CONTROL, "Change or deletion of protected information",
    on_approved=_apply_change,
    permission=lambda payload: _applier(_change(payload).entity_type).permission,
    node_of=_change_node,
    validate=_validate_change,
    subject_of=lambda payload: (payload["entityType"], payload["entityId"]),
    # DOMAIN.md, customer information: the department supervisor reviews, the CRM head approves.
    default_chain=[
        {"name": "Department supervisor", "role": "department_supervisor", "at": "branch"},
        {"name": "CRM head", "role": "crm_head", "at": "group"},
    ],
    default_roles={"department_supervisor": "Department supervisor", "crm_head": "CRM head"},
)


REQUEST_TYPES = [CHANGE_CONTROL_TYPE]  # the domain's declaration names this list
