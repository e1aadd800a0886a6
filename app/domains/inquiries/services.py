"""Inquiries under first-responder responsibility (首问负责制).

The employee who records an inquiry owns it until they answer it or transfer it with a
stated need; every transfer is kept and counted, and a transfer past the tenant's limit
needs a supervisor (``inquiries.supervise``), so that an inquiry is not passed around.
Which department answers for it follows the project's handover date (org responsibility);
``switch_at_handover`` moves open inquiries when that date comes.
"""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import tenant_account
from app.auth.principal import Principal
from app.core import audit, clock, tenant_settings
from app.core.numbering import next_number
from app.core.pagination import ColumnLike, PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.domains.access.authz import Authorizer, load_authorizer, register_permissions
from app.domains.customers.services import get_customer
from app.domains.grading.treatments import priority_of
from app.domains.inquiries.models import Inquiry, InquiryStatus, InquiryTransfer
from app.domains.inquiries.schemas import AnswerIn, InquiryCreate, InquiryOut, InquirySummary, TransferIn
from app.domains.org.models import NodeKind, OrgNode
from app.domains.org.schemas import Department
from app.domains.org.services import responsibility
from app.tenants.bound import time_zone

READ, WRITE, SUPERVISE = "inquiries.read", "inquiries.write", "inquiries.supervise"
ENTITY = "inquiry"
SERIES = "ZX"  # 咨询

register_permissions({
    READ: "See inquiries of the projects in the subtree.",
    WRITE: "Record, transfer and answer inquiries in the subtree.",
    SUPERVISE: "Allow a transfer beyond the tenant's transfer limit.",
})

TRANSFER_LIMIT = tenant_settings.declare(
    "inquiries.transfer_limit", 2,
    "How many times an inquiry may be transferred before a further transfer needs inquiries.supervise.")

# priority: the customer's grade's (seed 002: A first; ungraded customers and anonymous inquiries last).
SORT: dict[str, ColumnLike[Any]] = {
    "createdAt": Inquiry.created_at, "promisedReplyAt": Inquiry.promised_reply_at, "number": Inquiry.number,
    "priority": priority_of(Inquiry.customer_id)}


def _snapshot(i: Inquiry) -> dict[str, Any]:
    return {"status": i.status.value, "ownerId": i.owner_id, "department": i.department.value,
            "transferCount": i.transfer_count, "promisedReplyAt": i.promised_reply_at.isoformat()}


async def get_inquiry(session: AsyncSession, authz: Authorizer, inquiry_id: uuid.UUID, *,
                      lock: bool = False) -> tuple[Inquiry, str]:
    """An inquiry the caller may read, with its project's path; any other id answers 404."""
    stmt = select(Inquiry, OrgNode.path).join(OrgNode, OrgNode.id == Inquiry.node_id).where(Inquiry.id == inquiry_id)
    if lock:
        stmt = stmt.with_for_update(of=Inquiry)
    row = (await session.execute(stmt)).first()
    if row is None or not authz.can(READ, row[1]):
        raise ProblemError("not-found", f"No inquiry with id {inquiry_id}.")
    return row[0], row[1]


async def inquiry_out(session: AsyncSession, inquiry: Inquiry) -> InquiryOut:
    transfers = (await session.scalars(select(InquiryTransfer).where(InquiryTransfer.inquiry_id == inquiry.id)
                                       .order_by(InquiryTransfer.at, InquiryTransfer.id))).all()
    return InquiryOut.of(inquiry, list(transfers), clock.utcnow())


async def list_inquiries(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                         status: InquiryStatus | None, overdue: bool | None, mine: bool | None,
                         project_id: uuid.UUID | None, department: Department | None,
                         customer_id: uuid.UUID | None = None) -> Page[InquirySummary]:
    now = clock.utcnow()
    stmt: Select[Any] = select(Inquiry).where(authz.visible(READ, Inquiry.node_id))
    if status is not None:
        stmt = stmt.where(Inquiry.status == status)
    if overdue is not None:
        late = (Inquiry.status == InquiryStatus.open) & (Inquiry.promised_reply_at < now)
        stmt = stmt.where(late if overdue else ~late)
    if mine is not None:
        me = Inquiry.owner_id == authz.principal.subject
        stmt = stmt.where(me if mine else ~me)
    if project_id is not None:
        stmt = stmt.where(Inquiry.node_id == project_id)
    if department is not None:
        stmt = stmt.where(Inquiry.department == department)
    if customer_id is not None:
        stmt = stmt.where(Inquiry.customer_id == customer_id)
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["promisedReplyAt"],
                          tiebreak=Inquiry.id, to_schema=lambda i: InquirySummary.of(i, now))


async def create_inquiry(session: AsyncSession, authz: Authorizer, data: InquiryCreate) -> Inquiry:
    project = await session.scalar(select(OrgNode).where(OrgNode.id == data.project_id,
                                                         OrgNode.kind == NodeKind.project))
    if project is None or not (authz.can(READ, project.path) or authz.can(WRITE, project.path)):
        raise ProblemError("not-found", f"No project with id {data.project_id}.",
                           errors=[field_error("projectId", "no such project")])
    authz.require(WRITE, project.path)
    if data.customer_id is not None:
        try:
            await get_customer(session, authz, data.customer_id)
        except ProblemError as exc:
            if exc.slug != "not-found":
                raise
            raise ProblemError("not-found", f"No customer with id {data.customer_id}.",
                               errors=[field_error("customerId", "no such customer")]) from None
    # A promise already past is accepted: an inquiry entered after the fact is simply overdue.
    now = clock.utcnow()
    zone = await time_zone(session)
    inquiry = Inquiry(
        number=await next_number(session, SERIES, now.astimezone(ZoneInfo(zone)).year), channel=data.channel,
        customer_id=data.customer_id, contact_note=data.contact_note, node_id=project.id, subject=data.subject,
        description=data.description, owner_id=authz.principal.subject,
        department=responsibility(project, zone).department, promised_reply_at=data.promised_reply_at,
        status=InquiryStatus.open, transfer_count=0)
    session.add(inquiry)
    await session.flush()
    await session.refresh(inquiry)
    await audit.record(session, action="inquiries.create", entity_type=ENTITY, entity_id=inquiry.id,
                       after={**_snapshot(inquiry), "number": inquiry.number, "channel": inquiry.channel.value})
    return inquiry


def _require_open(inquiry: Inquiry) -> None:
    if inquiry.status != InquiryStatus.open:
        raise ProblemError("conflict", f"Inquiry {inquiry.number} is {inquiry.status.value}.")


async def transfer(session: AsyncSession, authz: Authorizer, inquiry: Inquiry, path: str, data: TransferIn) -> Inquiry:
    """Hand the inquiry on with what the next owner must do; past the limit only a supervisor may."""
    authz.require(WRITE, path)
    _require_open(inquiry)
    to_owner = str(data.to_owner_id)
    if to_owner == inquiry.owner_id:
        raise ProblemError("validation", "The inquiry already belongs to that owner.",
                           errors=[field_error("toOwnerId", "is the current owner")])
    await _check_owner(session, data.to_owner_id, path)
    limit, _ = await tenant_settings.get(session, TRANSFER_LIMIT)
    if inquiry.transfer_count >= int(limit) and not authz.can(SUPERVISE, path):
        raise ProblemError("forbidden", f"Inquiry {inquiry.number} was transferred {inquiry.transfer_count} times, "
                                        f"the limit is {limit}: a further transfer needs {SUPERVISE}.")
    before = _snapshot(inquiry)
    session.add(InquiryTransfer(inquiry_id=inquiry.id, from_owner=inquiry.owner_id, to_owner=to_owner,
                                need=data.need, at=clock.utcnow()))
    inquiry.owner_id = to_owner
    inquiry.transfer_count += 1
    await session.flush()
    await audit.record(session, action="inquiries.transfer", entity_type=ENTITY, entity_id=inquiry.id,
                       before=before, after={**_snapshot(inquiry), "need": data.need})
    return inquiry


async def _check_owner(session: AsyncSession, account_id: uuid.UUID, path: str) -> None:
    """The next owner: an active staff account of the group who may handle the project's
    inquiries (else the inquiry would sit with someone who cannot see it)."""
    account = await tenant_account(session, account_id, "toOwnerId")
    # Their grants, as a token of theirs would load them (no scopes: only roles count here).
    principal = Principal(subject=str(account.id), client_id="", scopes=frozenset(),
                          tenant=session.info["tenant_schema"].removeprefix("t_"), token_id="", expires_at=0)
    if not (await load_authorizer(session, principal)).can(WRITE, path):
        raise ProblemError("validation", f"The account {account.username} may not handle inquiries of this "
                                         f"project (it needs {WRITE} there).",
                           errors=[field_error("toOwnerId", f"lacks {WRITE} at the project")])


async def answer(session: AsyncSession, authz: Authorizer, inquiry: Inquiry, path: str, data: AnswerIn) -> Inquiry:
    authz.require(WRITE, path)
    _require_open(inquiry)
    before = _snapshot(inquiry)
    inquiry.status, inquiry.answer, inquiry.answered_at = InquiryStatus.answered, data.answer, clock.utcnow()
    await session.flush()
    await audit.record(session, action="inquiries.answer", entity_type=ENTITY, entity_id=inquiry.id,
                       before=before, after={**_snapshot(inquiry), "answer": data.answer})
    return inquiry


async def switch_at_handover(session: AsyncSession) -> int:
    """Move open inquiries of projects whose handover date has come (tenant time zone) from
    the project department to customer affairs, each audited; returns how many moved.
    Idempotent: a second run finds nothing left to move."""
    zone = await time_zone(session)
    rows = (await session.execute(
        select(Inquiry, OrgNode).join(OrgNode, OrgNode.id == Inquiry.node_id)
        .where(Inquiry.status == InquiryStatus.open, Inquiry.department == Department.project_department,
               OrgNode.handover_date.is_not(None))
        .with_for_update(of=Inquiry, skip_locked=True))).all()
    moved = [i for i, project in rows if responsibility(project, zone).department == Department.customer_affairs]
    if not moved:
        return 0
    await session.execute(update(Inquiry).where(Inquiry.id.in_([i.id for i in moved]))
                          .values(department=Department.customer_affairs, version=Inquiry.version + 1)
                          .execution_options(synchronize_session=False))
    await audit.record_many(session, [
        {"action": "inquiries.handover", "entity_type": ENTITY, "entity_id": i.id,
         "before": {"department": Department.project_department.value},
         "after": {"department": Department.customer_affairs.value}} for i in moved])
    return len(moved)
