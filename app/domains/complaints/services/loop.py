"""The resolution loop: investigate, find, propose (the approval engine decides), negotiate,
handle, feedback; litigation, reopen; pausing the clocks; notes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.problems import ProblemError
from app.core.states import Workflow
from app.domains.access.authz import Authorizer
from app.domains.approvals import services as approvals
from app.domains.approvals.models import ActionKind, ApprovalAction, ApprovalRequest
from app.domains.approvals.registry import request_type
from app.domains.complaints import sla
from app.domains.complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintNegotiation,
    ComplaintNote,
    ComplaintProposal,
    ComplaintStatus,
    PauseReason,
    ProposalKind,
    ProposalStatus,
)
from app.domains.complaints.schemas import (
    CompensationProposal,
    FeedbackIn,
    FindingsIn,
    HandlingIn,
    InvestigateIn,
    LitigationIn,
    LitigationOutcomeIn,
    NegotiationIn,
    NoteIn,
    PauseIn,
    ProposalIn,
    ReopenIn,
    ResumeIn,
)
from app.domains.complaints.services.categories import targets_of
from app.domains.complaints.services.common import (
    ENTITY,
    SUPERVISE,
    WRITE,
    actor_id,
    add_event,
    audit_change,
    label,
    money,
    notify,
    registrant_handler,
    sla_terms,
    state_of,
)

REQUEST_TYPE = "complaint_resolution"


# Every change of status goes through ``make_move``, which holds it to this table.
_S = ComplaintStatus
LOOP = Workflow("complaint", {
    "investigate": ([_S.received], [_S.investigating]),
    "findings": ([_S.investigating], [_S.proposal]),
    "propose": ([_S.proposal], [_S.approval]),
    # The approval engine's decision: negotiation (handling for a pre-negotiated proposal), or
    # proposal again after a rejection or a withdrawal.
    "decide": ([_S.approval], [_S.negotiation, _S.handling, _S.proposal]),
    "negotiate": ([_S.negotiation], [_S.handling, _S.proposal]),
    "handle": ([_S.handling], [_S.feedback]),
    "feedback": ([_S.feedback], [_S.closed]),  # staff's record, or the owner's rating
    "litigate": ([_S.investigating, _S.proposal, _S.negotiation], [_S.litigation]),
    "litigation_outcome": ([_S.litigation], [_S.closed]),
    "reopen": ([_S.closed], [_S.investigating]),
})


async def make_move(session: AsyncSession, c: Complaint, move: str, to: ComplaintStatus, action: str, *,
                    note: str | None = None, public: bool = True, data: dict[str, Any] | None = None,
                    clock_change: str | None = None) -> None:
    """Make ``move`` take ``c`` to ``to`` (a running pause ends with it), reschedule its clocks
    and record ``action`` in its history. ``clock_change``: "respond" or "resolve" stops that
    clock at this moment."""
    LOOP.to(move, c.status, to, label(c))
    calendar, policy, _ = await sla_terms(session)
    now = clock.utcnow()
    if c.paused_since is not None:
        lasted = sla.resume(c, calendar, now)
        add_event(session, c, "resumed", note=f"Resumed by {action.replace('_', ' ')}", data={"pausedSeconds": lasted})
    if clock_change == "respond":
        sla.respond(c, calendar, now)
    elif clock_change == "resolve":
        sla.resolve(c, calendar, now)
    before = c.status
    c.status = to
    sla.schedule(c, calendar, policy)
    add_event(session, c, action, before=before, to=to, note=note, public=public, data=data)


async def investigate(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                      data: InvestigateIn) -> Complaint:
    authz.require(WRITE, path)
    LOOP.require("investigate", c.status, label(c))
    before = state_of(c)
    if c.handler_id is None:
        c.handler_id = await registrant_handler(session, authz)
    # The reply is what the customer is told: a note they see (the history need not repeat it).
    session.add(ComplaintNote(complaint_id=c.id, at=clock.utcnow(), author_id=actor_id(session), by_owner=False,
                              internal=False, body=data.reply))
    await make_move(session, c, "investigate", ComplaintStatus.investigating, "investigation_started",
                    clock_change="respond")
    await audit_change(session, c, "investigate", before, {"reply": data.reply})
    return c


async def record_findings(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                          data: FindingsIn) -> Complaint:
    authz.require(WRITE, path)
    LOOP.require("findings", c.status, label(c))
    before = state_of(c)
    c.cause, c.responsible_party = data.cause, data.responsible_party
    await make_move(session, c, "findings", ComplaintStatus.proposal, "findings", note=data.cause, public=False,
                    data={"responsibleParty": data.responsible_party.value})
    await audit_change(session, c, "findings", before, {"cause": data.cause,
                                                        "responsibleParty": data.responsible_party.value})
    return c


def _proposal_fields(data: ProposalIn) -> dict[str, Any]:
    kind = ProposalKind(type(data).__struct_config__.tag)
    amount = Decimal(data.amount) if isinstance(data, CompensationProposal) else None
    return {"kind": kind, "amount": amount, "item": getattr(data, "item", None),
            "due_date": getattr(data, "due_date", None), "description": data.description,
            "pre_negotiated": data.pre_negotiated}


async def propose(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: ProposalIn) -> Complaint:
    """A new proposal round, sent to the approval chain (``complaint_resolution``)."""
    authz.require(WRITE, path)
    LOOP.require("propose", c.status, label(c))
    before = state_of(c)
    fields = _proposal_fields(data)
    rounds = await session.scalar(select(func.count()).where(ComplaintProposal.complaint_id == c.id)) or 0
    proposal = ComplaintProposal(complaint_id=c.id, round=rounds + 1, status=ProposalStatus.pending,
                                 created_by=actor_id(session), created_at=clock.utcnow(), **fields)
    session.add(proposal)
    await session.flush()
    kind = fields["kind"].value
    amount = fields["amount"]
    request = await approvals.create_request(
        session, request_type=REQUEST_TYPE, node_id=c.node_id, amount=amount or Decimal("0"),
        title=f"{label(c)}: resolution proposal, round {proposal.round} ({kind}"
              + (f", {money(amount)} yuan)" if amount is not None else ")"),
        reason=fields["description"][:2000],
        payload={"complaintId": str(c.id), "number": c.number, "register": c.register.value,
                 "proposalId": str(proposal.id), "round": proposal.round, "kind": kind, "amount": money(amount),
                 "item": fields["item"], "dueDate": fields["due_date"].isoformat() if fields["due_date"] else None,
                 "description": fields["description"], "preNegotiated": fields["pre_negotiated"]})
    proposal.approval_request_id = request.id
    await make_move(session, c, "propose", ComplaintStatus.approval, "proposed", public=False,
                    data={"round": proposal.round, "kind": kind, "approvalRequestId": str(request.id)})
    await audit_change(session, c, "propose", before, {"round": proposal.round, "kind": kind, "amount": money(amount),
                                                        "approvalRequestId": str(request.id)})
    return c


async def _decided(session: AsyncSession, request: ApprovalRequest, outcome: ProposalStatus) -> None:
    """The approval chain's decision on a proposal, in the approver's transaction."""
    proposal = await session.scalar(select(ComplaintProposal).where(
        ComplaintProposal.approval_request_id == request.id).with_for_update())
    if proposal is None:
        raise ProblemError("conflict", f"No complaint proposal belongs to approval request {request.id}.")
    c = await session.scalar(select(Complaint).where(Complaint.id == proposal.complaint_id).with_for_update()
                             .execution_options(populate_existing=True))
    assert c is not None  # a foreign key holds it
    if proposal.status is not ProposalStatus.pending or not LOOP.can("decide", c.status):
        raise ProblemError("conflict", f"{label(c)} no longer awaits this proposal's approval "
                                       f"(it is {c.status.value}).")
    comment = await session.scalar(select(ApprovalAction.comment).where(
        ApprovalAction.request_id == request.id, ApprovalAction.action.in_(
            [ActionKind.approve, ActionKind.reject, ActionKind.withdraw]))
        .order_by(ApprovalAction.at.desc(), ApprovalAction.id.desc()).limit(1))
    before = state_of(c)
    proposal.status, proposal.decided_at, proposal.decision_comment = outcome, clock.utcnow(), comment
    data = {"round": proposal.round, "approvalRequestId": str(request.id)}
    if outcome is ProposalStatus.approved and proposal.pre_negotiated:
        # Agreed with the customer beforehand: handling starts at once.
        proposal.status = ProposalStatus.agreed
        await make_move(session, c, "decide", ComplaintStatus.handling, "approved",
                        data={**data, "preNegotiated": True},
                        note="The pre-negotiated proposal was approved.")
    elif outcome is ProposalStatus.approved:
        await make_move(session, c, "decide", ComplaintStatus.negotiation, "approved", data=data)
    else:
        await make_move(session, c, "decide", ComplaintStatus.proposal, outcome.value, public=False, note=comment,
                        data=data)
    await audit_change(session, c, f"proposal.{outcome.value}", before, {"round": proposal.round})
    await notify(session, [c.handler_id], f"complaint.proposal_{outcome.value}", c,
                 f"{label(c)}: proposal round {proposal.round} {outcome.value}",
                 f"Proposal round {proposal.round} of {label(c)} was {outcome.value}"
                 + (f": {comment}" if comment else "."))


async def _on_approved(session: AsyncSession, request: ApprovalRequest) -> None:
    await _decided(session, request, ProposalStatus.approved)


async def _on_rejected(session: AsyncSession, request: ApprovalRequest) -> None:
    await _decided(session, request, ProposalStatus.rejected)


async def _on_withdrawn(session: AsyncSession, request: ApprovalRequest) -> None:
    await _decided(session, request, ProposalStatus.withdrawn)


RESOLUTION_REQUEST = request_type(
    REQUEST_TYPE, "Complaint or dispute resolution proposal",
    on_approved=_on_approved, on_rejected=_on_rejected, on_withdrawn=_on_withdrawn,
    subject_of=lambda payload: (ENTITY, str(payload["complaintId"])),
    # Seed 004 §3.1.2: the company's supervising manager approves the plan for handling a
    # complaint or dispute. (No source sets an amount above which the group decides: a group
    # that wants one adds a minAmount step to its chain.)
    default_chain=[
        {"name": "Company supervising manager", "role": "company_supervising_manager", "at": "branch"},
    ],
    default_roles={"company_supervising_manager": "公司主管经理 Company supervising manager"},
    replaces=[[
        {"name": "Customer affairs manager", "role": "customer_affairs_manager", "at": "branch"},
        {"name": "CRM head", "role": "crm_head", "at": "group", "minAmount": "50000"},
    ]],
)


async def _current_proposal(session: AsyncSession, c: Complaint) -> ComplaintProposal:
    proposal = await session.scalar(select(ComplaintProposal).where(
        ComplaintProposal.complaint_id == c.id, ComplaintProposal.status == ProposalStatus.approved)
        .order_by(ComplaintProposal.round.desc()).limit(1))
    if proposal is None:
        raise ProblemError("conflict", f"{label(c)} has no approved proposal to negotiate.")
    return proposal


async def negotiate(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                    data: NegotiationIn) -> Complaint:
    authz.require(WRITE, path)
    LOOP.require("negotiate", c.status, label(c))
    before = state_of(c)
    proposal = await _current_proposal(session, c)
    rounds = await session.scalar(select(func.count()).where(ComplaintNegotiation.complaint_id == c.id)) or 0
    session.add(ComplaintNegotiation(complaint_id=c.id, proposal_id=proposal.id, round=rounds + 1,
                                     customer_response=data.customer_response, agreed=data.agreed,
                                     recorded_by=actor_id(session), at=clock.utcnow()))
    proposal.status = ProposalStatus.agreed if data.agreed else ProposalStatus.not_agreed
    to = ComplaintStatus.handling if data.agreed else ComplaintStatus.proposal
    await make_move(session, c, "negotiate", to, "agreed" if data.agreed else "not_agreed",
                    note=data.customer_response,
                    data={"round": rounds + 1, "proposalRound": proposal.round})
    await audit_change(session, c, "negotiate", before, {"round": rounds + 1, "agreed": data.agreed})
    return c


async def handle(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: HandlingIn) -> Complaint:
    authz.require(WRITE, path)
    LOOP.require("handle", c.status, label(c))
    before = state_of(c)
    c.handling_result, c.check_result = data.result, data.check
    await make_move(session, c, "handle", ComplaintStatus.feedback, "handled", note=data.result,
                    clock_change="resolve")
    await audit_change(session, c, "handle", before, {"result": data.result, "check": data.check})
    return c


async def record_feedback(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                          data: FeedbackIn) -> Complaint:
    authz.require(WRITE, path)
    LOOP.require("feedback", c.status, label(c))
    before = state_of(c)
    c.feedback_opinion, c.satisfaction, c.closed_at = data.opinion, data.satisfaction, clock.utcnow()
    await make_move(session, c, "feedback", ComplaintStatus.closed, "closed", note=data.opinion,
                    data={"satisfaction": data.satisfaction})
    await audit_change(session, c, "feedback", before, {"opinion": data.opinion, "satisfaction": data.satisfaction})
    return c


async def litigate(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: LitigationIn) -> Complaint:
    authz.require(SUPERVISE, path)
    LOOP.require("litigate", c.status, label(c))
    before = state_of(c)
    if c.status is ComplaintStatus.negotiation:
        (await _current_proposal(session, c)).status = ProposalStatus.not_agreed
    c.case_reference, c.court, c.litigated_at = data.case_reference, data.court, clock.utcnow()
    if data.note is not None:  # the legal side's own words stay internal
        session.add(ComplaintNote(complaint_id=c.id, at=clock.utcnow(), author_id=actor_id(session), by_owner=False,
                                  internal=True, body=data.note))
    await make_move(session, c, "litigate", ComplaintStatus.litigation, "litigation",
                    note=f"Case {data.case_reference}",
                    data={"caseReference": data.case_reference, "court": data.court})
    await audit_change(session, c, "litigate", before, {"caseReference": data.case_reference, "court": data.court})
    return c


async def record_litigation_outcome(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                                    data: LitigationOutcomeIn) -> Complaint:
    authz.require(SUPERVISE, path)
    LOOP.require("litigation_outcome", c.status, label(c))
    before = state_of(c)
    c.litigation_outcome, c.closed_at = data.outcome, clock.utcnow()
    await make_move(session, c, "litigation_outcome", ComplaintStatus.closed, "litigation_outcome",
                    note=data.outcome)
    await audit_change(session, c, "litigation_outcome", before, {"outcome": data.outcome})
    return c


async def reopen(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: ReopenIn) -> Complaint:
    authz.require(WRITE, path)
    LOOP.require("reopen", c.status, label(c))
    before = {**state_of(c), "resolutionTargetMinutes": c.resolution_target_minutes, "satisfaction": c.satisfaction,
              "feedbackOpinion": c.feedback_opinion}
    calendar, _, defaults = await sla_terms(session)
    sla.reopen(c, calendar, clock.utcnow())
    # The resolution clock runs again, against the target its category's policy sets now.
    c.resolution_target_minutes = (await targets_of(session, c.category_id, defaults))[1]
    # The feedback judged a result that did not hold: it stays in the history, not on the record
    # (nor in the statistics) until the record is closed again.
    c.reopen_count += 1
    c.closed_at = c.satisfaction = c.feedback_opinion = None
    await make_move(session, c, "reopen", ComplaintStatus.investigating, "reopened", note=data.reason)
    await audit_change(session, c, "reopen", before, {
        "reason": data.reason, "resolutionTargetMinutes": c.resolution_target_minutes, "satisfaction": None,
        "feedbackOpinion": None}, reason=data.reason)
    await notify(session, [c.handler_id], "complaint.reopened", c, f"{label(c)} reopened", data.reason[:2000])
    return c


async def pause(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: PauseIn) -> Complaint:
    authz.require(WRITE, path)
    if c.status not in OPEN_STATUSES or c.resolved_at is not None:
        # Resolved: the time until a reopen counts as paused already (sla.reopen), so a pause
        # now would be counted twice.
        raise ProblemError("conflict", f"{label(c)} is {c.status.value}: its resolution clock has stopped, "
                                       "there is no clock to pause.")
    if c.paused_since is not None:
        raise ProblemError("conflict", f"The clocks of {label(c)} are already paused (since "
                                       f"{c.paused_since.isoformat()}).")
    before = state_of(c)
    calendar, policy, _ = await sla_terms(session)
    now = clock.utcnow()
    sla.pause(c, data.reason, now)
    sla.schedule(c, calendar, policy)
    # Waiting on the customer is something the customer should know.
    add_event(session, c, "paused", note=data.note, public=data.reason is PauseReason.customer,
              data={"reason": data.reason.value})
    await audit_change(session, c, "pause", before, {"reason": data.reason.value, "note": data.note})
    return c


async def resume(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: ResumeIn) -> Complaint:
    authz.require(WRITE, path)
    if c.paused_since is None:
        raise ProblemError("conflict", f"The clocks of {label(c)} are not paused.")
    before = state_of(c)
    calendar, policy, _ = await sla_terms(session)
    now = clock.utcnow()
    lasted = sla.resume(c, calendar, now)
    sla.schedule(c, calendar, policy)
    add_event(session, c, "resumed", note=data.note, data={"pausedSeconds": lasted})
    await audit_change(session, c, "resume", before, {"pausedSeconds": lasted})
    return c


async def add_note(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: NoteIn) -> Complaint:
    """A note; one that is not internal is a reply to the customer (a first response, if it is the first)."""
    authz.require(WRITE, path)
    note = ComplaintNote(complaint_id=c.id, at=clock.utcnow(), author_id=actor_id(session), by_owner=False,
                         internal=data.internal, body=data.body)
    session.add(note)
    responded = False
    if not data.internal and c.status in OPEN_STATUSES:
        calendar, policy, _ = await sla_terms(session)
        now = clock.utcnow()
        responded = sla.respond(c, calendar, now)
        if responded:
            sla.schedule(c, calendar, policy)
            add_event(session, c, "responded", public=True)
    await session.flush()
    await session.refresh(c)
    await audit.record(session, action="complaints.note", entity_type=ENTITY, entity_id=c.id,
                       after={"noteId": str(note.id), "internal": data.internal, "body": data.body,
                              "firstResponse": responded})
    return c


REQUEST_TYPES = [RESOLUTION_REQUEST]  # the domain's declaration names this list
