"""The registers' records: registration, details, reads and the full view."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock
from app.core.numbering import next_number
from app.core.pagination import ColumnLike, PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node
from app.domains.complaints import sla
from app.domains.complaints.models import (
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
    Register,
    Severity,
)
from app.domains.complaints.schemas import (
    CategoryRef,
    ComplaintOut,
    ComplaintSummary,
    EventOut,
    NegotiationOut,
    NoteOut,
    ProposalOut,
    RecordCreate,
    RecordUpdate,
    RelatedOut,
    SlaOut,
)
from app.domains.complaints.services.attachments import attachment_out
from app.domains.complaints.services.categories import retarget, targets_of
from app.domains.complaints.services.common import (
    ENTITY,
    READ,
    WRITE,
    actor_id,
    add_event,
    audit_change,
    children_of,
    label,
    money,
    notify,
    registrant_handler,
    sla_terms,
    state_of,
)
from app.domains.complaints.services.letters import letter_out
from app.domains.customers.models import Customer
from app.domains.customers.services import get_customer
from app.domains.grading.treatments import priority_of
from app.domains.org import services as org
from app.domains.org.models import NodeKind, OrgNode, Unit
from app.tenants import bound
from app.tenants.bound import local_year, time_zone

SERIES = {Register.complaint: "TS", Register.dispute: "JF"}  # 投诉, 纠纷
BACKDATE_LIMIT = timedelta(days=366)  # a record entered afterwards: received within the last year
CLOCK_SKEW = timedelta(minutes=5)
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's answer to FOR UPDATE NOWAIT on a locked row
SORT: dict[str, ColumnLike[Any]] = {
        "receivedAt": Complaint.received_at, "number": Complaint.number, "status": Complaint.status,
        "responseDueAt": Complaint.response_due_at, "resolutionDueAt": Complaint.resolution_due_at,
        "updatedAt": Complaint.updated_at, "severity": Complaint.severity,
        # The customer's grade's priority (seed 002: A first; ungraded customers last).
        "priority": priority_of(Complaint.customer_id)}


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
    try:
        c, path = await get_at_node(session, authz, Complaint, record_id, READ, register.value, lock=lock,
                                    nowait=nowait)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise ProblemError("conflict", f"The {register.value} {record_id} is being changed by another request: "
                                       "try again.") from None
    if c.register is not register:  # the other register's records are no records of this one
        raise ProblemError("not-found", f"No {register.value} with id {record_id}.")
    return c, path


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


def _proposal_out(p: ComplaintProposal) -> ProposalOut:
    return ProposalOut(id=p.id, round=p.round, kind=p.kind, amount=money(p.amount), item=p.item,
                       due_date=p.due_date, description=p.description, pre_negotiated=p.pre_negotiated,
                       status=p.status, approval_request_id=p.approval_request_id,
                       decision_comment=p.decision_comment, created_by=p.created_by, created_at=p.created_at,
                       decided_at=p.decided_at)


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
    proposals = await children_of(session, ComplaintProposal, c.id, ComplaintProposal.round)
    negotiations = await children_of(session, ComplaintNegotiation, c.id, ComplaintNegotiation.round)
    notes = await children_of(session, ComplaintNote, c.id, ComplaintNote.at)
    attachments = await children_of(session, ComplaintAttachment, c.id, ComplaintAttachment.created_at)
    letters = await children_of(session, CapaLetter, c.id, CapaLetter.created_at)
    events = await children_of(session, ComplaintEvent, c.id, ComplaintEvent.at)
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


async def active_category(session: AsyncSession, category_id: uuid.UUID) -> ComplaintCategory:
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
        before = state_of(other)
        other.joint_group = other.id
        add_event(session, other, "joint", note="Joint with another record.")
        await audit_change(session, other, "link", before, {"jointGroup": str(other.id)})
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


async def new_record(session: AsyncSession, *, register: Register, channel: ComplaintChannel, project: OrgNode,
                     category: ComplaintCategory, received_at: datetime, subject: str, description: str,
                     customer_id: uuid.UUID | None, unit_id: uuid.UUID | None, contact_note: str | None,
                     severity: Severity, counterparty: str | None, joint_group: uuid.UUID | None,
                     handler_id: str | None) -> Complaint:
    calendar, policy, defaults = await sla_terms(session)
    response, resolution = await targets_of(session, category.id, defaults)
    zone = await time_zone(session)
    c = Complaint(
        register=register, number=await next_number(session, SERIES[register], await local_year(session, received_at)),
        channel=channel, customer_id=customer_id, contact_note=contact_note, node_id=project.id, unit_id=unit_id,
        category_id=category.id, quality=category.quality, severity=severity, subject=subject,
        description=description, counterparty=counterparty, joint_group=joint_group,
        status=ComplaintStatus.received, handler_id=handler_id, filed_by=actor_id(session),
        department=org.responsibility(project, zone).department, received_at=received_at,
        response_target_minutes=response, resolution_target_minutes=resolution, paused_seconds=0,
        reopen_count=0, escalation_level=0)
    sla.schedule(c, calendar, policy)
    session.add(c)
    await session.flush()
    await session.refresh(c)
    add_event(session, c, "registered", to=ComplaintStatus.received, public=True)
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
    category = await active_category(session, data.category_id)
    handler = (await staff_subject(session, data.handler_id, "handlerId") if data.handler_id
               else await registrant_handler(session, authz))
    received_at = _received_at(data.received_at, clock.utcnow())
    group = await _joint_group(session, authz, register, None, data.joint_with) if data.joint_with else None
    c = await new_record(session, register=register, channel=data.channel, project=project, category=category,
                         received_at=received_at, subject=data.subject, description=data.description,
                         customer_id=data.customer_id, unit_id=data.unit_id, contact_note=data.contact_note,
                         severity=data.severity, counterparty=data.counterparty, joint_group=group,
                         handler_id=handler)
    if handler is not None and handler != actor_id(session):
        await notify(session, [handler], "complaint.assigned", c, f"{label(c)} assigned to you",
                     f"{label(c)}: {c.subject}")
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
        category = await active_category(session, data.category_id)
        c.category_id, c.quality = category.id, category.quality
        add_event(session, c, "reclassified", note=f"{category.code} {category.name}")
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
            add_event(session, c, "assigned", note=new)
            if new is not None and new != actor_id(session):
                await notify(session, [new], "complaint.assigned", c, f"{label(c)} assigned to you",
                             f"{label(c)}: {c.subject}")
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


@org.live_records("complaints")
async def _complaints_at(session: AsyncSession, holder: org.Holder) -> str | None:
    column = Complaint.unit_id if holder.kind == "unit" else Complaint.node_id
    count = await session.scalar(select(func.count()).where(column == holder.id))
    return f"{count} complaints or disputes" if count else None
