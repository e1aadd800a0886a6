"""The company's guarantees on owners' mortgage loans (seed 004 §4.5.3).

A guarantee is recorded per unit and owner with the bank, the loan and the guarantee's kind
and period; the loan account number is sealed. It becomes **releasable** when both hold: the
owner's certificate for the unit is issued (their certificate case is issued or delivered) and
the mortgage registration is done. That is read each time from the case and the registration,
never a flag of its own, so a case moving on makes its guarantee releasable at once.

The release is requested to finance through the approval engine (``guarantee_release``, finance
at the branch by default); a request before both conditions hold is refused naming the missing
one. Once approved, the release is recorded with the bank's confirmation. Finance reads the
releasable list and the contingent liability (the loans still guaranteed) by bank and project.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.audit import snapshot
from app.core.keystore import tenant_keys
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import Approvable, approvable_type, request_status, shown_status
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.schemas import Resubmission
from app.domains.certificates import documents
from app.domains.certificates.cases import owner_of, unit_for
from app.domains.certificates.models import (
    CaseStage,
    CertificateCase,
    DocumentKind,
    DocumentStatus,
    Guarantee,
    GuaranteeDocument,
    GuaranteeKind,
    GuaranteeStage,
)
from app.domains.certificates.permissions import GUARANTEE_READ, GUARANTEE_WRITE
from app.domains.certificates.schemas import (
    Conditions,
    GuaranteeCreate,
    GuaranteeOut,
    GuaranteeUpdate,
    Liability,
    LiabilityRow,
    LiabilityTotal,
    Registration,
    Release,
    ReleaseRequest,
)
from app.domains.org.models import OrgNode
from app.tenants.bound import local_year

GUARANTEE = "mortgage_guarantee"
RELEASE_TYPE = "guarantee_release"
LOAN_FIELD = "loan_account"
CENT = Decimal("0.01")
SORT = {"createdAt": Guarantee.created_at, "number": Guarantee.number, "loanAmount": Guarantee.loan_amount}
ISSUED = (CaseStage.issued, CaseStage.delivered)


def normalise_account(raw: str) -> str:
    return raw.replace("-", "").upper()


def _snap(g: Guarantee) -> dict[str, Any]:
    return snapshot(g, exclude=frozenset({"loan_account_sealed", "loan_account_index"}))


def certificate_issued() -> ColumnElement[bool]:
    """The guarantee's owner has their certificate for the unit."""
    return exists().where(CertificateCase.unit_id == Guarantee.unit_id,
                          CertificateCase.customer_id == Guarantee.customer_id, CertificateCase.stage.in_(ISSUED))


def releasable() -> ColumnElement[bool]:
    """Both conditions hold, and the guarantee is neither released nor under a pending or
    approved release request."""
    request_closed = exists().where(ApprovalRequest.id == Guarantee.approval_request_id,
                                    ApprovalRequest.status.in_([RequestStatus.rejected, RequestStatus.withdrawn]))
    return and_(or_(Guarantee.stage == GuaranteeStage.active,
                    and_(Guarantee.stage == GuaranteeStage.submitted, request_closed)),
                Guarantee.registration_done_on.is_not(None), certificate_issued())


async def conditions(session: AsyncSession, g: Guarantee) -> Conditions:
    case = (await session.execute(
        select(CertificateCase.id, CertificateCase.issued_on)
        .where(CertificateCase.unit_id == g.unit_id, CertificateCase.customer_id == g.customer_id,
               CertificateCase.stage.in_(ISSUED)).order_by(CertificateCase.issued_on).limit(1))).first()
    return Conditions(certificate_issued=case is not None, certificate_case_id=case[0] if case else None,
                      certificate_issued_on=case[1] if case else None,
                      mortgage_registered=g.registration_done_on is not None, registered_on=g.registration_done_on)


def _status(g: Guarantee, request: RequestStatus | None) -> str:
    return shown_status(g.stage.value, request)


async def guarantee_out(session: AsyncSession, g: Guarantee) -> GuaranteeOut:
    found = await conditions(session, g)
    status = await request_status(session, g.approval_request_id)
    withdrawn = g.stage is GuaranteeStage.submitted and status in (RequestStatus.withdrawn, RequestStatus.rejected)
    return GuaranteeOut(
        id=g.id, number=g.number, node_id=g.node_id, unit_id=g.unit_id, customer_id=g.customer_id, bank=g.bank,
        loan_account="****" + g.loan_account_last4, loan_amount=g.loan_amount, kind=g.kind.value,
        starts_on=g.starts_on, ends_on=g.ends_on, registration_number=g.registration_number,
        status=_status(g, status),  # type: ignore[arg-type]
        releasable=(g.stage is GuaranteeStage.active or withdrawn) and found.certificate_issued
        and found.mortgage_registered,
        conditions=found, approval_request_id=g.approval_request_id, released_on=g.released_on,
        bank_confirmation=g.bank_confirmation, release_document_id=g.release_document_id, release_note=g.release_note,
        documents=[documents.document_out(d) for d in await documents.list_documents(session, g.id)],
        created_at=g.created_at, version=g.version)


async def get_guarantee(session: AsyncSession, authz: Authorizer, guarantee_id: uuid.UUID, *,
                        lock: bool = False) -> tuple[Guarantee, str]:
    return await get_at_node(session, authz, Guarantee, guarantee_id, GUARANTEE_READ, "guarantee", lock=lock)


async def list_guarantees(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                          is_releasable: bool | None, released: bool | None, bank: str | None,
                          unit_id: uuid.UUID | None, node_id: uuid.UUID | None) -> Page[GuaranteeOut]:
    stmt: Select[Any] = select(Guarantee).where(authz.visible(GUARANTEE_READ, Guarantee.node_id))
    if is_releasable is not None:
        stmt = stmt.where(releasable() if is_releasable else ~releasable())
    if released is not None:
        stmt = stmt.where((Guarantee.stage == GuaranteeStage.released) if released
                          else (Guarantee.stage != GuaranteeStage.released))
    if bank is not None:
        stmt = stmt.where(Guarantee.bank == bank)
    if unit_id is not None:
        stmt = stmt.where(Guarantee.unit_id == unit_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Guarantee.node_id, node_id))
    page = await paginate(session, stmt, params, sortable=SORT, default_sort=["-createdAt"], tiebreak=Guarantee.id,
                          to_schema=lambda g: g)
    return Page(items=[await guarantee_out(session, g) for g in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def create_guarantee(session: AsyncSession, authz: Authorizer, data: GuaranteeCreate) -> Guarantee:
    unit, project = await unit_for(session, authz, data.unit_id, GUARANTEE_WRITE)
    customer = await owner_of(session, authz, unit, data.customer_id, GUARANTEE_WRITE)
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise ProblemError("conflict", "The guarantee ends before it starts.",
                           errors=[field_error("endsOn", "before startsOn")])
    keys = await tenant_keys(session)
    account = normalise_account(data.loan_account)
    index = keys.blind_index(LOAN_FIELD, account)
    taken = await session.scalar(select(Guarantee.number).where(Guarantee.loan_account_index == index))
    if taken is not None:
        raise ProblemError("conflict", f"Guarantee {taken} covers this loan account already.",
                           errors=[field_error("loanAccount", f"guaranteed by {taken}")])
    g = Guarantee(number=await next_number(session, "DB", await local_year(session, clock.utcnow())),
                  node_id=project.id, unit_id=unit.id, customer_id=customer.id, bank=data.bank,
                  loan_account_sealed=keys.seal(LOAN_FIELD, account), loan_account_index=index,
                  loan_account_last4=account[-4:], loan_amount=Decimal(data.loan_amount).quantize(CENT),
                  kind=GuaranteeKind(data.kind), starts_on=data.starts_on, ends_on=data.ends_on,
                  stage=GuaranteeStage.active)
    session.add(g)
    return await saved(session, g, "guarantees.guarantee.create", GUARANTEE, snapshot=_snap)


async def update_guarantee(session: AsyncSession, authz: Authorizer, g: Guarantee, path: str,
                           data: GuaranteeUpdate) -> Guarantee:
    """Correct a guarantee's terms (audited with the reason): not once released, nor while its
    release is before finance or approved (what finance decides on must not move under it)."""
    authz.require(GUARANTEE_WRITE, path)
    status = await request_status(session, g.approval_request_id)
    if g.stage is GuaranteeStage.released or (g.stage is GuaranteeStage.submitted
                                              and status in (RequestStatus.pending, RequestStatus.approved)):
        raise ProblemError("conflict", f"Guarantee {g.number} is {_status(g, status)}: its terms are corrected while "
                                       "it is active (or its release was rejected or withdrawn).")
    changes = provided(data)
    changes.pop("reason")
    if "registration_number" in changes and g.registration_done_on is None:
        raise ProblemError("conflict", f"Guarantee {g.number} has no mortgage registration to correct.",
                           errors=[field_error("registrationNumber", "no registration recorded")])
    if "loan_amount" in changes:
        changes["loan_amount"] = Decimal(str(changes["loan_amount"])).quantize(CENT)
    if "kind" in changes:
        changes["kind"] = GuaranteeKind(str(changes["kind"]))
    starts, ends = changes.get("starts_on", g.starts_on), changes.get("ends_on", g.ends_on)
    if ends is not None and ends < starts:  # type: ignore[operator]
        raise ProblemError("conflict", "The guarantee ends before it starts.",
                           errors=[field_error("endsOn" if "ends_on" in changes else "startsOn", "after endsOn")])
    before = _snap(g)
    for name, value in changes.items():
        setattr(g, name, value)
    g.updated_at = clock.utcnow()
    return await saved(session, g, "guarantees.guarantee.update", GUARANTEE, before=before, snapshot=_snap,
                       reason=data.reason)


async def register_mortgage(session: AsyncSession, authz: Authorizer, g: Guarantee, path: str,
                            data: Registration) -> Guarantee:
    authz.require(GUARANTEE_WRITE, path)
    if g.stage is GuaranteeStage.released:
        raise ProblemError("conflict", f"Guarantee {g.number} is released: its registration is final.")
    before = _snap(g)
    g.registration_done_on, g.registration_number = data.registered_on, data.registration_number
    return await saved(session, g, "guarantees.guarantee.registration", GUARANTEE, before=before, snapshot=_snap)


async def request_release(session: AsyncSession, authz: Authorizer, g: Guarantee, path: str,
                          data: ReleaseRequest) -> Guarantee:
    """To finance through the approval engine, once both conditions hold (409 naming the
    missing ones otherwise); a rejected request goes round again, a withdrawn one anew."""
    authz.require(GUARANTEE_WRITE, path)
    status = await request_status(session, g.approval_request_id)
    again = g.stage is GuaranteeStage.submitted and status in (RequestStatus.rejected, RequestStatus.withdrawn)
    if not (g.stage is GuaranteeStage.active or again):
        raise ProblemError("conflict", f"Guarantee {g.number} is {_status(g, status)}: a release is requested "
                                       "for an active guarantee, or again after a rejection or withdrawal.")
    found = await conditions(session, g)
    missing = {name: why for name, why, holds in [
        ("conditions.certificateIssued", "the owner's certificate is not issued yet", found.certificate_issued),
        ("conditions.mortgageRegistered", "the mortgage registration is not done yet", found.mortgage_registered),
    ] if not holds}
    if missing:
        raise ProblemError("conflict", f"Guarantee {g.number} is not releasable: " + "; ".join(missing.values()) + ".",
                           errors=[field_error(name, why) for name, why in missing.items()])
    before = _snap(g)
    if status is RequestStatus.rejected and g.stage is GuaranteeStage.submitted:
        assert g.approval_request_id is not None
        await approvals.resubmit(session, g.approval_request_id, Resubmission(
            reason=data.note or "Requested again.", amount=str(g.loan_amount)))
    else:
        request = await approvals.create_request(
            session, request_type=RELEASE_TYPE, title=f"解除按揭担保 {g.number} {g.bank}"[:300],
            payload={"guaranteeId": str(g.id)}, amount=g.loan_amount, reason=data.note)
        g.approval_request_id = request.id
    g.stage = GuaranteeStage.submitted
    g.updated_at = clock.utcnow()
    return await saved(session, g, "guarantees.guarantee.release_request", GUARANTEE, before=before,
                       snapshot=_snap, reason=data.note)


async def record_release(session: AsyncSession, authz: Authorizer, g: Guarantee, path: str,
                         data: Release) -> Guarantee:
    authz.require(GUARANTEE_WRITE, path)
    status = await request_status(session, g.approval_request_id)
    if not (g.stage is GuaranteeStage.submitted and status is RequestStatus.approved):
        raise ProblemError("conflict", f"Guarantee {g.number} is {_status(g, status)}: the release is recorded "
                                       "once finance approved it.")
    if data.released_on < g.starts_on:
        raise ProblemError("conflict", "The release is before the guarantee started.",
                           errors=[field_error("releasedOn", f"before {g.starts_on}")])
    confirmation = await _confirmation(session, g, data.confirmation_document_id)
    before = _snap(g)
    g.stage, g.released_on, g.release_document_id = GuaranteeStage.released, data.released_on, confirmation.id
    g.bank_confirmation, g.release_note = data.bank_confirmation, data.note
    return await saved(session, g, "guarantees.guarantee.release", GUARANTEE, before=before, snapshot=_snap)


async def _confirmation(session: AsyncSession, g: Guarantee, document_id: uuid.UUID | None) -> GuaranteeDocument:
    """The bank's release confirmation a release is recorded with: a stored (verified) upload
    of kind release_confirmation of this guarantee, the one named or the newest (409 naming
    what is missing otherwise)."""
    stmt = select(GuaranteeDocument).where(GuaranteeDocument.guarantee_id == g.id,
                                           GuaranteeDocument.kind == DocumentKind.release_confirmation,
                                           GuaranteeDocument.status == DocumentStatus.stored)
    if document_id is not None:
        stmt = stmt.where(GuaranteeDocument.id == document_id)
    found = await session.scalar(stmt.order_by(GuaranteeDocument.completed_at.desc()).limit(1))
    if found is None:
        field = "confirmationDocumentId" if document_id is not None else "releaseConfirmation"
        raise ProblemError("conflict", f"Guarantee {g.number} has no verified release confirmation"
                                       f"{' with that id' if document_id else ''}: upload the bank's confirmation "
                                       "(a document of kind release_confirmation) and complete its upload first.",
                           errors=[field_error(field, "no stored release_confirmation document")])
    return found


GUARANTEE_RECORD = Approvable(Guarantee, key="guaranteeId", entity=GUARANTEE, what="guarantee")


async def _release_payload(session: AsyncSession, g: Guarantee) -> dict[str, Any]:
    found = await conditions(session, g)
    return {"guaranteeId": str(g.id), "number": g.number, "bank": g.bank, "loanAmount": str(g.loan_amount),
            "loanAccount": "****" + g.loan_account_last4, "certificateIssuedOn": str(found.certificate_issued_on),
            "registeredOn": str(found.registered_on), "registrationNumber": g.registration_number}


RELEASE_REQUEST = approvable_type(
    RELEASE_TYPE, "Release of a mortgage guarantee", GUARANTEE_RECORD, describe=_release_payload,
    # 004 §4.5.3: the CRM department works with finance to release the guarantee.
    default_chain=[{"name": "Finance", "role": "finance", "at": "branch"}],
    default_roles={"finance": "Finance"},
)


async def liability(session: AsyncSession, authz: Authorizer, *, node_id: uuid.UUID | None) -> Liability:
    """The loans the company still guarantees (not released), by bank and project."""
    stmt = (select(Guarantee.bank, Guarantee.node_id, OrgNode.name, func.count(), func.sum(Guarantee.loan_amount))
            .join(OrgNode, OrgNode.id == Guarantee.node_id)
            .where(authz.visible(GUARANTEE_READ, Guarantee.node_id), Guarantee.stage != GuaranteeStage.released)
            .group_by(Guarantee.bank, Guarantee.node_id, OrgNode.name).order_by(Guarantee.bank, OrgNode.name))
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Guarantee.node_id, node_id))
    rows = [LiabilityRow(bank=bank, project_id=project, project_name=name, guarantees=count,
                         amount=Decimal(amount).quantize(CENT))
            for bank, project, name, count, amount in (await session.execute(stmt)).tuples().all()]
    banks: dict[str, LiabilityTotal] = {}
    for r in rows:
        total = banks.setdefault(r.bank, LiabilityTotal(bank=r.bank, guarantees=0, amount=Decimal("0.00")))
        total.guarantees += r.guarantees
        total.amount += r.amount
    return Liability(rows=rows, by_bank=list(banks.values()), guarantees=sum(r.guarantees for r in rows),
                     amount=sum((r.amount for r in rows), Decimal("0.00")))



