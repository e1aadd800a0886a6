"""Confidentiality of customer records (seed 000 §17, 信息保密管理流程): ① a record's level on
the group's one scale (app/domains/access/clearance.py, shared with archive volumes), ② the
numbered register of classified material handed over and taken back, ③-⑥ breaches found,
their remedial actions and the closing report.

A classified customer is read only by those cleared for its level at its node (403 inside
the subtree, as archive volumes; left out of lists): customers.services.get_customer."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock, numbering
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access import clearance as scale
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.records import get_at_node
from app.domains.confidentiality.models import BreachStatus, ConfidentialityBreach, ConfidentialTransfer
from app.domains.confidentiality.schemas import (
    BreachCreate,
    BreachOut,
    ClassificationIn,
    TransferCreate,
    TransferOut,
)
from app.domains.customers.models import Customer
from app.domains.customers.services import get_customer
from app.tenants.bound import tenant_id

READ, CLASSIFY = "confidentiality.read", "confidentiality.classify"
TRANSFER, BREACH, CLOSE = "confidentiality.transfer", "confidentiality.breach", "confidentiality.close"
TRANSFERS, BREACHES = "confidential_transfer", "confidentiality_breach"

register_permissions({
    READ: "See the register of confidential material handed over and of confidentiality breaches in the subtree.",
    CLASSIFY: "Set or clear the classification level of customer records in the subtree (needs clearance for "
              "the old and the new level).",
    TRANSFER: "Hand classified customer material over (numbered) and record it coming back; needs clearance "
              "for its level.",
    BREACH: "Report confidentiality breaches and record their remedial actions.",
    CLOSE: "Close a confidentiality breach with its report (the customer service manager, 000 §17 ⑥).",
})

BREACH_MOVES: Workflow[BreachStatus] = Workflow("confidentiality breach", {
    "act": ([BreachStatus.open, BreachStatus.remediating], [BreachStatus.remediating]),
    "close": ([BreachStatus.remediating], [BreachStatus.closed]),
})


async def _require_cleared(session: AsyncSession, authz: Authorizer, code: str, path: str, field: str) -> None:
    codes = await scale.level_codes(session)
    if code not in codes:
        raise ProblemError("conflict", f"{code!r} is not one of the group's classification levels "
                                       f"({', '.join(codes)}).",
                           errors=[field_error(field, "not a classification level of the group")])
    if not scale.is_cleared(authz, codes, code, path):
        raise ProblemError("forbidden", f"The level {code!r} needs clearance (one of {scale.covering(codes, code)}).")


# ------------------------------------------------------------------- ① classification

async def classify(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                   data: ClassificationIn) -> Customer:
    authz.require(CLASSIFY, path)
    if data.classification is not None:
        await _require_cleared(session, authz, data.classification, path, "classification")
    before = {"classification": customer.classification}
    customer.classification = data.classification
    return await saved(session, customer, "customers.classify", "customer", before=before, reason=data.reason,
                       snapshot=lambda c: {"classification": c.classification})


# ---------------------------------------------------------------------- ② transfers

def transfer_out(t: ConfidentialTransfer) -> TransferOut:
    return TransferOut(id=t.id, number=t.number, customer_id=t.customer_id, node_id=t.node_id, material=t.material,
                       classification=t.classification, sent_by=t.sent_by,
                       recipient_account_id=t.recipient_account_id, purpose=t.purpose, sent_at=t.sent_at,
                       returned_at=t.returned_at, returned_to=t.returned_to, version=t.version)


async def hand_over(session: AsyncSession, authz: Authorizer, data: TransferCreate) -> ConfidentialTransfer:
    from app.auth.models import Account, AccountKind

    customer, path = await get_customer(session, authz, data.customer_id, field="customerId")
    authz.require(TRANSFER, path)
    level = data.classification or customer.classification
    if level is None:
        raise ProblemError("validation", "classification: the customer is not classified; name the material's level.",
                           errors=[field_error("classification", "required for an unclassified customer")])
    await _require_cleared(session, authz, level, path, "classification")
    staff = await session.scalar(select(Account.id).where(
        Account.id == data.recipient_account_id, Account.tenant_id == await tenant_id(session),
        Account.kind == AccountKind.staff))
    if staff is None:
        raise ProblemError("not-found", f"No staff account with id {data.recipient_account_id} in this group.",
                           errors=[field_error("recipientAccountId", "no such staff account")])
    now = clock.utcnow()
    t = ConfidentialTransfer(number=await numbering.next_number(session, "BM", now.year), customer_id=customer.id,
                             node_id=customer.node_id, material=data.material, classification=level,
                             sent_by=audit.actor_of(session).id, recipient_account_id=data.recipient_account_id,
                             purpose=data.purpose, sent_at=now)
    session.add(t)
    return await saved(session, t, "confidentiality.transfer.create", TRANSFERS)


async def get_transfer(session: AsyncSession, authz: Authorizer, transfer_id: uuid.UUID, *,
                       lock: bool = False) -> tuple[ConfidentialTransfer, str]:
    return await get_at_node(session, authz, ConfidentialTransfer, transfer_id, READ, "confidential transfer",
                             lock=lock)


async def take_back(session: AsyncSession, authz: Authorizer, t: ConfidentialTransfer,
                    path: str) -> ConfidentialTransfer:
    authz.require(TRANSFER, path)
    if t.returned_at is not None:
        raise ProblemError("conflict", f"Transfer {t.number} is returned already: it needs to be outstanding.")
    before = audit.snapshot(t)
    t.returned_at, t.returned_to = clock.utcnow(), audit.actor_of(session).id
    return await saved(session, t, "confidentiality.transfer.return", TRANSFERS, before=before)


TRANSFER_SORT = {"number": ConfidentialTransfer.number, "sentAt": ConfidentialTransfer.sent_at}


async def list_transfers(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                         customer_id: uuid.UUID | None, outstanding: bool | None) -> Page[TransferOut]:
    authz.require_anywhere(READ)  # staff of the register only; nobody else learns it exists
    stmt: Select[Any] = select(ConfidentialTransfer).where(authz.visible(READ, ConfidentialTransfer.node_id))
    if customer_id is not None:
        stmt = stmt.where(ConfidentialTransfer.customer_id == customer_id)
    if outstanding is not None:
        stmt = stmt.where(ConfidentialTransfer.returned_at.is_(None) if outstanding
                          else ConfidentialTransfer.returned_at.is_not(None))
    return await paginate(session, stmt, params, sortable=TRANSFER_SORT, default_sort=["number"],
                          tiebreak=ConfidentialTransfer.id, to_schema=transfer_out)


# ----------------------------------------------------------------------- ③-⑥ breaches

def breach_out(b: ConfidentialityBreach) -> BreachOut:
    return msgspec.convert({
        "id": b.id, "number": b.number, "customerId": b.customer_id, "nodeId": b.node_id,
        "transferId": b.transfer_id, "status": b.status, "description": b.description,
        "reportedBy": b.reported_by, "actions": b.actions, "report": b.report, "closedBy": b.closed_by,
        "closedAt": b.closed_at, "createdAt": b.created_at, "version": b.version}, BreachOut, from_attributes=True)


async def report_breach(session: AsyncSession, authz: Authorizer, data: BreachCreate) -> ConfidentialityBreach:
    customer, path = await get_customer(session, authz, data.customer_id, field="customerId")
    authz.require(BREACH, path)
    if data.transfer_id is not None:
        transfer = await session.get(ConfidentialTransfer, data.transfer_id)
        if transfer is None or transfer.customer_id != customer.id:
            raise ProblemError("not-found", f"No transfer {data.transfer_id} of this customer.",
                               errors=[field_error("transferId", "no such transfer of the customer")])
    b = ConfidentialityBreach(number=await numbering.next_number(session, "XM", clock.utcnow().year),
                              customer_id=customer.id, node_id=customer.node_id, transfer_id=data.transfer_id,
                              status=BreachStatus.open, description=data.description,
                              reported_by=audit.actor_of(session).id, actions=[])
    session.add(b)
    return await saved(session, b, "confidentiality.breach.create", BREACHES)


async def get_breach(session: AsyncSession, authz: Authorizer, breach_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[ConfidentialityBreach, str]:
    return await get_at_node(session, authz, ConfidentialityBreach, breach_id, READ, "confidentiality breach",
                             lock=lock)


async def add_action(session: AsyncSession, authz: Authorizer, b: ConfidentialityBreach, path: str,
                     action: str) -> ConfidentialityBreach:
    authz.require(BREACH, path)
    before = audit.snapshot(b)
    b.status = BREACH_MOVES.to("act", b.status, BreachStatus.remediating, f"Breach {b.number}")
    b.actions = [*b.actions, {"action": action, "by": audit.actor_of(session).id,
                              "at": clock.utcnow().isoformat()}]
    return await saved(session, b, "confidentiality.breach.act", BREACHES, before=before)


async def close_breach(session: AsyncSession, authz: Authorizer, b: ConfidentialityBreach, path: str,
                       report: str) -> ConfidentialityBreach:
    authz.require(CLOSE, path)
    before = audit.snapshot(b)
    b.status = BREACH_MOVES.to("close", b.status, BreachStatus.closed, f"Breach {b.number}",
                               hint="record a remedial action first")
    b.report, b.closed_by, b.closed_at = report, audit.actor_of(session).id, clock.utcnow()
    return await saved(session, b, "confidentiality.breach.close", BREACHES, before=before)


BREACH_SORT = {"number": ConfidentialityBreach.number, "createdAt": ConfidentialityBreach.created_at}


async def list_breaches(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                        status: BreachStatus | None, customer_id: uuid.UUID | None) -> Page[BreachOut]:
    authz.require_anywhere(READ)
    stmt: Select[Any] = select(ConfidentialityBreach).where(authz.visible(READ, ConfidentialityBreach.node_id))
    if status is not None:
        stmt = stmt.where(ConfidentialityBreach.status == status)
    if customer_id is not None:
        stmt = stmt.where(ConfidentialityBreach.customer_id == customer_id)
    return await paginate(session, stmt, params, sortable=BREACH_SORT, default_sort=["number"],
                          tiebreak=ConfidentialityBreach.id, to_schema=breach_out)
