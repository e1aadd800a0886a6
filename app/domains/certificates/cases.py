"""Certificate cases (seed 004 §4.5.2, §4.5.4): one owner's small property certificate for one
unit, processed by a selected agency under its agreement.

- The case opens **collecting** the owner's documents against their checklist (the tenant's
  default, or one given at opening). Some documents are valid for a number of days only: an
  expired document counts as missing and is collected again.
- **submitted** (every document collected and valid that day): the agreement's
  ``daysToIssue`` fix the date the certificate is due; **accepted** by the registry;
  **issued** (with its number): the agreement's ``daysToDeliver`` fix the delivery date;
  **delivered** to the owner. A case not yet issued may be cancelled.
- The daily **lateness scan** (lateness.py) finds the cases past the deadline of their stage,
  marks them late and urges the agency once a day (an urge in the case's log, the responsible
  staff member told); staff log their own follow-ups.
- The owner sees, in the app, the stage, the expected date and what is still needed of them.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock
from app.core import tenant_settings as settings
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.certificates import agencies
from app.domains.certificates.models import (
    Agency,
    Agreement,
    CaseDocument,
    CaseEvent,
    CaseStage,
    CertificateCase,
)
from app.domains.certificates.permissions import CERT_READ, CERT_WRITE
from app.domains.certificates.schemas import (
    CaseAccept,
    CaseCancel,
    CaseCreate,
    CaseDeliver,
    CaseIssue,
    CaseOut,
    CaseSubmit,
    CaseSummary,
    CaseUpdate,
    ChecklistItemIn,
    DocumentCollected,
    DocumentOut,
    EventOut,
    FollowUp,
    OwnCaseOut,
    OwnDocument,
)
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer, CustomerUnit
from app.domains.org.models import OrgNode, Unit
from app.tenants.bound import local_year, today

CASE = "cert_case"
SORT = {"openedOn": CertificateCase.opened_on, "number": CertificateCase.number,
        "dueOn": CertificateCase.due_on}
OPEN = (CaseStage.submitted, CaseStage.accepted, CaseStage.issued)  # stages with a deadline
SCAN_BATCH = 500

CHECKLIST = settings.declare(
    "certificates.checklist",
    [{"code": "id_card", "name": "身份证复印件 ID card copy", "validDays": None},
     {"code": "purchase_contract", "name": "商品房买卖合同 Purchase contract", "validDays": None},
     {"code": "deed_tax", "name": "契税完税证明 Deed tax receipt", "validDays": None},
     {"code": "marital_status", "name": "婚姻状况证明 Marital status certificate", "validDays": 90},
     {"code": "power_of_attorney", "name": "委托书 Power of attorney to the agency", "validDays": 180}],
    "The documents an owner provides for their certificate (code, name, days a document stays valid).",
)

FLOW: Workflow[CaseStage] = Workflow("certificate case", {
    "submit": ([CaseStage.collecting], [CaseStage.submitted]),
    "accept": ([CaseStage.submitted], [CaseStage.accepted]),
    "issue": ([CaseStage.submitted, CaseStage.accepted], [CaseStage.issued]),
    "deliver": ([CaseStage.issued], [CaseStage.delivered]),
    "cancel": ([CaseStage.collecting, CaseStage.submitted, CaseStage.accepted], [CaseStage.cancelled]),
    # A change of follow-up or a correction leaves the stage as it is.
    "change": ([CaseStage.collecting, CaseStage.submitted, CaseStage.accepted, CaseStage.issued],
               [CaseStage.collecting, CaseStage.submitted, CaseStage.accepted, CaseStage.issued]),
})


def _late(c: CertificateCase, on: date) -> bool:
    return c.stage in OPEN and c.due_on is not None and on > c.due_on


def _document_status(d: CaseDocument, on: date) -> str:
    if d.collected_on is None:
        return "missing"
    return "expired" if d.expires_on is not None and d.expires_on < on else "collected"


async def _documents(session: AsyncSession, case_id: uuid.UUID) -> list[CaseDocument]:
    return list((await session.scalars(select(CaseDocument).where(CaseDocument.case_id == case_id)
                                       .order_by(CaseDocument.position))).all())


async def case_out(session: AsyncSession, c: CertificateCase) -> CaseOut:
    on = await today(session)
    events = (await session.scalars(select(CaseEvent).where(CaseEvent.case_id == c.id)
                                    .order_by(CaseEvent.at, CaseEvent.id))).all()
    return CaseOut(
        id=c.id, number=c.number, node_id=c.node_id, unit_id=c.unit_id, customer_id=c.customer_id,
        agency_id=c.agency_id, agreement_id=c.agreement_id, status=c.stage.value,
        opened_on=c.opened_on, submitted_on=c.submitted_on, accepted_on=c.accepted_on, issued_on=c.issued_on,
        delivered_on=c.delivered_on, due_on=c.due_on, late=_late(c, on), late_since=c.late_since,
        urge_count=c.urge_count, last_urged_on=c.last_urged_on, certificate_number=c.certificate_number,
        cancel_reason=c.cancel_reason, responsible_account_id=c.responsible_account_id,
        documents=[DocumentOut(id=d.id, code=d.code, name=d.name, valid_days=d.valid_days,
                               collected_on=d.collected_on, expires_on=d.expires_on,
                               status=_document_status(d, on),  # type: ignore[arg-type]
                               note=d.note, version=d.version) for d in await _documents(session, c.id)],
        events=[EventOut(kind=e.kind, at=e.at, by=e.by, note=e.note) for e in events],
        created_at=c.created_at, version=c.version)


async def get_case(session: AsyncSession, authz: Authorizer, case_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[CertificateCase, str]:
    return await get_at_node(session, authz, CertificateCase, case_id, CERT_READ, "certificate case", lock=lock)


async def list_cases(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: CaseStage | None,
                     late: bool | None, agency_id: uuid.UUID | None, unit_id: uuid.UUID | None,
                     customer_id: uuid.UUID | None, node_id: uuid.UUID | None) -> Page[CaseSummary]:
    on = await today(session)
    stmt: Select[Any] = select(CertificateCase).where(authz.visible(CERT_READ, CertificateCase.node_id))
    if status is not None:
        stmt = stmt.where(CertificateCase.stage == status)
    if late is not None:
        is_late = CertificateCase.stage.in_(OPEN) & (CertificateCase.due_on < on)
        stmt = stmt.where(is_late if late else ~is_late | CertificateCase.due_on.is_(None))
    for column, value in ((CertificateCase.agency_id, agency_id), (CertificateCase.unit_id, unit_id),
                          (CertificateCase.customer_id, customer_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, CertificateCase.node_id, node_id))
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["-openedOn"],
                          tiebreak=CertificateCase.id, to_schema=lambda c: CaseSummary(
                              id=c.id, number=c.number, node_id=c.node_id, unit_id=c.unit_id,
                              customer_id=c.customer_id, agency_id=c.agency_id, status=c.stage.value,
                              opened_on=c.opened_on, due_on=c.due_on, late=_late(c, on),
                              certificate_number=c.certificate_number, version=c.version))


async def unit_for(session: AsyncSession, authz: Authorizer, unit_id: uuid.UUID, permission: str, *,
                   field: str = "unitId") -> tuple[Unit, OrgNode]:
    """The unit a body names and its project, for a caller holding ``permission`` there (404
    naming the field when they cannot see it)."""
    row = (await session.execute(select(Unit, OrgNode).join(OrgNode, OrgNode.id == Unit.project_id)
                                 .where(Unit.id == unit_id))).first()
    if row is None or not (authz.can(permission, row[1].path) or authz.can(CERT_READ, row[1].path)):
        raise ProblemError("not-found", f"No unit with id {unit_id}.", errors=[field_error(field, "no such unit")])
    authz.require(permission, row[1].path)
    return row[0], row[1]


async def owner_of(session: AsyncSession, authz: Authorizer, unit: Unit, customer_id: uuid.UUID,
                   permission: str) -> Customer:
    """The customer a body names, who must own the unit."""
    customer, _ = await customer_for(session, authz, customer_id, permission)
    owns = await session.scalar(select(CustomerUnit.id).where(CustomerUnit.unit_id == unit.id,
                                                              CustomerUnit.customer_id == customer.id))
    if owns is None:
        raise ProblemError("conflict", f"Customer {customer.number} does not own unit {unit.number}.",
                           errors=[field_error("customerId", "not an owner of the unit")])
    return customer


async def _checklist(session: AsyncSession, given: list[ChecklistItemIn] | None) -> list[ChecklistItemIn]:
    if given is None:
        value, _ = await settings.get(session, CHECKLIST)
        return [ChecklistItemIn(code=i["code"], name=i["name"], valid_days=i.get("validDays")) for i in value]
    codes = [i.code for i in given]
    if len(set(codes)) != len(codes):
        raise ProblemError("conflict", "A checklist names each document once.",
                           errors=[field_error("checklist", "duplicate codes")])
    return given


async def create_case(session: AsyncSession, authz: Authorizer, data: CaseCreate) -> CertificateCase:
    unit, project = await unit_for(session, authz, data.unit_id, CERT_WRITE)
    customer = await owner_of(session, authz, unit, data.customer_id, CERT_WRITE)
    agreement, agreement_path = await agencies.get_agreement(session, authz, data.agreement_id, field="agreementId")
    agency = await session.get(Agency, agreement.agency_id)
    assert agency is not None  # a foreign key holds it
    if not (project.path == agreement_path or project.path.startswith(agreement_path + "/")):
        raise ProblemError("conflict", f"Agreement {agreement.number} does not cover this unit's project.",
                           errors=[field_error("agreementId", "its node is not above the unit's project")])
    opened = data.opened_on or await today(session)
    if not agreement.valid_from <= opened <= agreement.valid_until:
        raise ProblemError("conflict", f"Agreement {agreement.number} is not in force on {opened}.",
                           errors=[field_error("agreementId", f"valid {agreement.valid_from}–"
                                                              f"{agreement.valid_until}")])
    if agency.stage.value == "suspended" or not await agencies.is_selected(session, agency):
        raise ProblemError("conflict", f"Agency {agency.name} is not a selected agency: it takes no new cases.",
                           errors=[field_error("agreementId", "its agency is not selected")])
    open_case = await session.scalar(select(CertificateCase.number).where(
        CertificateCase.unit_id == unit.id, CertificateCase.customer_id == customer.id,
        CertificateCase.stage != CaseStage.cancelled))
    if open_case is not None:
        raise ProblemError("conflict", f"Case {open_case} is this owner's certificate of this unit already.",
                           errors=[field_error("unitId", f"case {open_case} exists")])
    checklist = await _checklist(session, data.checklist)
    responsible = (uuid.UUID(await staff_subject(session, data.responsible_account_id, "responsibleAccountId"))
                   if data.responsible_account_id is not None else authz.account_id)
    c = CertificateCase(number=await next_number(session, "BZ", await local_year(session, clock.utcnow())),
                        node_id=project.id, unit_id=unit.id, customer_id=customer.id, agency_id=agency.id,
                        agreement_id=agreement.id, stage=CaseStage.collecting, opened_on=opened, urge_count=0,
                        responsible_account_id=responsible)
    session.add(c)
    await session.flush()
    session.add_all([CaseDocument(case_id=c.id, position=n, code=i.code, name=i.name, valid_days=i.valid_days)
                     for n, i in enumerate(checklist, 1)])
    return await saved(session, c, "certificates.case.create", CASE)


async def collect_document(session: AsyncSession, authz: Authorizer, c: CertificateCase, path: str,
                           data: DocumentCollected) -> CertificateCase:
    """A document handed in (again, when it expired): valid from then for its days."""
    authz.require(CERT_WRITE, path)
    FLOW.require("submit", c.stage, f"Case {c.number}", hint="documents are collected before submission")
    code = data.code
    doc = await session.scalar(select(CaseDocument).where(CaseDocument.case_id == c.id, CaseDocument.code == code)
                               .with_for_update())
    if doc is None:
        raise ProblemError("conflict", f"Case {c.number} has no document {code!r} on its checklist.",
                           errors=[field_error("code", "not on the case's checklist")])
    if data.collected_on > await today(session):
        raise ProblemError("conflict", "A document is not collected in the future.",
                           errors=[field_error("collectedOn", "after today")])
    doc.collected_on, doc.note = data.collected_on, data.note
    doc.expires_on = data.collected_on + timedelta(days=doc.valid_days) if doc.valid_days else None
    c.updated_at = clock.utcnow()
    await session.flush()
    await audit.record(session, action="certificates.case.document", entity_type=CASE, entity_id=c.id,
                       after={"code": code, "collectedOn": data.collected_on.isoformat(),
                              "expiresOn": doc.expires_on.isoformat() if doc.expires_on else None})
    await session.refresh(c)
    return c


def _not_before(field: str, when: date, earlier: date | None, what: str) -> None:
    if earlier is not None and when < earlier:
        raise ProblemError("conflict", f"{field} is before the case was {what} ({earlier}).",
                           errors=[field_error(field, f"before {earlier}")])


async def _agreement(session: AsyncSession, c: CertificateCase) -> Agreement:
    agreement = await session.get(Agreement, c.agreement_id)
    assert agreement is not None  # a foreign key holds it
    return agreement


async def submit_case(session: AsyncSession, authz: Authorizer, c: CertificateCase, path: str,
                      data: CaseSubmit) -> CertificateCase:
    authz.require(CERT_WRITE, path)
    label = f"Case {c.number}"
    FLOW.require("submit", c.stage, label)
    _not_before("submittedOn", data.submitted_on, c.opened_on, "opened")
    lacking = [d for d in await _documents(session, c.id) if _document_status(d, data.submitted_on) != "collected"]
    if lacking:
        raise ProblemError("conflict", f"{label} lacks documents on {data.submitted_on}: "
                                       + ", ".join(f"{d.code} ({_document_status(d, data.submitted_on)})"
                                                   for d in lacking) + ".",
                           errors=[field_error(f"documents.{d.code}", _document_status(d, data.submitted_on))
                                   for d in lacking])
    before = audit.snapshot(c)
    c.stage = FLOW.to("submit", c.stage, CaseStage.submitted, label)
    c.submitted_on = data.submitted_on
    c.issue_due_on = c.due_on = data.submitted_on + timedelta(days=(await _agreement(session, c)).days_to_issue)
    return await saved(session, c, "certificates.case.submit", CASE, before=before)


async def accept_case(session: AsyncSession, authz: Authorizer, c: CertificateCase, path: str,
                      data: CaseAccept) -> CertificateCase:
    authz.require(CERT_WRITE, path)
    before = audit.snapshot(c)
    c.stage = FLOW.to("accept", c.stage, CaseStage.accepted, f"Case {c.number}")
    _not_before("acceptedOn", data.accepted_on, c.submitted_on, "submitted")
    c.accepted_on = data.accepted_on
    return await saved(session, c, "certificates.case.accept", CASE, before=before)


async def issue_case(session: AsyncSession, authz: Authorizer, c: CertificateCase, path: str,
                     data: CaseIssue) -> CertificateCase:
    authz.require(CERT_WRITE, path)
    before = audit.snapshot(c)
    c.stage = FLOW.to("issue", c.stage, CaseStage.issued, f"Case {c.number}")
    _not_before("issuedOn", data.issued_on, c.accepted_on or c.submitted_on, "submitted or accepted")
    c.issued_on, c.certificate_number = data.issued_on, data.certificate_number
    c.due_on = data.issued_on + timedelta(days=(await _agreement(session, c)).days_to_deliver)
    c.late_since = None  # lateness is the stage's: the delivery has its own deadline
    return await saved(session, c, "certificates.case.issue", CASE, before=before)


async def deliver_case(session: AsyncSession, authz: Authorizer, c: CertificateCase, path: str,
                       data: CaseDeliver) -> CertificateCase:
    authz.require(CERT_WRITE, path)
    before = audit.snapshot(c)
    c.stage = FLOW.to("deliver", c.stage, CaseStage.delivered, f"Case {c.number}")
    _not_before("deliveredOn", data.delivered_on, c.issued_on, "issued")
    c.delivered_on, c.late_since = data.delivered_on, None
    return await saved(session, c, "certificates.case.deliver", CASE, before=before)


async def cancel_case(session: AsyncSession, authz: Authorizer, c: CertificateCase, path: str,
                      data: CaseCancel) -> CertificateCase:
    authz.require(CERT_WRITE, path)
    before = audit.snapshot(c)
    c.stage = FLOW.to("cancel", c.stage, CaseStage.cancelled, f"Case {c.number}")
    c.cancel_reason, c.due_on, c.late_since = data.reason, None, None
    return await saved(session, c, "certificates.case.cancel", CASE, before=before, reason=data.reason)


async def update_case(session: AsyncSession, authz: Authorizer, c: CertificateCase, path: str,
                      data: CaseUpdate) -> CertificateCase:
    """Hand the case's follow-up to another staff member, or correct the certificate number of
    an issued case; audited with the reason. A cancelled or delivered case is closed (409)."""
    authz.require(CERT_WRITE, path)
    label = f"Case {c.number}"
    FLOW.require("change", c.stage, label)
    before = audit.snapshot(c)
    if data.responsible_account_id is not msgspec.UNSET:
        c.responsible_account_id = uuid.UUID(await staff_subject(session, data.responsible_account_id,
                                                                 "responsibleAccountId"))
    if data.certificate_number is not msgspec.UNSET:
        if c.stage is not CaseStage.issued:
            raise ProblemError("conflict", f"{label} is {c.stage.value}: a certificate number is corrected once "
                                           "issued.", errors=[field_error("certificateNumber", "not issued")])
        c.certificate_number = data.certificate_number
    c.updated_at = clock.utcnow()
    return await saved(session, c, "certificates.case.update", CASE, before=before, reason=data.reason)


async def follow_up(session: AsyncSession, authz: Authorizer, c: CertificateCase, path: str,
                    data: FollowUp) -> CertificateCase:
    """A note of a contact with the agency; an urge counts towards the case's urges."""
    authz.require(CERT_WRITE, path)
    before = audit.snapshot(c)
    session.add(CaseEvent(case_id=c.id, kind="urge" if data.urge else "follow_up", at=clock.utcnow(),
                          by=authz.principal.subject, note=data.note))
    if data.urge:
        c.urge_count += 1
        c.last_urged_on = await today(session)
    c.updated_at = clock.utcnow()
    return await saved(session, c, "certificates.case.follow_up", CASE, before=before)


# ------------------------------------------------------------------------------- owners


def _mine(authz: Authorizer) -> ColumnElement[bool]:
    owner = authz.owner_id
    if owner is None:
        return false()
    return CertificateCase.customer_id.in_(select(Customer.id).where(Customer.account_id == owner,
                                                                     Customer.merged_into_id.is_(None)))


async def own_out(session: AsyncSession, c: CertificateCase) -> OwnCaseOut:
    on = await today(session)
    unit_number = await session.scalar(select(Unit.number).where(Unit.id == c.unit_id))
    agency_name = await session.scalar(select(Agency.name).where(Agency.id == c.agency_id))
    docs = [OwnDocument(name=d.name, status=_document_status(d, on),  # type: ignore[arg-type]
                        expires_on=d.expires_on) for d in await _documents(session, c.id)]
    return OwnCaseOut(id=c.id, number=c.number, unit_id=c.unit_id, unit_number=unit_number or "",
                      status=c.stage.value,
                      agency_name=agency_name or "", opened_on=c.opened_on, submitted_on=c.submitted_on,
                      issued_on=c.issued_on, delivered_on=c.delivered_on,
                      expected_by=c.due_on if c.stage in OPEN else None,
                      still_needed=[d for d in docs if d.status != "collected"] if c.stage is CaseStage.collecting
                      else [], documents=docs, version=c.version)


async def list_mine(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[OwnCaseOut]:
    page = await paginate(session, select(CertificateCase).where(_mine(authz)), params, sortable=SORT,
                          default_sort=["-openedOn"], tiebreak=CertificateCase.id, to_schema=lambda c: c)
    return Page(items=[await own_out(session, c) for c in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def get_mine(session: AsyncSession, authz: Authorizer, case_id: uuid.UUID) -> CertificateCase:
    c = await session.scalar(select(CertificateCase).where(CertificateCase.id == case_id, _mine(authz)))
    if c is None:
        raise ProblemError("not-found", f"No certificate case of yours with id {case_id}.")
    return c
