"""Corrective actions: work-liaison letters sending a closed record's root cause to a
responsible department, and its response."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.domains.access.authz import Authorizer
from app.domains.complaints.models import (
    CapaLetter,
    Complaint,
    ComplaintStatus,
    LetterStatus,
)
from app.domains.complaints.schemas import (
    CapaLetterIn,
    CapaLetterOut,
    LetterResponseIn,
)
from app.domains.complaints.services.common import LETTER, READ, WRITE, actor_id, add_event, label, notify
from app.domains.org.models import OrgNode
from app.tenants import bound
from app.tenants.bound import local_year

LETTER_SERIES = "LXH"  # 联系函
LETTER_SORT = {"dueDate": CapaLetter.due_date, "createdAt": CapaLetter.created_at, "number": CapaLetter.number}


def letter_out(letter: CapaLetter, complaint_number: str, today: date) -> CapaLetterOut:
    return CapaLetterOut(id=letter.id, number=letter.number, complaint_id=letter.complaint_id,
                         complaint_number=complaint_number, department=letter.department,
                         assignee_id=letter.assignee_id, root_cause=letter.root_cause,
                         requested_action=letter.requested_action, due_date=letter.due_date, status=letter.status,
                         overdue=letter.status is LetterStatus.sent and letter.due_date < today,
                         response=letter.response, responded_at=letter.responded_at,
                         responded_by=letter.responded_by, created_by=letter.created_by,
                         created_at=letter.created_at, version=letter.version)


async def send_letter(session: AsyncSession, authz: Authorizer, c: Complaint, path: str,
                      data: CapaLetterIn) -> CapaLetter:
    """A work-liaison letter sending a closed record's root cause to a responsible department."""
    authz.require(WRITE, path)
    if c.status is not ComplaintStatus.closed:
        raise ProblemError("conflict", f"{label(c)} is {c.status.value}: corrective action follows a closed record.")
    root_cause = data.root_cause or c.cause
    if root_cause is None:
        raise ProblemError("conflict", f"{label(c)} has no recorded cause: give the root cause.",
                           errors=[field_error("rootCause", "required: the record has no cause")])
    assignee = await staff_subject(session, data.assignee_id, "assigneeId") if data.assignee_id else None
    letter = CapaLetter(complaint_id=c.id, number=await next_number(
        session, LETTER_SERIES, await local_year(session, clock.utcnow())), department=data.department,
        assignee_id=uuid.UUID(assignee) if assignee else None, root_cause=root_cause,
        requested_action=data.requested_action, due_date=data.due_date, status=LetterStatus.sent,
        created_by=actor_id(session))
    session.add(letter)
    await session.flush()
    await session.refresh(letter)
    add_event(session, c, "capa_letter", note=f"{letter.number} to {letter.department}",
              data={"letterId": str(letter.id)})
    await audit.record(session, action="complaints.capa_letter.send", entity_type=LETTER, entity_id=letter.id,
                       after={**audit.snapshot(letter), "complaintNumber": c.number})
    if assignee is not None:
        await notify(session, [assignee], "complaint.capa_letter", c, f"Work-liaison letter {letter.number}",
                     f"Root cause of {label(c)}: {root_cause[:1000]}\nRequested: {data.requested_action[:1000]}\n"
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
    actor = actor_id(session)
    if not (letter.assignee_id is not None and actor == str(letter.assignee_id)):
        authz.require(WRITE, path)
    if letter.status is not LetterStatus.sent:
        raise ProblemError("conflict", f"Letter {letter.number} was responded to already.")
    before = audit.snapshot(letter)
    letter.status, letter.response = LetterStatus.responded, data.response
    letter.responded_at, letter.responded_by = clock.utcnow(), actor
    await session.flush()
    await session.refresh(letter)
    add_event(session, c, "capa_response", note=f"{letter.number}: {data.response[:1000]}")
    await session.flush()
    await audit.record(session, action="complaints.capa_letter.respond", entity_type=LETTER, entity_id=letter.id,
                       before=before, after=audit.snapshot(letter))
    return letter
