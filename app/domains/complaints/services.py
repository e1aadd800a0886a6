"""Complaints and disputes: the registers, the resolution loop, corrective actions, owners'
self-service and the SLA scan.

Both registers (客户投诉登记表, 纠纷登记簿) are one record type with its own numbering per
register. The loop is an explicit state machine (``TRANSITIONS``): received → investigating
(cause and responsibility) → proposal → approval (the approval engine, request type
``complaint_resolution``; a rejection asks for a new proposal, every round is kept) →
negotiation (no agreement: a new proposal) → handling → feedback → closed; litigation for
the unresolvable, and reopen. Anything else is refused (409) with the state it needs.

Permission = scope ∧ role ∧ node: records sit at their project; ``complaints.read`` to see
them, ``complaints.write`` to work them, ``complaints.supervise`` for litigation (and to be
told of escalations), ``complaints.configure`` at the group node for categories and the
SLA policy. Owners (``owner:self``) reach only the records of the customers linked to their
account, through routes of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock, tenant_settings
from app.core.ids import new_id
from app.core.notify import queue_messages
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.domains.access.authz import ALL, Authorizer, register_permissions
from app.domains.access.models import Role, RoleAssignment
from app.domains.approvals import services as approvals
from app.domains.approvals.models import ActionKind, ApprovalAction, ApprovalRequest
from app.domains.approvals.registry import request_type
from app.domains.calendars import services as calendar_services
from app.domains.calendars.business_time import WorkCalendar
from app.domains.complaints import sla
from app.domains.complaints.models import (
    ATTACHMENT_UPLOADS,
    OPEN_STATUSES,
    CapaLetter,
    Complaint,
    ComplaintAttachment,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintNegotiation,
    ComplaintNote,
    ComplaintProposal,
    ComplaintStatus,
    LetterStatus,
    PauseReason,
    ProposalKind,
    ProposalStatus,
    Register,
    Severity,
)
from app.domains.complaints.schemas import (
    AttachmentIn,
    AttachmentOut,
    AttachmentUpload,
    CapaLetterIn,
    CapaLetterOut,
    CategoryCreate,
    CategoryOut,
    CategoryRef,
    CategoryUpdate,
    CompensationProposal,
    ComplaintOut,
    ComplaintSummary,
    DownloadOut,
    EscalationOut,
    EventOut,
    FeedbackIn,
    FindingsIn,
    HandlingIn,
    InvestigateIn,
    LetterResponseIn,
    LitigationIn,
    LitigationOutcomeIn,
    NegotiationIn,
    NegotiationOut,
    NoteIn,
    NoteOut,
    OwnCategoryOut,
    OwnComplaintCreate,
    OwnComplaintOut,
    OwnComplaintSummary,
    OwnEventOut,
    OwnNoteIn,
    OwnNoteOut,
    OwnProposalOut,
    PauseIn,
    ProposalIn,
    ProposalOut,
    RatingIn,
    RecordCreate,
    RecordUpdate,
    RelatedOut,
    ReopenIn,
    ResumeIn,
    SlaOut,
    SlaSettings,
    SlaSettingsIn,
    UploadOut,
)
from app.domains.customers.models import Customer, CustomerUnit
from app.domains.customers.services import get_customer
from app.domains.org import services as org
from app.domains.org.models import NodeKind, OrgNode, Unit
from app.domains.org.schemas import Department
from app.storage import ObjectStore, uploads
from app.tenants import bound
from app.tenants.bound import local_year, tenant_id, time_zone

READ, WRITE = "complaints.read", "complaints.write"
SUPERVISE, CONFIGURE = "complaints.supervise", "complaints.configure"
ENTITY, CATEGORY, ATTACHMENT, LETTER = "complaint", "complaint_category", "complaint_attachment", "capa_letter"
SERIES = {Register.complaint: "TS", Register.dispute: "JF"}  # 投诉, 纠纷
LETTER_SERIES = "LXH"  # 联系函
REQUEST_TYPE = "complaint_resolution"
INBOX = approvals.INBOX
OWNER_CATEGORY = "OTHER"  # where an owner's complaint waits to be classified
MAX_ATTACHMENTS = 30
BACKDATE_LIMIT = timedelta(days=366)  # a record entered afterwards: received within the last year
CLOCK_SKEW = timedelta(minutes=5)
SCAN_BATCH = 500
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's answer to FOR UPDATE NOWAIT on a locked row

register_permissions({
    READ: "See complaints and disputes of the projects in the subtree, their history and statistics.",
    WRITE: "Register complaints and disputes in the subtree and work them through the resolution loop.",
    SUPERVISE: "Take complaints to litigation; be told of SLA escalations at the node where the role is held.",
    CONFIGURE: "Configure complaint categories and the SLA policy (at the group node).",
})

DEFAULT_SLA = {"responseMinutes": 240, "resolutionMinutes": 2250, "warnPercent": 80,
               "escalation": [{"afterPercent": 100, "at": "project"}, {"afterPercent": 150, "at": "branch"},
                              {"afterPercent": 200, "at": "group"}]}
SLA_SETTING = tenant_settings.declare(
    "complaints.sla", DEFAULT_SLA,
    "Default SLA targets in business minutes (a category may set its own), the near-breach share and the "
    "escalation rule of complaints and disputes.")

SORT = {"receivedAt": Complaint.received_at, "number": Complaint.number, "status": Complaint.status,
        "responseDueAt": Complaint.response_due_at, "resolutionDueAt": Complaint.resolution_due_at,
        "updatedAt": Complaint.updated_at, "severity": Complaint.severity}
LETTER_SORT = {"dueDate": CapaLetter.due_date, "createdAt": CapaLetter.created_at, "number": CapaLetter.number}
CATEGORY_SORT = {"code": ComplaintCategory.code, "name": ComplaintCategory.name}

# move -> (the statuses it starts from, the statuses it may lead to). Every change of status
# goes through ``_move``, which holds it to this table.
_S = ComplaintStatus
TRANSITIONS: dict[str, tuple[frozenset[ComplaintStatus], frozenset[ComplaintStatus]]] = {
    "investigate": (frozenset({_S.received}), frozenset({_S.investigating})),
    "findings": (frozenset({_S.investigating}), frozenset({_S.proposal})),
    "propose": (frozenset({_S.proposal}), frozenset({_S.approval})),
    # The approval engine's decision: negotiation (handling for a pre-negotiated proposal), or
    # proposal again after a rejection or a withdrawal.
    "decide": (frozenset({_S.approval}), frozenset({_S.negotiation, _S.handling, _S.proposal})),
    "negotiate": (frozenset({_S.negotiation}), frozenset({_S.handling, _S.proposal})),
    "handle": (frozenset({_S.handling}), frozenset({_S.feedback})),
    "feedback": (frozenset({_S.feedback}), frozenset({_S.closed})),  # staff's record, or the owner's rating
    "litigate": (frozenset({_S.investigating, _S.proposal, _S.negotiation}), frozenset({_S.litigation})),
    "litigation_outcome": (frozenset({_S.litigation}), frozenset({_S.closed})),
    "reopen": (frozenset({_S.closed}), frozenset({_S.investigating})),
}


# ------------------------------------------------------------------------------ helpers


def _label(c: Complaint) -> str:
    return f"{'Dispute' if c.register is Register.dispute else 'Complaint'} {c.number}"


def _require_status(c: Complaint, move: str) -> None:
    allowed, _ = TRANSITIONS[move]
    if c.status not in allowed:
        needs = " or ".join(sorted(s.value for s in allowed))
        raise ProblemError("conflict", f"{_label(c)} is {c.status.value}: {move.replace('_', ' ')} needs it to "
                                       f"be {needs}.")


def _actor(session: AsyncSession) -> str:
    return audit.actor_of(session).id


def _state(c: Complaint) -> dict[str, Any]:
    """The fields an audit record of a move shows before and after."""
    return {"status": c.status.value, "handlerId": c.handler_id, "categoryId": str(c.category_id),
            "severity": c.severity.value, "pausedSince": c.paused_since.isoformat() if c.paused_since else None,
            "escalationLevel": c.escalation_level, "reopenCount": c.reopen_count}


def policy_of(value: dict[str, Any]) -> sla.Policy:
    steps = sorted(value.get("escalation", []), key=lambda s: int(s["afterPercent"]))
    return sla.Policy(warn_percent=int(value["warnPercent"]),
                      escalation=tuple(sla.Escalation(int(s["afterPercent"]), str(s["at"])) for s in steps))


async def _clock(session: AsyncSession) -> tuple[WorkCalendar, sla.Policy, dict[str, Any]]:
    """The calendar clocks count in, the tenant's policy, and its stored value."""
    value, _ = await tenant_settings.get(session, SLA_SETTING)
    return await calendar_services.load(session), policy_of(value), value


def _event(session: AsyncSession, c: Complaint, action: str, *, before: ComplaintStatus | None = None,
           to: ComplaintStatus | None = None, note: str | None = None, public: bool = False,
           data: dict[str, Any] | None = None, actor: str | None = None) -> None:
    session.add(ComplaintEvent(complaint_id=c.id, at=clock.utcnow(), actor_id=actor or _actor(session),
                               action=action, from_status=before, to_status=to, note=note, public=public, data=data))


async def _audit(session: AsyncSession, c: Complaint, action: str, before: dict[str, Any] | None,
                 extra: dict[str, Any] | None = None, reason: str | None = None) -> None:
    await session.flush()
    await session.refresh(c)  # the server's updated_at and the new version
    await audit.record(session, action=f"complaints.{action}", entity_type=ENTITY, entity_id=c.id, before=before,
                       after={**_state(c), **(extra or {})}, reason=reason)


def _person(subject: str | None) -> str | None:
    """An account id (a person who can be told something), else None."""
    try:
        return str(uuid.UUID(subject)) if subject else None
    except ValueError:
        return None


async def notify(session: AsyncSession, recipients: Sequence[str | None], event: str, c: Complaint,
                 subject: str, body: str) -> int:
    """In-app messages (the outbox's ``inbox`` channel, to account ids), written with the
    change and delivered once it commits; how many were written."""
    people = [p for p in dict.fromkeys(_person(r) for r in recipients) if p is not None]
    if not people:
        return 0
    messages = await queue_messages(session, people, tenant_id=await tenant_id(session), channel=INBOX,
                                    subject=subject, body=body, data={
                                        "event": event, "complaintId": str(c.id), "number": c.number,
                                        "register": c.register.value, "status": c.status.value})
    return len(messages)


async def _registrant_handler(session: AsyncSession, authz: Authorizer) -> str | None:
    """Who handles a record by default: the staff member registering it (not a partner system)."""
    account = _person(authz.principal.subject) if authz.principal.kind == "user" else None
    if account is None:
        return None
    try:
        return await staff_subject(session, uuid.UUID(account), "handlerId")
    except ProblemError:
        return None  # a user who is no active staff member of the group: nobody by default


# --------------------------------------------------------------------------- categories


async def _category_rows(session: AsyncSession) -> dict[uuid.UUID, ComplaintCategory]:
    rows = (await session.scalars(select(ComplaintCategory))).all()
    return {r.id: r for r in rows}


def _effective(rows: dict[uuid.UUID, ComplaintCategory], category: ComplaintCategory,
               defaults: dict[str, Any]) -> tuple[int, int]:
    """The targets that apply to ``category``: its own, else its nearest ancestor's, else the tenant's."""
    response = resolution = None
    node: ComplaintCategory | None = category
    while node is not None and (response is None or resolution is None):
        response = response if response is not None else node.response_minutes
        resolution = resolution if resolution is not None else node.resolution_minutes
        node = rows.get(node.parent_id) if node.parent_id else None
    return (response if response is not None else int(defaults["responseMinutes"]),
            resolution if resolution is not None else int(defaults["resolutionMinutes"]))


async def _targets(session: AsyncSession, category_id: uuid.UUID, defaults: dict[str, Any]) -> tuple[int, int]:
    rows = await _category_rows(session)
    return _effective(rows, rows[category_id], defaults)


def _category_out(rows: dict[uuid.UUID, ComplaintCategory], c: ComplaintCategory,
                  defaults: dict[str, Any]) -> CategoryOut:
    response, resolution = _effective(rows, c, defaults)
    return CategoryOut(id=c.id, parent_id=c.parent_id, code=c.code, name=c.name, quality=c.quality,
                       response_minutes=c.response_minutes, resolution_minutes=c.resolution_minutes,
                       effective_response_minutes=response, effective_resolution_minutes=resolution,
                       active=c.active, version=c.version)


async def category_out(session: AsyncSession, c: ComplaintCategory) -> CategoryOut:
    _, _, defaults = await _clock(session)
    return _category_out(await _category_rows(session), c, defaults)


async def list_categories(session: AsyncSession, params: PageParams, active: bool | None) -> Page[CategoryOut]:
    _, _, defaults = await _clock(session)
    rows = await _category_rows(session)
    stmt = select(ComplaintCategory)
    if active is not None:
        stmt = stmt.where(ComplaintCategory.active.is_(active))
    return await paginate(session, stmt, params, sortable=CATEGORY_SORT, default_sort=["code"],
                          tiebreak=ComplaintCategory.id, to_schema=lambda c: _category_out(rows, c, defaults))


async def get_category(session: AsyncSession, category_id: uuid.UUID, *, lock: bool = False) -> ComplaintCategory:
    stmt = select(ComplaintCategory).where(ComplaintCategory.id == category_id)
    if lock:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise ProblemError("not-found", f"No complaint category with id {category_id}.")
    return row


async def require_configurer(session: AsyncSession, authz: Authorizer) -> None:
    authz.require(CONFIGURE, (await org.get_root(session)).path)


async def create_category(session: AsyncSession, data: CategoryCreate) -> ComplaintCategory:
    if data.parent_id is not None and await session.get(ComplaintCategory, data.parent_id) is None:
        raise ProblemError("not-found", f"No complaint category with id {data.parent_id}.",
                           errors=[field_error("parentId", "no such category")])
    if await session.scalar(select(ComplaintCategory.id).where(ComplaintCategory.code == data.code)) is not None:
        raise ProblemError("duplicate", f"A complaint category with code {data.code} exists.",
                           errors=[field_error("code", "already used")])
    row = ComplaintCategory(code=data.code, name=data.name, quality=data.quality, parent_id=data.parent_id,
                            response_minutes=data.response_minutes, resolution_minutes=data.resolution_minutes,
                            active=True)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(session, action="complaints.category.create", entity_type=CATEGORY, entity_id=row.id,
                       after=audit.snapshot(row))
    return row


def _subtree(rows: dict[uuid.UUID, ComplaintCategory], root: uuid.UUID) -> set[uuid.UUID]:
    found = {root}
    grew = True
    while grew:
        more = {r.id for r in rows.values() if r.parent_id in found} - found
        found |= more
        grew = bool(more)
    return found


async def update_category(session: AsyncSession, row: ComplaintCategory, data: CategoryUpdate) -> ComplaintCategory:
    changes = provided(data)
    before = audit.snapshot(row)
    for name, value in changes.items():
        setattr(row, name, value)
    await session.flush()
    await session.refresh(row)
    await audit.record(session, action="complaints.category.update", entity_type=CATEGORY, entity_id=row.id,
                       before=before, after=audit.snapshot(row))
    if {"response_minutes", "resolution_minutes"} & set(changes):
        # A new policy for this category and those inheriting from it: open records take it
        # now, their paused time kept.
        await retarget(session, Complaint.category_id.in_(_subtree(await _category_rows(session), row.id)))
    return row


async def get_sla_settings(session: AsyncSession) -> tuple[SlaSettings, int]:
    value, version = await tenant_settings.get(session, SLA_SETTING)
    return _settings_out(value), version


def _settings_out(value: dict[str, Any]) -> SlaSettings:
    steps = sorted(value.get("escalation", []), key=lambda s: int(s["afterPercent"]))
    return SlaSettings(response_minutes=int(value["responseMinutes"]),
                       resolution_minutes=int(value["resolutionMinutes"]),
                       warn_percent=int(value["warnPercent"]),
                       escalation=[EscalationOut(after_percent=int(s["afterPercent"]), at=s["at"]) for s in steps])


async def put_sla_settings(session: AsyncSession, data: SlaSettingsIn) -> tuple[SlaSettings, int]:
    value = msgspec.to_builtins(data)
    value["escalation"] = sorted(value["escalation"], key=lambda s: s["afterPercent"])
    version = await tenant_settings.put(session, SLA_SETTING, value)
    await retarget(session, None)
    return _settings_out(value), version


# What a policy change may change on a record: the targets, the lines drawn from them, and the
# state of the calendar they were drawn in.
_CLOCK_COLUMNS = ("response_target_minutes", "resolution_target_minutes", "response_warn_at", "response_due_at",
                  "resolution_warn_at", "resolution_due_at", "next_escalation_at", "sla_next_check_at",
                  "sla_calendar_stamp")


def _clocks(c: Complaint) -> dict[str, Any]:
    snap = audit.snapshot(c)
    return {name: snap[name] for name in _CLOCK_COLUMNS}


async def retarget(session: AsyncSession, where: ColumnElement[bool] | None) -> int:
    """Give the records matching ``where`` (all when None) whose resolution clock runs the
    targets their category's policy sets now, and draw their lines again (the near-breach
    share and the escalation rule may have changed too); paused time is kept. A clock that
    stopped keeps the target its verdict was reached against. Each record that changed is
    audited; how many."""
    calendar, policy, defaults = await _clock(session)
    rows = await _category_rows(session)
    stmt = select(Complaint).where(Complaint.status.in_(OPEN_STATUSES), Complaint.resolved_at.is_(None))
    if where is not None:
        stmt = stmt.where(where)
    entries = []
    for c in (await session.scalars(stmt.with_for_update())).all():
        response, resolution = _effective(rows, rows[c.category_id], defaults)
        before = _clocks(c)
        if c.first_responded_at is None:
            c.response_target_minutes = response
        c.resolution_target_minutes = resolution
        sla.schedule(c, calendar, policy)
        after = _clocks(c)
        if after != before:
            entries.append({"action": "complaints.sla.retarget", "entity_type": ENTITY, "entity_id": c.id,
                            "before": before, "after": after})
    await session.flush()
    await audit.record_many(session, entries)
    return len(entries)


# -------------------------------------------------------------------------------- reads


def _overdue_clause(now: datetime) -> ColumnElement[bool]:
    return and_(Complaint.status.in_(OPEN_STATUSES), Complaint.paused_since.is_(None), or_(
        and_(Complaint.first_responded_at.is_(None), Complaint.response_due_at < now),
        and_(Complaint.resolved_at.is_(None), Complaint.resolution_due_at < now)))


def is_overdue(c: Complaint, now: datetime) -> bool:
    if c.status not in OPEN_STATUSES or c.paused_since is not None:
        return False
    late_response = c.first_responded_at is None and c.response_due_at is not None and c.response_due_at < now
    late_resolution = c.resolved_at is None and c.resolution_due_at is not None and c.resolution_due_at < now
    return late_response or late_resolution


async def get_record(session: AsyncSession, authz: Authorizer, register: Register, record_id: uuid.UUID, *,
                     lock: bool = False, nowait: bool = False) -> tuple[Complaint, str]:
    """A record of ``register`` the caller may read, with its project's path; any other id: 404.
    ``nowait``: a record another transaction holds answers 409 at once instead of waiting."""
    stmt = (select(Complaint, OrgNode.path).join(OrgNode, OrgNode.id == Complaint.node_id)
            .where(Complaint.id == record_id, Complaint.register == register))
    if lock:
        stmt = stmt.with_for_update(of=Complaint, nowait=nowait)
    try:
        row = (await session.execute(stmt)).first()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise ProblemError("conflict", f"The {register.value} {record_id} is being changed by another request: "
                                       "try again.") from None
    if row is None or not authz.can(READ, row[1]):
        raise ProblemError("not-found", f"No {register.value} with id {record_id}.")
    return row[0], row[1]


def summary_of(c: Complaint, now: datetime) -> ComplaintSummary:
    return ComplaintSummary(id=c.id, register=c.register, number=c.number, channel=c.channel, project_id=c.node_id,
                            unit_id=c.unit_id, category_id=c.category_id, severity=c.severity, subject=c.subject,
                            status=c.status, handler_id=c.handler_id, received_at=c.received_at,
                            response_due_at=c.response_due_at, resolution_due_at=c.resolution_due_at,
                            overdue=is_overdue(c, now), paused=c.paused_since is not None,
                            escalation_level=c.escalation_level, version=c.version)


async def list_records(session: AsyncSession, authz: Authorizer, register: Register, params: PageParams, *,
                       status: ComplaintStatus | None = None, project_id: uuid.UUID | None = None,
                       category_id: uuid.UUID | None = None, severity: Severity | None = None,
                       customer_id: uuid.UUID | None = None, mine: bool | None = None, overdue: bool | None = None,
                       escalated: bool | None = None, paused: bool | None = None) -> Page[ComplaintSummary]:
    now = clock.utcnow()
    stmt: Select[Any] = select(Complaint).where(Complaint.register == register, authz.visible(READ, Complaint.node_id))
    if status is not None:
        stmt = stmt.where(Complaint.status == status)
    if project_id is not None:
        stmt = stmt.where(Complaint.node_id == project_id)
    if category_id is not None:
        stmt = stmt.where(Complaint.category_id == category_id)
    if severity is not None:
        stmt = stmt.where(Complaint.severity == severity)
    if customer_id is not None:
        stmt = stmt.where(Complaint.customer_id == customer_id)
    if mine is not None:
        me = Complaint.handler_id == authz.principal.subject
        stmt = stmt.where(me if mine else or_(~me, Complaint.handler_id.is_(None)))
    if overdue is not None:
        late = _overdue_clause(now)
        stmt = stmt.where(late if overdue else ~late)
    if escalated is not None:
        stmt = stmt.where(Complaint.escalation_level > 0 if escalated else Complaint.escalation_level == 0)
    if paused is not None:
        stmt = stmt.where(Complaint.paused_since.is_not(None) if paused else Complaint.paused_since.is_(None))
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["-receivedAt"], tiebreak=Complaint.id,
                          to_schema=lambda c: summary_of(c, now))


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _proposal_out(p: ComplaintProposal) -> ProposalOut:
    return ProposalOut(id=p.id, round=p.round, kind=p.kind, amount=_money(p.amount), item=p.item,
                       due_date=p.due_date, description=p.description, pre_negotiated=p.pre_negotiated,
                       status=p.status, approval_request_id=p.approval_request_id,
                       decision_comment=p.decision_comment, created_by=p.created_by, created_at=p.created_at,
                       decided_at=p.decided_at)


def attachment_out(a: ComplaintAttachment) -> AttachmentOut:
    return AttachmentOut(id=a.id, complaint_id=a.complaint_id, filename=a.filename, content_type=a.content_type,
                         size=a.size, sha256=a.sha256, status=a.status, by_owner=a.by_owner,
                         uploaded_by=a.uploaded_by, created_at=a.created_at, stored_at=a.completed_at,
                         version=a.version)


def letter_out(letter: CapaLetter, complaint_number: str, today: date) -> CapaLetterOut:
    return CapaLetterOut(id=letter.id, number=letter.number, complaint_id=letter.complaint_id,
                         complaint_number=complaint_number, department=letter.department,
                         assignee_id=letter.assignee_id, root_cause=letter.root_cause,
                         requested_action=letter.requested_action, due_date=letter.due_date, status=letter.status,
                         overdue=letter.status is LetterStatus.sent and letter.due_date < today,
                         response=letter.response, responded_at=letter.responded_at,
                         responded_by=letter.responded_by, created_by=letter.created_by,
                         created_at=letter.created_at, version=letter.version)


async def _children(session: AsyncSession, model: Any, complaint_id: uuid.UUID, *order: Any) -> list[Any]:
    return list((await session.scalars(select(model).where(model.complaint_id == complaint_id)
                                       .order_by(*order, model.id))).all())


async def record_out(session: AsyncSession, authz: Authorizer, c: Complaint) -> ComplaintOut:
    category = await session.get(ComplaintCategory, c.category_id)
    assert category is not None  # a foreign key holds it
    related: list[RelatedOut] = []
    if c.joint_group is not None:
        # A joint complaint may span projects: the caller sees those of its records they may read.
        related = [RelatedOut(id=r.id, number=r.number, status=r.status) for r in (await session.scalars(
            select(Complaint).where(Complaint.joint_group == c.joint_group, Complaint.id != c.id,
                                    authz.visible(READ, Complaint.node_id))
            .order_by(Complaint.number))).all()]
    proposals = await _children(session, ComplaintProposal, c.id, ComplaintProposal.round)
    negotiations = await _children(session, ComplaintNegotiation, c.id, ComplaintNegotiation.round)
    notes = await _children(session, ComplaintNote, c.id, ComplaintNote.at)
    attachments = await _children(session, ComplaintAttachment, c.id, ComplaintAttachment.created_at)
    letters = await _children(session, CapaLetter, c.id, CapaLetter.created_at)
    events = await _children(session, ComplaintEvent, c.id, ComplaintEvent.at)
    today = await bound.today(session)
    return ComplaintOut(
        id=c.id, register=c.register, number=c.number, channel=c.channel, customer_id=c.customer_id,
        contact_note=c.contact_note, project_id=c.node_id, unit_id=c.unit_id,
        category=CategoryRef(id=category.id, code=category.code, name=category.name), quality=c.quality,
        severity=c.severity, subject=c.subject, description=c.description, counterparty=c.counterparty,
        joint_group=c.joint_group, related=related, status=c.status, handler_id=c.handler_id, filed_by=c.filed_by,
        department=c.department, received_at=c.received_at, first_responded_at=c.first_responded_at,
        resolved_at=c.resolved_at, closed_at=c.closed_at, cause=c.cause, responsible_party=c.responsible_party,
        handling_result=c.handling_result, check_result=c.check_result, feedback_opinion=c.feedback_opinion,
        satisfaction=c.satisfaction, case_reference=c.case_reference, court=c.court, litigated_at=c.litigated_at,
        litigation_outcome=c.litigation_outcome, reopen_count=c.reopen_count, overdue=is_overdue(c, clock.utcnow()),
        sla=SlaOut(response_target_minutes=c.response_target_minutes,
                   resolution_target_minutes=c.resolution_target_minutes, response_due_at=c.response_due_at,
                   resolution_due_at=c.resolution_due_at, response_seconds=c.response_seconds,
                   resolution_seconds=c.resolution_seconds, response_met=c.response_met,
                   resolution_met=c.resolution_met, response_breached_at=c.response_breached_at,
                   resolution_breached_at=c.resolution_breached_at, paused_seconds=c.paused_seconds,
                   paused_since=c.paused_since, pause_reason=c.pause_reason, escalation_level=c.escalation_level),
        proposals=[_proposal_out(p) for p in proposals],
        negotiations=[NegotiationOut(id=n.id, proposal_id=n.proposal_id, round=n.round,
                                     customer_response=n.customer_response, agreed=n.agreed,
                                     recorded_by=n.recorded_by, at=n.at) for n in negotiations],
        notes=[NoteOut(id=n.id, at=n.at, author_id=n.author_id, by_owner=n.by_owner, internal=n.internal, body=n.body)
               for n in notes],
        attachments=[attachment_out(a) for a in attachments],
        capa_letters=[letter_out(letter, c.number, today) for letter in letters],
        events=[EventOut(at=e.at, actor_id=e.actor_id, action=e.action, from_status=e.from_status,
                         to_status=e.to_status, note=e.note, public=e.public) for e in events],
        created_at=c.created_at, updated_at=c.updated_at, version=c.version)


# ------------------------------------------------------------------------- registration


async def _project(session: AsyncSession, authz: Authorizer, project_id: uuid.UUID) -> OrgNode:
    project = await session.scalar(select(OrgNode).where(OrgNode.id == project_id, OrgNode.kind == NodeKind.project))
    if project is None or not (authz.can(READ, project.path) or authz.can(WRITE, project.path)
                               or authz.can(org.READ, project.path)):
        # A project outside the caller's subtree is named like one that does not exist.
        raise ProblemError("not-found", f"No project with id {project_id}.",
                           errors=[field_error("projectId", "no such project")])
    authz.require(WRITE, project.path)
    return project


async def _unit_of(session: AsyncSession, unit_id: uuid.UUID, project_id: uuid.UUID) -> Unit:
    unit = await session.scalar(select(Unit).where(Unit.id == unit_id, Unit.project_id == project_id))
    if unit is None:
        raise ProblemError("not-found", f"No unit with id {unit_id} in the record's project.",
                           errors=[field_error("unitId", "no such unit in the project")])
    return unit


async def _customer_of(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID) -> Customer:
    try:
        customer, _ = await get_customer(session, authz, customer_id)
    except ProblemError as exc:
        if exc.slug != "not-found":
            raise
        raise ProblemError("not-found", f"No customer with id {customer_id}.",
                           errors=[field_error("customerId", "no such customer")]) from None
    if customer.merged_into_id is not None:
        # The merge moved the customer's records to the survivor: a new one belongs there too.
        raise ProblemError("conflict", f"Customer {customer.number} was merged into customer "
                                       f"{customer.merged_into_id}: use that one.",
                           errors=[field_error("customerId", f"merged into {customer.merged_into_id}")])
    return customer


async def _active_category(session: AsyncSession, category_id: uuid.UUID) -> ComplaintCategory:
    category = await session.get(ComplaintCategory, category_id)
    if category is None:
        raise ProblemError("not-found", f"No complaint category with id {category_id}.",
                           errors=[field_error("categoryId", "no such category")])
    if not category.active:
        raise ProblemError("conflict", f"The category {category.code} is no longer in use.",
                           errors=[field_error("categoryId", "inactive category")])
    return category


async def _joint_group(session: AsyncSession, authz: Authorizer, register: Register, c: Complaint | None,
                       other_id: uuid.UUID) -> uuid.UUID:
    """The joint group of record ``other_id`` (made of it when it had none). Changing ``c``
    (locked already), the other record is locked without waiting: two requests joining two
    records each to the other would otherwise wait on each other (409 for one of them instead)."""
    try:
        other, _ = await get_record(session, authz, register, other_id, lock=True, nowait=c is not None)
    except ProblemError as exc:
        if exc.slug != "not-found":
            raise
        raise ProblemError("not-found", f"No {register.value} with id {other_id}.",
                           errors=[field_error("jointWith", f"no such {register.value}")]) from None
    if c is not None and other.id == c.id:
        raise ProblemError("conflict", "A record cannot be joint with itself.",
                           errors=[field_error("jointWith", "is this record")])
    if other.joint_group is None:
        before = _state(other)
        other.joint_group = other.id
        _event(session, other, "joint", note="Joint with another record.")
        await _audit(session, other, "link", before, {"jointGroup": str(other.id)})
    return other.joint_group


def _received_at(value: datetime | None, now: datetime) -> datetime:
    if value is None:
        return now
    if value > now + CLOCK_SKEW:
        raise ProblemError("conflict", "A record cannot be received in the future.",
                           errors=[field_error("receivedAt", "in the future")])
    if value < now - BACKDATE_LIMIT:
        raise ProblemError("conflict", "A record entered afterwards must have been received within the last year.",
                           errors=[field_error("receivedAt", "more than a year ago")])
    return value


async def _new_record(session: AsyncSession, *, register: Register, channel: ComplaintChannel, project: OrgNode,
                      category: ComplaintCategory, received_at: datetime, subject: str, description: str,
                      customer_id: uuid.UUID | None, unit_id: uuid.UUID | None, contact_note: str | None,
                      severity: Severity, counterparty: str | None, joint_group: uuid.UUID | None,
                      handler_id: str | None) -> Complaint:
    calendar, policy, defaults = await _clock(session)
    response, resolution = await _targets(session, category.id, defaults)
    zone = await time_zone(session)
    c = Complaint(
        register=register, number=await next_number(session, SERIES[register], await local_year(session, received_at)),
        channel=channel, customer_id=customer_id, contact_note=contact_note, node_id=project.id, unit_id=unit_id,
        category_id=category.id, quality=category.quality, severity=severity, subject=subject,
        description=description, counterparty=counterparty, joint_group=joint_group,
        status=ComplaintStatus.received, handler_id=handler_id, filed_by=_actor(session),
        department=org.responsibility(project, zone).department, received_at=received_at,
        response_target_minutes=response, resolution_target_minutes=resolution, paused_seconds=0,
        reopen_count=0, escalation_level=0)
    sla.schedule(c, calendar, policy)
    session.add(c)
    await session.flush()
    await session.refresh(c)
    _event(session, c, "registered", to=ComplaintStatus.received, public=True)
    await session.flush()
    await audit.record(session, action="complaints.create", entity_type=ENTITY, entity_id=c.id,
                       after={**audit.snapshot(c, exclude=frozenset({"description"})), "register": register.value})
    return c


async def create_record(session: AsyncSession, authz: Authorizer, register: Register, data: RecordCreate) -> Complaint:
    project = await _project(session, authz, data.project_id)
    if data.unit_id is not None:
        await _unit_of(session, data.unit_id, project.id)
    if data.customer_id is not None:
        await _customer_of(session, authz, data.customer_id)
    category = await _active_category(session, data.category_id)
    handler = (await staff_subject(session, data.handler_id, "handlerId") if data.handler_id
               else await _registrant_handler(session, authz))
    received_at = _received_at(data.received_at, clock.utcnow())
    group = await _joint_group(session, authz, register, None, data.joint_with) if data.joint_with else None
    c = await _new_record(session, register=register, channel=data.channel, project=project, category=category,
                          received_at=received_at, subject=data.subject, description=data.description,
                          customer_id=data.customer_id, unit_id=data.unit_id, contact_note=data.contact_note,
                          severity=data.severity, counterparty=data.counterparty, joint_group=group,
                          handler_id=handler)
    if handler is not None and handler != _actor(session):
        await notify(session, [handler], "complaint.assigned", c, f"{_label(c)} assigned to you",
                     f"{_label(c)}: {c.subject}")
    return c


async def update_record(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                        data: RecordUpdate) -> Complaint:
    authz.require(WRITE, path)
    changes = provided(data)
    if not changes:
        return c
    before = audit.snapshot(c, exclude=frozenset({"description"}))
    retarget_needed = False
    if data.category_id is not msgspec.UNSET and data.category_id != c.category_id:
        category = await _active_category(session, data.category_id)
        c.category_id, c.quality = category.id, category.quality
        _event(session, c, "reclassified", note=f"{category.code} {category.name}")
        retarget_needed = True
    if data.unit_id is not msgspec.UNSET:
        unit_id = data.unit_id
        if unit_id is not None:
            await _unit_of(session, unit_id, c.node_id)
        c.unit_id = unit_id
    if data.customer_id is not msgspec.UNSET:
        customer_id = data.customer_id
        if customer_id is not None:
            await _customer_of(session, authz, customer_id)
        c.customer_id = customer_id
    if data.handler_id is not msgspec.UNSET:
        handler = data.handler_id
        new = (await staff_subject(session, handler, "handlerId")
               if handler is not None else None)
        if new != c.handler_id:
            c.handler_id = new
            _event(session, c, "assigned", note=new)
            if new is not None and new != _actor(session):
                await notify(session, [new], "complaint.assigned", c, f"{_label(c)} assigned to you",
                             f"{_label(c)}: {c.subject}")
    if data.joint_with is not msgspec.UNSET:
        other = data.joint_with
        c.joint_group = (await _joint_group(session, authz, c.register, c, other)
                         if other is not None else None)
    for name in ("subject", "description", "severity", "contact_note", "counterparty"):
        if name in changes:
            setattr(c, name, changes[name])
    await session.flush()
    if retarget_needed:
        await retarget(session, Complaint.id == c.id)
    await session.refresh(c)
    await audit.record(session, action="complaints.update", entity_type=ENTITY, entity_id=c.id, before=before,
                       after=audit.snapshot(c, exclude=frozenset({"description"})))
    return c


# ----------------------------------------------------------------------------- the loop


async def _move(session: AsyncSession, c: Complaint, move: str, to: ComplaintStatus, action: str, *,
                note: str | None = None, public: bool = True, data: dict[str, Any] | None = None,
                clock_change: str | None = None) -> None:
    """Make ``move`` take ``c`` to ``to`` (a running pause ends with it), reschedule its clocks
    and record ``action`` in its history. ``clock_change``: "respond" or "resolve" stops that
    clock at this moment."""
    _require_status(c, move)
    if to not in TRANSITIONS[move][1]:
        raise RuntimeError(f"the move {move} does not lead to {to.value}")
    calendar, policy, _ = await _clock(session)
    now = clock.utcnow()
    if c.paused_since is not None:
        lasted = sla.resume(c, calendar, now)
        _event(session, c, "resumed", note=f"Resumed by {action.replace('_', ' ')}", data={"pausedSeconds": lasted})
    if clock_change == "respond":
        sla.respond(c, calendar, now)
    elif clock_change == "resolve":
        sla.resolve(c, calendar, now)
    before = c.status
    c.status = to
    sla.schedule(c, calendar, policy)
    _event(session, c, action, before=before, to=to, note=note, public=public, data=data)


async def investigate(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                      data: InvestigateIn) -> Complaint:
    authz.require(WRITE, path)
    _require_status(c, "investigate")
    before = _state(c)
    if c.handler_id is None:
        c.handler_id = await _registrant_handler(session, authz)
    # The reply is what the customer is told: a note they see (the history need not repeat it).
    session.add(ComplaintNote(complaint_id=c.id, at=clock.utcnow(), author_id=_actor(session), by_owner=False,
                              internal=False, body=data.reply))
    await _move(session, c, "investigate", ComplaintStatus.investigating, "investigation_started",
                clock_change="respond")
    await _audit(session, c, "investigate", before, {"reply": data.reply})
    return c


async def record_findings(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                          data: FindingsIn) -> Complaint:
    authz.require(WRITE, path)
    _require_status(c, "findings")
    before = _state(c)
    c.cause, c.responsible_party = data.cause, data.responsible_party
    await _move(session, c, "findings", ComplaintStatus.proposal, "findings", note=data.cause, public=False,
                data={"responsibleParty": data.responsible_party.value})
    await _audit(session, c, "findings", before, {"cause": data.cause,
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
    _require_status(c, "propose")
    before = _state(c)
    fields = _proposal_fields(data)
    rounds = await session.scalar(select(func.count()).where(ComplaintProposal.complaint_id == c.id)) or 0
    proposal = ComplaintProposal(complaint_id=c.id, round=rounds + 1, status=ProposalStatus.pending,
                                 created_by=_actor(session), created_at=clock.utcnow(), **fields)
    session.add(proposal)
    await session.flush()
    kind = fields["kind"].value
    amount = fields["amount"]
    request = await approvals.create_request(
        session, request_type=REQUEST_TYPE, node_id=c.node_id, amount=amount or Decimal("0"),
        title=f"{_label(c)}: resolution proposal, round {proposal.round} ({kind}"
              + (f", {_money(amount)} yuan)" if amount is not None else ")"),
        reason=fields["description"][:2000],
        payload={"complaintId": str(c.id), "number": c.number, "register": c.register.value,
                 "proposalId": str(proposal.id), "round": proposal.round, "kind": kind, "amount": _money(amount),
                 "item": fields["item"], "dueDate": fields["due_date"].isoformat() if fields["due_date"] else None,
                 "description": fields["description"], "preNegotiated": fields["pre_negotiated"]})
    proposal.approval_request_id = request.id
    await _move(session, c, "propose", ComplaintStatus.approval, "proposed", public=False,
                data={"round": proposal.round, "kind": kind, "approvalRequestId": str(request.id)})
    await _audit(session, c, "propose", before, {"round": proposal.round, "kind": kind, "amount": _money(amount),
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
    if proposal.status is not ProposalStatus.pending or c.status not in TRANSITIONS["decide"][0]:
        raise ProblemError("conflict", f"{_label(c)} no longer awaits this proposal's approval "
                                       f"(it is {c.status.value}).")
    comment = await session.scalar(select(ApprovalAction.comment).where(
        ApprovalAction.request_id == request.id, ApprovalAction.action.in_(
            [ActionKind.approve, ActionKind.reject, ActionKind.withdraw]))
        .order_by(ApprovalAction.at.desc(), ApprovalAction.id.desc()).limit(1))
    before = _state(c)
    proposal.status, proposal.decided_at, proposal.decision_comment = outcome, clock.utcnow(), comment
    data = {"round": proposal.round, "approvalRequestId": str(request.id)}
    if outcome is ProposalStatus.approved and proposal.pre_negotiated:
        # Agreed with the customer beforehand: handling starts at once.
        proposal.status = ProposalStatus.agreed
        await _move(session, c, "decide", ComplaintStatus.handling, "approved",
                    data={**data, "preNegotiated": True},
                    note="The pre-negotiated proposal was approved.")
    elif outcome is ProposalStatus.approved:
        await _move(session, c, "decide", ComplaintStatus.negotiation, "approved", data=data)
    else:
        await _move(session, c, "decide", ComplaintStatus.proposal, outcome.value, public=False, note=comment,
                    data=data)
    await _audit(session, c, f"proposal.{outcome.value}", before, {"round": proposal.round})
    await notify(session, [c.handler_id], f"complaint.proposal_{outcome.value}", c,
                 f"{_label(c)}: proposal round {proposal.round} {outcome.value}",
                 f"Proposal round {proposal.round} of {_label(c)} was {outcome.value}"
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
    # DOMAIN.md, complaints step 5: the company's approval authority; large compensations go
    # up to the group.
    default_chain=[
        {"name": "Customer affairs manager", "role": "customer_affairs_manager", "at": "branch"},
        {"name": "CRM head", "role": "crm_head", "at": "group", "minAmount": "50000"},
    ],
    default_roles={"customer_affairs_manager": "客户事务部经理 Customer affairs manager", "crm_head": "CRM head"},
)


async def _current_proposal(session: AsyncSession, c: Complaint) -> ComplaintProposal:
    proposal = await session.scalar(select(ComplaintProposal).where(
        ComplaintProposal.complaint_id == c.id, ComplaintProposal.status == ProposalStatus.approved)
        .order_by(ComplaintProposal.round.desc()).limit(1))
    if proposal is None:
        raise ProblemError("conflict", f"{_label(c)} has no approved proposal to negotiate.")
    return proposal


async def negotiate(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                    data: NegotiationIn) -> Complaint:
    authz.require(WRITE, path)
    _require_status(c, "negotiate")
    before = _state(c)
    proposal = await _current_proposal(session, c)
    rounds = await session.scalar(select(func.count()).where(ComplaintNegotiation.complaint_id == c.id)) or 0
    session.add(ComplaintNegotiation(complaint_id=c.id, proposal_id=proposal.id, round=rounds + 1,
                                     customer_response=data.customer_response, agreed=data.agreed,
                                     recorded_by=_actor(session), at=clock.utcnow()))
    proposal.status = ProposalStatus.agreed if data.agreed else ProposalStatus.not_agreed
    to = ComplaintStatus.handling if data.agreed else ComplaintStatus.proposal
    await _move(session, c, "negotiate", to, "agreed" if data.agreed else "not_agreed",
                note=data.customer_response,
                data={"round": rounds + 1, "proposalRound": proposal.round})
    await _audit(session, c, "negotiate", before, {"round": rounds + 1, "agreed": data.agreed})
    return c


async def handle(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: HandlingIn) -> Complaint:
    authz.require(WRITE, path)
    _require_status(c, "handle")
    before = _state(c)
    c.handling_result, c.check_result = data.result, data.check
    await _move(session, c, "handle", ComplaintStatus.feedback, "handled", note=data.result,
                clock_change="resolve")
    await _audit(session, c, "handle", before, {"result": data.result, "check": data.check})
    return c


async def record_feedback(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                          data: FeedbackIn) -> Complaint:
    authz.require(WRITE, path)
    _require_status(c, "feedback")
    before = _state(c)
    c.feedback_opinion, c.satisfaction, c.closed_at = data.opinion, data.satisfaction, clock.utcnow()
    await _move(session, c, "feedback", ComplaintStatus.closed, "closed", note=data.opinion,
                data={"satisfaction": data.satisfaction})
    await _audit(session, c, "feedback", before, {"opinion": data.opinion, "satisfaction": data.satisfaction})
    return c


async def litigate(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: LitigationIn) -> Complaint:
    authz.require(SUPERVISE, path)
    _require_status(c, "litigate")
    before = _state(c)
    if c.status is ComplaintStatus.negotiation:
        (await _current_proposal(session, c)).status = ProposalStatus.not_agreed
    c.case_reference, c.court, c.litigated_at = data.case_reference, data.court, clock.utcnow()
    if data.note is not None:  # the legal side's own words stay internal
        session.add(ComplaintNote(complaint_id=c.id, at=clock.utcnow(), author_id=_actor(session), by_owner=False,
                                  internal=True, body=data.note))
    await _move(session, c, "litigate", ComplaintStatus.litigation, "litigation",
                note=f"Case {data.case_reference}",
                data={"caseReference": data.case_reference, "court": data.court})
    await _audit(session, c, "litigate", before, {"caseReference": data.case_reference, "court": data.court})
    return c


async def record_litigation_outcome(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                                    data: LitigationOutcomeIn) -> Complaint:
    authz.require(SUPERVISE, path)
    _require_status(c, "litigation_outcome")
    before = _state(c)
    c.litigation_outcome, c.closed_at = data.outcome, clock.utcnow()
    await _move(session, c, "litigation_outcome", ComplaintStatus.closed, "litigation_outcome",
                note=data.outcome)
    await _audit(session, c, "litigation_outcome", before, {"outcome": data.outcome})
    return c


async def reopen(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: ReopenIn) -> Complaint:
    authz.require(WRITE, path)
    _require_status(c, "reopen")
    before = {**_state(c), "resolutionTargetMinutes": c.resolution_target_minutes, "satisfaction": c.satisfaction,
              "feedbackOpinion": c.feedback_opinion}
    calendar, _, defaults = await _clock(session)
    sla.reopen(c, calendar, clock.utcnow())
    # The resolution clock runs again, against the target its category's policy sets now.
    c.resolution_target_minutes = (await _targets(session, c.category_id, defaults))[1]
    # The feedback judged a result that did not hold: it stays in the history, not on the record
    # (nor in the statistics) until the record is closed again.
    c.reopen_count += 1
    c.closed_at = c.satisfaction = c.feedback_opinion = None
    await _move(session, c, "reopen", ComplaintStatus.investigating, "reopened", note=data.reason)
    await _audit(session, c, "reopen", before, {"reason": data.reason,
                                                "resolutionTargetMinutes": c.resolution_target_minutes,
                                                "satisfaction": None, "feedbackOpinion": None}, reason=data.reason)
    await notify(session, [c.handler_id], "complaint.reopened", c, f"{_label(c)} reopened", data.reason[:2000])
    return c


async def pause(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: PauseIn) -> Complaint:
    authz.require(WRITE, path)
    if c.status not in OPEN_STATUSES or c.resolved_at is not None:
        # Resolved: the time until a reopen counts as paused already (sla.reopen), so a pause
        # now would be counted twice.
        raise ProblemError("conflict", f"{_label(c)} is {c.status.value}: its resolution clock has stopped, "
                                       "there is no clock to pause.")
    if c.paused_since is not None:
        raise ProblemError("conflict", f"The clocks of {_label(c)} are already paused (since "
                                       f"{c.paused_since.isoformat()}).")
    before = _state(c)
    calendar, policy, _ = await _clock(session)
    now = clock.utcnow()
    sla.pause(c, data.reason, now)
    sla.schedule(c, calendar, policy)
    # Waiting on the customer is something the customer should know.
    _event(session, c, "paused", note=data.note, public=data.reason is PauseReason.customer,
           data={"reason": data.reason.value})
    await _audit(session, c, "pause", before, {"reason": data.reason.value, "note": data.note})
    return c


async def resume(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: ResumeIn) -> Complaint:
    authz.require(WRITE, path)
    if c.paused_since is None:
        raise ProblemError("conflict", f"The clocks of {_label(c)} are not paused.")
    before = _state(c)
    calendar, policy, _ = await _clock(session)
    now = clock.utcnow()
    lasted = sla.resume(c, calendar, now)
    sla.schedule(c, calendar, policy)
    _event(session, c, "resumed", note=data.note, data={"pausedSeconds": lasted})
    await _audit(session, c, "resume", before, {"pausedSeconds": lasted})
    return c


async def add_note(session: AsyncSession, authz: Authorizer, c: Complaint, path: str, data: NoteIn) -> Complaint:
    """A note; one that is not internal is a reply to the customer (a first response, if it is the first)."""
    authz.require(WRITE, path)
    note = ComplaintNote(complaint_id=c.id, at=clock.utcnow(), author_id=_actor(session), by_owner=False,
                         internal=data.internal, body=data.body)
    session.add(note)
    responded = False
    if not data.internal and c.status in OPEN_STATUSES:
        calendar, policy, _ = await _clock(session)
        now = clock.utcnow()
        responded = sla.respond(c, calendar, now)
        if responded:
            sla.schedule(c, calendar, policy)
            _event(session, c, "responded", public=True)
    await session.flush()
    await session.refresh(c)
    await audit.record(session, action="complaints.note", entity_type=ENTITY, entity_id=c.id,
                       after={"noteId": str(note.id), "internal": data.internal, "body": data.body,
                              "firstResponse": responded})
    return c


# --------------------------------------------------------------------------- attachments


async def start_upload(session: AsyncSession, store: ObjectStore, tenant: str, c: Complaint, data: AttachmentIn, *,
                       by_owner: bool) -> AttachmentUpload:
    """A pending attachment and the presigned PUT that uploads its bytes straight to storage.
    The file name's extension must be the declared type's (422 naming ``filename``)."""
    declared = ATTACHMENT_UPLOADS.declare(content_type=data.content_type, size=data.size, sha256=data.sha256,
                                          file_name=data.filename, name_field="filename")
    count = await session.scalar(select(func.count()).where(ComplaintAttachment.complaint_id == c.id)) or 0
    if count >= MAX_ATTACHMENTS:
        raise ProblemError("conflict", f"{_label(c)} has {count} attachments, the most it may have.")
    row = ComplaintAttachment(id=new_id(), complaint_id=c.id, filename=declared.file_name or data.filename,
                              uploaded_by=_actor(session), by_owner=by_owner)
    key = ATTACHMENT_UPLOADS.key(complaint=c.id, attachment=row.id)
    signed = await uploads.start(store, tenant, ATTACHMENT_UPLOADS, row, key, declared)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(session, action="complaints.attachment.start", entity_type=ATTACHMENT, entity_id=row.id,
                       after={**audit.snapshot(row), "complaintId": str(c.id)})
    return AttachmentUpload(attachment=attachment_out(row), upload=UploadOut(
        method=signed.method, url=signed.url, headers=signed.headers, expires_at=signed.expires_at))


async def get_attachment(session: AsyncSession, authz: Authorizer, attachment_id: uuid.UUID, *,
                         lock: bool = False) -> tuple[ComplaintAttachment, Complaint, str]:
    stmt = (select(ComplaintAttachment, Complaint, OrgNode.path)
            .join(Complaint, Complaint.id == ComplaintAttachment.complaint_id)
            .join(OrgNode, OrgNode.id == Complaint.node_id).where(ComplaintAttachment.id == attachment_id))
    if lock:
        stmt = stmt.with_for_update(of=ComplaintAttachment)
    row = (await session.execute(stmt)).first()
    if row is None or not authz.can(READ, row[2]):
        raise ProblemError("not-found", f"No attachment with id {attachment_id}.")
    return row[0], row[1], row[2]


async def complete_upload(session: AsyncSession, store: ObjectStore, tenant: str,
                          a: ComplaintAttachment) -> ComplaintAttachment:
    """Trust the upload once storage holds exactly the declared file: its size, SHA-256 and
    stored type, and bytes that begin as the declared format does (HTML is no PNG)."""
    if not a.upload_pending:
        return a  # a retried confirmation
    found = await uploads.inspect(store, tenant, a)
    if found.outcome is uploads.Outcome.missing:
        raise ProblemError("conflict", f"Nothing was uploaded for attachment {a.id} yet: PUT its bytes to the "
                                       "upload URL first.")
    if found.outcome is uploads.Outcome.mismatch:
        raise ProblemError("conflict", f"The uploaded bytes are not the declared ones ({found.detail}); upload them "
                                       "again.")
    if found.info is None or found.outcome is not uploads.Outcome.ok:
        raise ProblemError("conflict", f"The uploaded bytes are not the declared ones ({found.detail}): they are "
                                       f"not a {a.content_type} file. Start a new upload with the file's own type.")
    before = audit.snapshot(a)
    a.mark_stored(found.info, clock.utcnow())
    await session.flush()
    await session.refresh(a)
    await audit.record(session, action="complaints.attachment.store", entity_type=ATTACHMENT, entity_id=a.id,
                       before=before, after=audit.snapshot(a))
    return a


async def download(store: ObjectStore, tenant: str, a: ComplaintAttachment) -> DownloadOut:
    """A short-lived URL of the stored version, served as the declared type under the stored
    name (with that type's extension)."""
    if a.upload_pending:
        raise ProblemError("conflict", f"Attachment {a.id} is not stored yet: its upload was not confirmed.")
    signed = await uploads.presign_download(store, tenant, ATTACHMENT_UPLOADS, a, name=a.filename)
    return DownloadOut(url=signed.url, expires_at=signed.expires_at)


async def expire_uploads(session: AsyncSession, store: ObjectStore, tenant: str) -> int:
    """Pending attachments whose upload URL expired (an hour ago, at least) are removed: the
    bytes that arrived but were never confirmed, and the row. How many; idempotent."""
    rows = await uploads.expire(session, ComplaintAttachment, ATTACHMENT_UPLOADS, uploads.delete_objects(store, tenant),
                                batch=SCAN_BATCH)
    await audit.record_many(session, [
        {"action": "complaints.attachment.expire", "entity_type": ATTACHMENT, "entity_id": a.id,
         "before": {"complaintId": str(a.complaint_id), "filename": a.filename, "status": a.status.value}}
        for a in rows])
    return len(rows)


# --------------------------------------------------------------------- corrective actions


async def send_letter(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                      data: CapaLetterIn) -> CapaLetter:
    """A work-liaison letter sending a closed record's root cause to a responsible department."""
    authz.require(WRITE, path)
    if c.status is not ComplaintStatus.closed:
        raise ProblemError("conflict", f"{_label(c)} is {c.status.value}: corrective action follows a closed record.")
    root_cause = data.root_cause or c.cause
    if root_cause is None:
        raise ProblemError("conflict", f"{_label(c)} has no recorded cause: give the root cause.",
                           errors=[field_error("rootCause", "required: the record has no cause")])
    assignee = await staff_subject(session, data.assignee_id, "assigneeId") if data.assignee_id else None
    letter = CapaLetter(complaint_id=c.id, number=await next_number(
        session, LETTER_SERIES, await local_year(session, clock.utcnow())), department=data.department,
        assignee_id=uuid.UUID(assignee) if assignee else None, root_cause=root_cause,
        requested_action=data.requested_action, due_date=data.due_date, status=LetterStatus.sent,
        created_by=_actor(session))
    session.add(letter)
    await session.flush()
    await session.refresh(letter)
    _event(session, c, "capa_letter", note=f"{letter.number} to {letter.department}",
           data={"letterId": str(letter.id)})
    await audit.record(session, action="complaints.capa_letter.send", entity_type=LETTER, entity_id=letter.id,
                       after={**audit.snapshot(letter), "complaintNumber": c.number})
    if assignee is not None:
        await notify(session, [assignee], "complaint.capa_letter", c, f"Work-liaison letter {letter.number}",
                     f"Root cause of {_label(c)}: {root_cause[:1000]}\nRequested: {data.requested_action[:1000]}\n"
                     f"Due {data.due_date.isoformat()}.")
    return letter


async def get_letter(session: AsyncSession, authz: Authorizer, letter_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[CapaLetter, Complaint, str]:
    stmt = (select(CapaLetter, Complaint, OrgNode.path).join(Complaint, Complaint.id == CapaLetter.complaint_id)
            .join(OrgNode, OrgNode.id == Complaint.node_id).where(CapaLetter.id == letter_id))
    if lock:
        stmt = stmt.with_for_update(of=CapaLetter)
    row = (await session.execute(stmt)).first()
    if row is None or not authz.can(READ, row[2]):
        raise ProblemError("not-found", f"No work-liaison letter with id {letter_id}.")
    return row[0], row[1], row[2]


async def letter_view(session: AsyncSession, letter: CapaLetter, c: Complaint) -> CapaLetterOut:
    return letter_out(letter, c.number, await bound.today(session))


async def list_letters(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                       status: LetterStatus | None, overdue: bool | None,
                       complaint_id: uuid.UUID | None) -> Page[CapaLetterOut]:
    today = await bound.today(session)
    stmt: Select[Any] = (select(CapaLetter).join(Complaint, Complaint.id == CapaLetter.complaint_id)
                         .where(authz.visible(READ, Complaint.node_id)))
    if status is not None:
        stmt = stmt.where(CapaLetter.status == status)
    if overdue is not None:
        late = and_(CapaLetter.status == LetterStatus.sent, CapaLetter.due_date < today)
        stmt = stmt.where(late if overdue else ~late)
    if complaint_id is not None:
        stmt = stmt.where(CapaLetter.complaint_id == complaint_id)
    page = await paginate(session, stmt, params, sortable=LETTER_SORT, default_sort=["dueDate"], tiebreak=CapaLetter.id,
                          to_schema=lambda letter: letter)
    numbers = dict((await session.execute(select(Complaint.id, Complaint.number).where(
        Complaint.id.in_({letter.complaint_id for letter in page.items})))).all())
    return Page(items=[letter_out(letter, numbers[letter.complaint_id], today) for letter in page.items],
                total=page.total, limit=page.limit, offset=page.offset)


async def respond_letter(session: AsyncSession, authz: Authorizer, letter: CapaLetter, c: Complaint, path: str,
                         data: LetterResponseIn) -> CapaLetter:
    """The department's response: by the letter's assignee, or anyone who works the record."""
    actor = _actor(session)
    if not (letter.assignee_id is not None and actor == str(letter.assignee_id)):
        authz.require(WRITE, path)
    if letter.status is not LetterStatus.sent:
        raise ProblemError("conflict", f"Letter {letter.number} was responded to already.")
    before = audit.snapshot(letter)
    letter.status, letter.response = LetterStatus.responded, data.response
    letter.responded_at, letter.responded_by = clock.utcnow(), actor
    await session.flush()
    await session.refresh(letter)
    _event(session, c, "capa_response", note=f"{letter.number}: {data.response[:1000]}")
    await session.flush()
    await audit.record(session, action="complaints.capa_letter.respond", entity_type=LETTER, entity_id=letter.id,
                       before=before, after=audit.snapshot(letter))
    return letter


# ------------------------------------------------------------------------------- owners


def _mine(authz: Authorizer) -> ColumnElement[bool]:
    owner = authz.owner_id
    if owner is None:
        return false()
    return Complaint.customer_id.in_(select(Customer.id).where(Customer.account_id == owner,
                                                               Customer.merged_into_id.is_(None)))


async def list_mine(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[OwnComplaintSummary]:
    stmt = select(Complaint).where(_mine(authz))
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["-receivedAt"], tiebreak=Complaint.id,
                          to_schema=lambda c: OwnComplaintSummary(id=c.id, register=c.register, number=c.number,
                                                                  subject=c.subject, status=c.status,
                                                                  received_at=c.received_at, version=c.version))


async def get_mine(session: AsyncSession, authz: Authorizer, record_id: uuid.UUID, *, lock: bool = False) -> Complaint:
    stmt = select(Complaint).where(Complaint.id == record_id, _mine(authz))
    if lock:
        stmt = stmt.with_for_update()
    c = await session.scalar(stmt)
    if c is None:
        raise ProblemError("not-found", f"No complaint of yours with id {record_id}.")
    return c


async def own_out(session: AsyncSession, c: Complaint) -> OwnComplaintOut:
    category = await session.get(ComplaintCategory, c.category_id)
    assert category is not None
    proposals = [p for p in await _children(session, ComplaintProposal, c.id, ComplaintProposal.round)
                 if p.status in (ProposalStatus.approved, ProposalStatus.agreed, ProposalStatus.not_agreed)]
    notes = [n for n in await _children(session, ComplaintNote, c.id, ComplaintNote.at) if not n.internal]
    attachments = [a for a in await _children(session, ComplaintAttachment, c.id, ComplaintAttachment.created_at)
                   if a.by_owner]
    events = [e for e in await _children(session, ComplaintEvent, c.id, ComplaintEvent.at) if e.public]
    return OwnComplaintOut(
        id=c.id, register=c.register, number=c.number, unit_id=c.unit_id, category_name=category.name,
        subject=c.subject, description=c.description, status=c.status, received_at=c.received_at,
        first_responded_at=c.first_responded_at, resolved_at=c.resolved_at, closed_at=c.closed_at,
        handling_result=c.handling_result, feedback_opinion=c.feedback_opinion, satisfaction=c.satisfaction,
        case_reference=c.case_reference,
        proposals=[OwnProposalOut(round=p.round, kind=p.kind, amount=_money(p.amount), item=p.item,
                                  due_date=p.due_date, description=p.description, status=p.status) for p in proposals],
        notes=[OwnNoteOut(at=n.at, by_owner=n.by_owner, body=n.body) for n in notes],
        attachments=[attachment_out(a) for a in attachments],
        events=[OwnEventOut(at=e.at, action=e.action, to_status=e.to_status, note=e.note) for e in events],
        version=c.version)


async def own_categories(session: AsyncSession, params: PageParams) -> Page[OwnCategoryOut]:
    stmt = select(ComplaintCategory).where(ComplaintCategory.active.is_(True))
    return await paginate(session, stmt, params, sortable=CATEGORY_SORT, default_sort=["code"],
                          tiebreak=ComplaintCategory.id,
                          to_schema=lambda c: OwnCategoryOut(id=c.id, parent_id=c.parent_id, name=c.name))


async def create_mine(session: AsyncSession, authz: Authorizer, data: OwnComplaintCreate) -> Complaint:
    """A complaint a home owner files from the app, about one of their own units."""
    owner = authz.owner_id
    if owner is None:
        raise ProblemError("forbidden", "Only a home owner's account files complaints here.")
    row = (await session.execute(
        select(CustomerUnit.customer_id, Unit).join(Customer, Customer.id == CustomerUnit.customer_id)
        .join(Unit, Unit.id == CustomerUnit.unit_id)
        .where(CustomerUnit.unit_id == data.unit_id, Customer.account_id == owner, Customer.merged_into_id.is_(None))
        .order_by(CustomerUnit.created_at).limit(1))).first()
    if row is None:
        raise ProblemError("not-found", f"No unit of yours with id {data.unit_id}.",
                           errors=[field_error("unitId", "not one of your units")])
    customer_id, unit = row
    category: ComplaintCategory | None
    if data.category_id is not None:
        category = await _active_category(session, data.category_id)
    else:
        category = await session.scalar(select(ComplaintCategory).where(ComplaintCategory.code == OWNER_CATEGORY,
                                                                        ComplaintCategory.active.is_(True)))
        if category is None:
            category = await session.scalar(select(ComplaintCategory).where(
                ComplaintCategory.active.is_(True), ComplaintCategory.parent_id.is_(None))
                .order_by(ComplaintCategory.code).limit(1))
        if category is None:
            raise ProblemError("conflict", "The group has no complaint category in use: call customer service.")
    project = await session.get(OrgNode, unit.project_id)
    assert project is not None
    return await _new_record(session, register=Register.complaint, channel=ComplaintChannel.app, project=project,
                             category=category, received_at=clock.utcnow(), subject=data.subject,
                             description=data.description, customer_id=customer_id, unit_id=unit.id,
                             contact_note=None, severity=Severity.medium, counterparty=None, joint_group=None,
                             handler_id=None)


async def add_own_note(session: AsyncSession, c: Complaint, data: OwnNoteIn) -> Complaint:
    note = ComplaintNote(complaint_id=c.id, at=clock.utcnow(), author_id=_actor(session), by_owner=True,
                         internal=False, body=data.body)
    session.add(note)
    await session.flush()
    await audit.record(session, action="complaints.owner_note", entity_type=ENTITY, entity_id=c.id,
                       after={"noteId": str(note.id), "body": data.body})
    await notify(session, [c.handler_id], "complaint.owner_note", c, f"{_label(c)}: the customer added information",
                 data.body[:2000])
    return c


async def rate(session: AsyncSession, c: Complaint, data: RatingIn) -> Complaint:
    """The owner rates the result: it closes a record awaiting feedback; a closed one not yet
    rated takes the rating."""
    before = _state(c)
    if c.status is ComplaintStatus.feedback:
        c.feedback_opinion = data.opinion or c.feedback_opinion
        c.satisfaction, c.closed_at = data.satisfaction, clock.utcnow()
        await _move(session, c, "feedback", ComplaintStatus.closed, "rated", note=data.opinion,
                    data={"satisfaction": data.satisfaction})
    elif c.status is ComplaintStatus.closed and c.satisfaction is None:
        c.satisfaction = data.satisfaction
        c.feedback_opinion = data.opinion or c.feedback_opinion
        _event(session, c, "rated", note=data.opinion, public=True, data={"satisfaction": data.satisfaction})
    else:
        raise ProblemError("conflict", f"{_label(c)} is {c.status.value}"
                                       + (" and rated already" if c.satisfaction is not None else "")
                                       + ": a rating follows the handling of the complaint.")
    await _audit(session, c, "rate", before, {"satisfaction": data.satisfaction, "opinion": data.opinion})
    await notify(session, [c.handler_id], "complaint.rated", c, f"{_label(c)} rated {data.satisfaction}/5",
                 data.opinion or "")
    return c


async def get_own_attachment(session: AsyncSession, authz: Authorizer, attachment_id: uuid.UUID, *,
                             lock: bool = False) -> tuple[ComplaintAttachment, Complaint]:
    stmt = (select(ComplaintAttachment, Complaint).join(Complaint, Complaint.id == ComplaintAttachment.complaint_id)
            .where(ComplaintAttachment.id == attachment_id, ComplaintAttachment.by_owner.is_(True), _mine(authz)))
    if lock:
        stmt = stmt.with_for_update(of=ComplaintAttachment)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise ProblemError("not-found", f"No attachment of yours with id {attachment_id}.")
    return row[0], row[1]


# ------------------------------------------------------------------------------ the scan


async def _supervisors(session: AsyncSession, node_id: uuid.UUID) -> list[str]:
    """Accounts holding complaints.supervise (or every permission) at ``node_id`` itself."""
    rows = (await session.scalars(
        select(RoleAssignment.account_id).join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.node_id == node_id,
               or_(Role.permissions.contains([SUPERVISE]), Role.permissions.contains([ALL])))
        .order_by(RoleAssignment.account_id))).all()
    return [str(r) for r in dict.fromkeys(rows)]


def _level_node(path: str, at: str) -> uuid.UUID | None:
    """The record's project, branch or group, from its project's path (group/branch/project)."""
    parts = path.split("/")
    index = sla.LEVELS.index(at)
    return uuid.UUID(parts[index]) if index < len(parts) else None


_CROSSING_TEXT = {
    "response_warning": "close to its first-response deadline",
    "response_breach": "past its first-response deadline",
    "resolution_warning": "close to its resolution deadline",
    "resolution_breach": "past its resolution deadline",
}


async def _due(session: AsyncSession, now: datetime, stamp: datetime | None) -> list[Any]:
    """One batch of records for the scan, with their projects' paths, locked (SKIP LOCKED):
    first those whose next line is behind ``now``, then running ones whose lines were drawn in
    another state of the calendar (it changed since). Each query reads a partial index as a
    range: one OR of these (or "IS DISTINCT FROM") would read every running record."""
    base = (select(Complaint, OrgNode.path).join(OrgNode, OrgNode.id == Complaint.node_id)
            .with_for_update(of=Complaint, skip_locked=True))
    rows = list((await session.execute(base.where(Complaint.sla_next_check_at <= now)
                                       .order_by(Complaint.sla_next_check_at).limit(SCAN_BATCH))).all())
    drawn = Complaint.sla_calendar_stamp
    elsewhere = [drawn.is_not(None)] if stamp is None else [drawn.is_(None), drawn < stamp, drawn > stamp]
    for other in elsewhere:
        if len(rows) >= SCAN_BATCH:
            break
        rows += (await session.execute(base.where(Complaint.sla_next_check_at > now, other)
                                       .limit(SCAN_BATCH - len(rows)))).all()
    return rows


async def scan(session: AsyncSession) -> dict[str, int]:
    """Find the records whose clocks crossed a line (near-breach, breach, an escalation
    level) and tell whom the rule names; recompute clocks counted in a calendar that changed
    since. One batch, locked with SKIP LOCKED; idempotent: a crossing is marked once."""
    now = clock.utcnow()
    calendar, policy, _ = await _clock(session)
    rows = await _due(session, now, calendar.stamp)
    counts = {"checked": len(rows), "warnings": 0, "breaches": 0, "escalations": 0, "messages": 0}
    entries: list[dict[str, Any]] = []
    for c, path in rows:
        before = _state(c)
        crossings = sla.cross(c, calendar, policy, now)
        for crossing in crossings:
            if crossing.kind == "escalation":
                counts["escalations"] += 1
                node = _level_node(path, crossing.at or "project")
                recipients = [*(await _supervisors(session, node) if node else []), c.handler_id]
                subject = f"{_label(c)} escalated to level {crossing.level} ({crossing.at})"
                body = f"{_label(c)} ({c.subject}) used {policy.escalation[crossing.level - 1].after_percent}% of " \
                       f"its resolution target and is escalated to the {crossing.at}."
            else:
                counts["breaches" if crossing.kind.endswith("breach") else "warnings"] += 1
                recipients = [c.handler_id]
                if crossing.kind.endswith("breach") or c.handler_id is None:
                    node = _level_node(path, "project")
                    recipients += await _supervisors(session, node) if node else []
                subject = f"{_label(c)} is {_CROSSING_TEXT[crossing.kind]}"
                body = f"{_label(c)} ({c.subject}) is {_CROSSING_TEXT[crossing.kind]}."
            counts["messages"] += await notify(session, recipients, f"complaint.{crossing.kind}", c, subject, body)
            _event(session, c, crossing.kind if crossing.kind != "escalation" else "escalated", actor="system",
                   data={"level": crossing.level, "at": crossing.at} if crossing.kind == "escalation" else None)
        entries.append({"action": "complaints.sla.scan", "entity_type": ENTITY, "entity_id": c.id, "before": before,
                        "after": {**_state(c), "crossings": [x.kind for x in crossings]}})
    await session.flush()
    await audit.record_many(session, entries)
    counts["moved"] = await switch_at_handover(session)
    return counts


async def switch_at_handover(session: AsyncSession) -> int:
    """Open records of projects whose handover date has come (tenant time zone) move from
    the project department to customer affairs, each audited. Idempotent."""
    zone = await time_zone(session)
    projects = (await session.scalars(select(OrgNode).where(OrgNode.kind == NodeKind.project,
                                                            OrgNode.handover_date.is_not(None)))).all()
    handed_over = [p.id for p in projects
                   if org.responsibility(p, zone).department == Department.customer_affairs]
    if not handed_over:
        return 0
    moved = (await session.scalars(
        select(Complaint.id).where(Complaint.department == Department.project_department,
                                   Complaint.node_id.in_(handed_over), Complaint.status.in_(OPEN_STATUSES))
        .with_for_update(skip_locked=True))).all()
    if not moved:
        return 0
    await session.execute(update(Complaint).where(Complaint.id.in_(moved))
                          .values(department=Department.customer_affairs, version=Complaint.version + 1)
                          .execution_options(synchronize_session=False))
    await audit.record_many(session, [
        {"action": "complaints.handover", "entity_type": ENTITY, "entity_id": c,
         "before": {"department": Department.project_department.value},
         "after": {"department": Department.customer_affairs.value}} for c in moved])
    return len(moved)


# ------------------------------------------------------------------------------ org hook


@org.live_records("complaints")
async def _complaints_at(session: AsyncSession, holder: org.Holder) -> str | None:
    column = Complaint.unit_id if holder.kind == "unit" else Complaint.node_id
    count = await session.scalar(select(func.count()).where(column == holder.id))
    return f"{count} complaints or disputes" if count else None


REQUEST_TYPES = [RESOLUTION_REQUEST]  # the domain's declaration names this list
