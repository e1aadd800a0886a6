"""Certificate agencies and their agreements (seed 004 §4.5.1).

An agency is registered at the group or a branch and proposed for selection: the
``agency_selection`` chain (the supervising leader by default) decides it through the approval
engine, and its shown status is the request's. Only an approved agency signs agreements, and
only an agreement in force takes new certificate cases. A rejected or withdrawn proposal is
revised and submitted again; a selected agency may be suspended (it takes no new cases).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.audit import snapshot
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for, subtree_filter
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import (
    Approvable,
    approvable_type,
    page_with_request_status,
    request_status,
    revisable,
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.schemas import Resubmission
from app.domains.certificates.models import Agency, AgencyStage, Agreement
from app.domains.certificates.permissions import CERT_READ, CERT_WRITE
from app.domains.certificates.schemas import (
    AgencyCreate,
    AgencyOut,
    AgencyUpdate,
    AgreementCreate,
    AgreementOut,
    Note,
)
from app.domains.org.models import NodeKind

AGENCY, AGREEMENT = "cert_agency", "cert_agreement"
SELECTION_TYPE = "agency_selection"
CENT = Decimal("0.01")
SORT = {"createdAt": Agency.created_at, "name": Agency.name}
AGREEMENT_SORT = {"signedOn": Agreement.signed_on, "number": Agreement.number}


def _status(a: Agency, request: RequestStatus | None) -> str:
    return shown_status(a.stage.value, request)


def agency_out_with(a: Agency, request: RequestStatus | None) -> AgencyOut:
    return AgencyOut(id=a.id, node_id=a.node_id, name=a.name, contact_name=a.contact_name,
                     contact_phone=a.contact_phone, licence_number=a.licence_number, reputation=a.reputation,
                     status=_status(a, request),  # type: ignore[arg-type]
                     approval_request_id=a.approval_request_id, created_at=a.created_at, version=a.version)


async def agency_out(session: AsyncSession, a: Agency) -> AgencyOut:
    return agency_out_with(a, await request_status(session, a.approval_request_id))


async def get_agency(session: AsyncSession, authz: Authorizer, agency_id: uuid.UUID, *, lock: bool = False,
                     field: str | None = None) -> tuple[Agency, str]:
    return await get_at_node(session, authz, Agency, agency_id, CERT_READ, "agency", lock=lock, field=field)


async def is_selected(session: AsyncSession, a: Agency) -> bool:
    return a.stage is AgencyStage.submitted and \
        await request_status(session, a.approval_request_id) is RequestStatus.approved


async def list_agencies(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                        node_id: uuid.UUID | None) -> Page[AgencyOut]:
    stmt: Select[Any] = (select(Agency).outerjoin(ApprovalRequest, ApprovalRequest.id == Agency.approval_request_id)
                         .where(authz.visible(CERT_READ, Agency.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(Agency.stage, AgencyStage, status))
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Agency.node_id, node_id))
    return await page_with_request_status(session, stmt, params, sortable=SORT, default_sort=["name"],
                                          tiebreak=Agency.id, to_schema=agency_out_with)


async def _propose(session: AsyncSession, a: Agency, status: RequestStatus | None, note: str | None) -> None:
    if status is RequestStatus.rejected:
        assert a.approval_request_id is not None
        await approvals.resubmit(session, a.approval_request_id,
                                 Resubmission(reason=note or "Revised and proposed again."))
    else:
        request = await approvals.create_request(
            session, request_type=SELECTION_TYPE, title=f"选择办证代理公司 {a.name}"[:300],
            payload={"agencyId": str(a.id)}, reason=note)
        a.approval_request_id = request.id
    a.stage = AgencyStage.submitted


async def create_agency(session: AsyncSession, authz: Authorizer, data: AgencyCreate) -> Agency:
    node = await node_for(session, authz, data.node_id, CERT_WRITE, kinds=(NodeKind.group, NodeKind.branch))
    agency = Agency(node_id=node.id, name=data.name, contact_name=data.contact_name, contact_phone=data.contact_phone,
                    licence_number=data.licence_number, reputation=data.reputation, stage=AgencyStage.draft)
    session.add(agency)
    await session.flush()
    if data.submit:
        await _propose(session, agency, None, data.reputation)
    return await saved(session, agency, "certificates.agency.create", AGENCY)


def _conflict(label: str, status: str, hint: str) -> ProblemError:
    return ProblemError("conflict", f"{label} is {status}{': ' + hint if hint else ''}.")


async def update_agency(session: AsyncSession, authz: Authorizer, a: Agency, path: str,
                        data: AgencyUpdate) -> Agency:
    authz.require(CERT_WRITE, path)
    status = await request_status(session, a.approval_request_id)
    if a.stage is AgencyStage.submitted and status is RequestStatus.pending:
        raise _conflict(f"Agency {a.name}", "pending", "its selection is under review; withdraw it to change it")
    before = _snap(a)
    for name, value in provided(data).items():
        setattr(a, name, value)
    a.updated_at = clock.utcnow()
    return await saved(session, a, "certificates.agency.update", AGENCY, before=before)


def _snap(a: Agency) -> dict[str, Any]:
    return snapshot(a)


async def submit_agency(session: AsyncSession, authz: Authorizer, a: Agency, path: str, data: Note) -> Agency:
    """Propose for selection: a draft or withdrawn agency as a new request, a rejected one as
    the next round of its request."""
    authz.require(CERT_WRITE, path)
    status = await request_status(session, a.approval_request_id)
    if not revisable(a.stage, AgencyStage.draft, AgencyStage.submitted, status):
        raise _conflict(f"Agency {a.name}", _status(a, status),
                        "only a draft, rejected or withdrawn agency is proposed")
    before = _snap(a)
    await _propose(session, a, status, data.note)
    a.updated_at = clock.utcnow()
    return await saved(session, a, "certificates.agency.submit", AGENCY, before=before, reason=data.note)


async def suspend_agency(session: AsyncSession, authz: Authorizer, a: Agency, path: str, data: Note) -> Agency:
    authz.require(CERT_WRITE, path)
    if not await is_selected(session, a):
        raise _conflict(f"Agency {a.name}", _status(a, await request_status(session, a.approval_request_id)),
                        "only a selected (approved) agency is suspended")
    before = _snap(a)
    a.stage = AgencyStage.suspended
    return await saved(session, a, "certificates.agency.suspend", AGENCY, before=before, reason=data.note)


AGENCY_RECORD = Approvable(Agency, key="agencyId", entity=AGENCY, what="agency")


async def _agency_payload(session: AsyncSession, a: Agency) -> dict[str, Any]:
    return {"agencyId": str(a.id), "name": a.name, "licenceNumber": a.licence_number,
            "contactName": a.contact_name, "reputation": a.reputation}


SELECTION_REQUEST = approvable_type(
    SELECTION_TYPE, "Selection of a certificate agency", AGENCY_RECORD, describe=_agency_payload,
    # 004 §4.5.1: "必要时经公司分管领导批准" — the supervising leader, at the group.
    default_chain=[{"name": "Supervising leader", "role": "general_manager", "at": "group"}],
    default_roles={"general_manager": "General manager"},
)


# ----------------------------------------------------------------------------- agreements


def agreement_out(g: Agreement) -> AgreementOut:
    return AgreementOut(id=g.id, agency_id=g.agency_id, node_id=g.node_id, number=g.number, scope=g.scope,
                        fee_per_case=g.fee_per_case, days_to_issue=g.days_to_issue,
                        days_to_deliver=g.days_to_deliver, signed_on=g.signed_on, valid_from=g.valid_from,
                        valid_until=g.valid_until, version=g.version)


async def get_agreement(session: AsyncSession, authz: Authorizer, agreement_id: uuid.UUID, *,
                        field: str | None = None) -> tuple[Agreement, str]:
    return await get_at_node(session, authz, Agreement, agreement_id, CERT_READ, "agreement", field=field)


async def list_agreements(session: AsyncSession, authz: Authorizer, a: Agency,
                          params: PageParams) -> Page[AgreementOut]:
    stmt = select(Agreement).where(Agreement.agency_id == a.id)
    return await paginate(session, stmt, params, sortable=AGREEMENT_SORT, default_sort=["-signedOn"],
                          tiebreak=Agreement.id, to_schema=agreement_out)


async def create_agreement(session: AsyncSession, authz: Authorizer, a: Agency, path: str,
                           data: AgreementCreate) -> Agreement:
    authz.require(CERT_WRITE, path)
    if a.stage is AgencyStage.suspended or not await is_selected(session, a):
        raise _conflict(f"Agency {a.name}", _status(a, await request_status(session, a.approval_request_id)),
                        "an agreement is signed only with a selected (approved) agency")
    if data.valid_until < data.valid_from:
        raise ProblemError("conflict", "The agreement ends before it starts.",
                           errors=[field_error("validUntil", "before validFrom")])
    taken = await session.scalar(select(Agreement.id).where(Agreement.agency_id == a.id,
                                                            Agreement.number == data.number))
    if taken is not None:
        raise ProblemError("conflict", f"Agency {a.name} has an agreement numbered {data.number} already.",
                           errors=[field_error("number", "taken")])
    agreement = Agreement(agency_id=a.id, node_id=a.node_id, number=data.number, scope=data.scope,
                          fee_per_case=Decimal(data.fee_per_case).quantize(CENT), days_to_issue=data.days_to_issue,
                          days_to_deliver=data.days_to_deliver, signed_on=data.signed_on,
                          valid_from=data.valid_from, valid_until=data.valid_until)
    session.add(agreement)
    return await saved(session, agreement, "certificates.agreement.create", AGREEMENT)

