"""Home owners' self-service: their own complaints, filed, followed, added to and rated."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.domains.access.authz import Authorizer
from app.domains.complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintNote,
    ComplaintProposal,
    ComplaintStatus,
    ProposalStatus,
    Register,
    Severity,
)
from app.domains.complaints.schemas import (
    OwnCategoryOut,
    OwnComplaintCreate,
    OwnComplaintOut,
    OwnComplaintSummary,
    OwnEventOut,
    OwnNoteIn,
    OwnNoteOut,
    OwnProposalOut,
    RatingIn,
)
from app.domains.complaints.services.attachments import attachment_out
from app.domains.complaints.services.categories import CATEGORY_SORT
from app.domains.complaints.services.common import (
    ENTITY,
    actor_id,
    add_event,
    audit_change,
    children_of,
    label,
    money,
    notify,
    state_of,
)
from app.domains.complaints.services.loop import make_move
from app.domains.complaints.services.records import SORT, active_category, new_record
from app.domains.customers.models import Customer, CustomerUnit
from app.domains.org.models import OrgNode, Unit

OWNER_CATEGORY = "OTHER"  # where an owner's complaint waits to be classified


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
    proposals = [p for p in await children_of(session, ComplaintProposal, c.id, ComplaintProposal.round)
                 if p.status in (ProposalStatus.approved, ProposalStatus.agreed, ProposalStatus.not_agreed)]
    notes = [n for n in await children_of(session, ComplaintNote, c.id, ComplaintNote.at) if not n.internal]
    attachments = [a for a in await children_of(session, ComplaintAttachment, c.id, ComplaintAttachment.created_at)
                   if a.by_owner]
    events = [e for e in await children_of(session, ComplaintEvent, c.id, ComplaintEvent.at) if e.public]
    return OwnComplaintOut(
        id=c.id, register=c.register, number=c.number, unit_id=c.unit_id, category_name=category.name,
        subject=c.subject, description=c.description, status=c.status, received_at=c.received_at,
        first_responded_at=c.first_responded_at, resolved_at=c.resolved_at, closed_at=c.closed_at,
        handling_result=c.handling_result, feedback_opinion=c.feedback_opinion, satisfaction=c.satisfaction,
        case_reference=c.case_reference,
        proposals=[OwnProposalOut(round=p.round, kind=p.kind, amount=money(p.amount), item=p.item,
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
        category = await active_category(session, data.category_id)
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
    return await new_record(session, register=Register.complaint, channel=ComplaintChannel.app, project=project,
                            category=category, received_at=clock.utcnow(), subject=data.subject,
                            description=data.description, customer_id=customer_id, unit_id=unit.id,
                            contact_note=None, severity=Severity.medium, counterparty=None, joint_group=None,
                            handler_id=None)


async def add_own_note(session: AsyncSession, c: Complaint, data: OwnNoteIn) -> Complaint:
    note = ComplaintNote(complaint_id=c.id, at=clock.utcnow(), author_id=actor_id(session), by_owner=True,
                         internal=False, body=data.body)
    session.add(note)
    await session.flush()
    await audit.record(session, action="complaints.owner_note", entity_type=ENTITY, entity_id=c.id,
                       after={"noteId": str(note.id), "body": data.body})
    await notify(session, [c.handler_id], "complaint.owner_note", c, f"{label(c)}: the customer added information",
                 data.body[:2000])
    return c


async def rate(session: AsyncSession, c: Complaint, data: RatingIn) -> Complaint:
    """The owner rates the result: it closes a record awaiting feedback; a closed one not yet
    rated takes the rating."""
    before = state_of(c)
    if c.status is ComplaintStatus.feedback:
        c.feedback_opinion = data.opinion or c.feedback_opinion
        c.satisfaction, c.closed_at = data.satisfaction, clock.utcnow()
        await make_move(session, c, "feedback", ComplaintStatus.closed, "rated", note=data.opinion,
                        data={"satisfaction": data.satisfaction})
    elif c.status is ComplaintStatus.closed and c.satisfaction is None:
        c.satisfaction = data.satisfaction
        c.feedback_opinion = data.opinion or c.feedback_opinion
        add_event(session, c, "rated", note=data.opinion, public=True, data={"satisfaction": data.satisfaction})
    else:
        raise ProblemError("conflict", f"{label(c)} is {c.status.value}"
                                       + (" and rated already" if c.satisfaction is not None else "")
                                       + ": a rating follows the handling of the complaint.")
    await audit_change(session, c, "rate", before, {"satisfaction": data.satisfaction, "opinion": data.opinion})
    await notify(session, [c.handler_id], "complaint.rated", c, f"{label(c)} rated {data.satisfaction}/5",
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
