"""HTTP for certificate agencies, agreements, certificate cases and the owner's view, for
mortgage guarantees and for overdue collection."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from litestar import Controller, Request, Response, get, patch, post
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody
from litestar.openapi.spec import Schema as OpenAPISchema
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.idempotency import idempotent
from app.core.jobs import JobOut, accepted, create_job
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.spreadsheets import XLSX_MEDIA_TYPE
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer
from app.domains.certificates import agencies, cases, collections, package, statistics, tasks
from app.domains.certificates.guarantee_routes import GuaranteeController
from app.domains.certificates.models import CaseStage, CertificateCase, CollectionStage
from app.domains.certificates.routing import DEPENDENCIES, MOVES, NODE_FILTER
from app.domains.certificates.schemas import (
    AgencyCreate,
    AgencyOut,
    AgencyStatus,
    AgencyUpdate,
    AgreementCreate,
    AgreementOut,
    CaseAccept,
    CaseCancel,
    CaseCreate,
    CaseDeliver,
    CaseIssue,
    CaseOut,
    CaseSubmit,
    CaseSummary,
    CaseUpdate,
    CollectionOut,
    DocumentCollected,
    FeedIn,
    FeedResult,
    FollowUp,
    LitigationOutcome,
    LitigationRule,
    Materials,
    Note,
    OwnCaseOut,
    ReminderIn,
    Statistics,
)
from app.worker import enqueue_after_commit

BASE = "/api/v1/certificates"
TAG = "Certificates"


class AgencyController(Controller):
    path = f"{BASE}/agencies"
    tags = [TAG]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listCertificateAgencies", summary="List certificate agencies",
         dependencies={"page": page_params(*agencies.SORT)},
         description="Certificate agencies registered at or under the nodes where the caller's roles hold "
                     "`certificates.read`, a page at a time by name: filter by status (draft, suspended, or while "
                     "proposed its `agency_selection` request's pending, approved, rejected or withdrawn) or a node's "
                     "subtree. Needs certificates:read.",
         **requires("certificates:read"))
    async def list_agencies(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: AgencyStatus | None = Parameter(query="status", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[AgencyOut]:
        return await agencies.list_agencies(session, authz, page, status=status, node_id=node_id)

    @post("/", operation_id="registerCertificateAgency", summary="Register an agency (and propose it for selection)",
          description="With `submit` (the default) the agency goes to the `agency_selection` approval chain at "
                      "once. Accepts `Idempotency-Key`.", **requires("certificates:write", errors=[404, 409]))
    async def register(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       data: AgencyCreate) -> Response[AgencyOut]:
        return await created(request, session, lambda: agencies.create_agency(session, authz, data),
                             lambda a: agencies.agency_out(session, a), lambda a: f"{BASE}/agencies/{a.id}")

    @get("/{agency_id:uuid}", operation_id="getCertificateAgency", summary="An agency and its selection status",
         description="One agency: its contact, licence number, reputation, and its selection status with the approval "
                     "request behind it (an approved agency is selected and signs agreements). The ETag is what "
                     "If-Match needs for any change. Needs `certificates.read` at the agency's group or branch (404 "
                     "otherwise).",
         **requires("certificates:read", errors=[404]))
    async def get_agency(self, session: AsyncSession, authz: Authorizer, agency_id: uuid.UUID) -> Response[AgencyOut]:
        a, _ = await agencies.get_agency(session, authz, agency_id)
        return with_etag(await agencies.agency_out(session, a), a.version)

    @patch("/{agency_id:uuid}", operation_id="updateCertificateAgency", summary="Change an agency's details",
           description="Changes an agency's name, contact, licence number or reputation. Needs `certificates.write` "
                       "at the agency's node and If-Match; 409 while its selection is pending (withdraw the approval "
                       "request to change it). Audited.",
           **requires("certificates:write", errors=MOVES))
    async def update_agency(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            agency_id: uuid.UUID, data: AgencyUpdate) -> Response[AgencyOut]:
        return await updated(request, agencies.get_agency(session, authz, agency_id, lock=True),
                             lambda a, path: agencies.update_agency(session, authz, a, path, data),
                             lambda a: agencies.agency_out(session, a))

    @post("/{agency_id:uuid}/submit", operation_id="submitCertificateAgency", status_code=200,
          summary="Propose an agency for selection (again, after a rejection or withdrawal)",
          description="Proposes the agency for selection through the `agency_selection` chain (the supervising leader "
                      "at the group by default), with an optional note: a draft or withdrawn proposal opens a new "
                      "request, a rejected one goes round again on its request. Needs `certificates.write` at the "
                      "agency's node and If-Match; 409 while pending, once selected, or when suspended. Audited.",
          **requires("certificates:write", errors=MOVES))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     agency_id: uuid.UUID, data: Note) -> Response[AgencyOut]:
        return await updated(request, agencies.get_agency(session, authz, agency_id, lock=True),
                             lambda a, path: agencies.submit_agency(session, authz, a, path, data),
                             lambda a: agencies.agency_out(session, a))

    @post("/{agency_id:uuid}/suspend", operation_id="suspendCertificateAgency", status_code=200,
          summary="Suspend a selected agency: it takes no new cases",
          description="Suspends a selected agency with a note: it signs no new agreements and takes no new "
                      "certificate cases, while its open cases go on. Needs `certificates.write` at the agency's node "
                      "and If-Match; 409 unless the agency is selected (its selection approved). Audited.",
          **requires("certificates:write", errors=MOVES))
    async def suspend(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      agency_id: uuid.UUID, data: Note) -> Response[AgencyOut]:
        return await updated(request, agencies.get_agency(session, authz, agency_id, lock=True),
                             lambda a, path: agencies.suspend_agency(session, authz, a, path, data),
                             lambda a: agencies.agency_out(session, a))

    @get("/{agency_id:uuid}/agreements", operation_id="listAgencyAgreements", summary="An agency's agreements",
         dependencies={"page": page_params(*agencies.AGREEMENT_SORT)},
         description="The agreements signed with the agency, a page at a time, latest signed first: scope, fee per "
                     "case, the days to issue and to deliver it promises, and the period in force. Needs "
                     "`certificates.read` at the agency's node (404 otherwise).",
         **requires("certificates:read", errors=[404]))
    async def list_agreements(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                              agency_id: uuid.UUID) -> Page[AgreementOut]:
        a, _ = await agencies.get_agency(session, authz, agency_id)
        return await agencies.list_agreements(session, authz, a, page)

    @post("/{agency_id:uuid}/agreements", operation_id="signAgencyAgreement",
          summary="Record the agency agreement signed with a selected agency: scope, fees, service levels",
          description="Accepts `Idempotency-Key`.", **requires("certificates:write", errors=[404, 409]))
    async def sign(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   agency_id: uuid.UUID, data: AgreementCreate) -> Response[AgreementOut]:
        async def make() -> Any:
            a, path = await agencies.get_agency(session, authz, agency_id, lock=True)
            return await agencies.create_agreement(session, authz, a, path, data)

        async def show(g: Any) -> AgreementOut:
            return agencies.agreement_out(g)

        return await created(request, session, make, show, lambda g: f"{BASE}/agreements/{g.id}")

    @get("/{agency_id:uuid}/performance", operation_id="getAgencyPerformance",
         summary="An agency's performance: on-time rate, average days to issue, open and late cases",
         description="The agency's performance over its cases the caller may read (cancelled ones aside): cases by "
                     "stage, late ones (open past their stage's deadline today), the on-time rate (of the issued "
                     "ones, those issued by the date the agreement promised) and the average days from submission to "
                     "issue. Needs `certificates.read` at the agency's node (404 otherwise).",
         **requires("certificates:read", errors=[404]))
    async def performance(self, session: AsyncSession, authz: Authorizer, agency_id: uuid.UUID) -> Statistics:
        a, _ = await agencies.get_agency(session, authz, agency_id)
        return await statistics.statistics(session, authz, "agency", node_id=None, agency_id=a.id)


class AgreementController(Controller):
    path = f"{BASE}/agreements"
    tags = [TAG]
    dependencies = DEPENDENCIES

    @get("/{agreement_id:uuid}", operation_id="getAgencyAgreement", summary="An agency agreement",
         description="One agency agreement: its number, scope, fee per case, the days to issue and to deliver a "
                     "certificate it promises, the signing date and the period in force. Needs `certificates.read` at "
                     "the agreement's node (404 otherwise).",
         **requires("certificates:read", errors=[404]))
    async def get_agreement(self, session: AsyncSession, authz: Authorizer,
                            agreement_id: uuid.UUID) -> Response[AgreementOut]:
        g, _ = await agencies.get_agreement(session, authz, agreement_id)
        return with_etag(agencies.agreement_out(g), g.version)


CaseMove = Callable[[AsyncSession, Authorizer, CertificateCase, str, Any], Awaitable[CertificateCase]]


class CaseController(Controller):
    path = f"{BASE}/cases"
    tags = [TAG]
    dependencies = DEPENDENCIES

    async def _move(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    case_id: uuid.UUID, action: CaseMove, data: Any) -> Response[CaseOut]:
        return await updated(request, cases.get_case(session, authz, case_id, lock=True),
                             lambda c, path: action(session, authz, c, path, data),
                             lambda c: cases.case_out(session, c))

    @get("/", operation_id="listCertificateCases", summary="List certificate cases (late ones, an agency's, ...)",
         dependencies={"page": page_params(*cases.SORT)},
         description="Certificate cases at or under the nodes where the caller's roles hold `certificates.read`, a "
                     "page at a time, latest opened first: filter by status, late (past their stage's deadline), "
                     "agency, unit, customer or a node's subtree. Needs certificates:read.",
         **requires("certificates:read"))
    async def list_cases(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: CaseStage | None = Parameter(query="status", default=None),
        late: bool | None = Parameter(query="late", default=None, description="true: past their stage's deadline."),
        agency_id: uuid.UUID | None = Parameter(query="agencyId", default=None),
        unit_id: uuid.UUID | None = Parameter(query="unitId", default=None),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[CaseSummary]:
        return await cases.list_cases(session, authz, page, status=status, late=late, agency_id=agency_id,
                                      unit_id=unit_id, customer_id=customer_id, node_id=node_id)

    @post("/", operation_id="openCertificateCase", summary="Open an owner's certificate case for a unit",
          description="Accepts `Idempotency-Key`.", **requires("certificates:write", errors=[404, 409]))
    async def open_case(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        data: CaseCreate) -> Response[CaseOut]:
        return await created(request, session, lambda: cases.create_case(session, authz, data),
                             lambda c: cases.case_out(session, c), lambda c: f"{BASE}/cases/{c.id}")

    @get("/{case_id:uuid}", operation_id="getCertificateCase", summary="A case with its checklist and log",
         description="One owner's certificate case: its stage and dates, the deadline of its stage and whether it is "
                     "late, the urges made, the certificate number once issued, the checklist with each document's "
                     "status (missing, collected or expired) and the case's log (urges, follow-ups). The ETag is what "
                     "If-Match needs for any step. Needs `certificates.read` at the unit's project (404 otherwise).",
         **requires("certificates:read", errors=[404]))
    async def get_case(self, session: AsyncSession, authz: Authorizer, case_id: uuid.UUID) -> Response[CaseOut]:
        c, _ = await cases.get_case(session, authz, case_id)
        return with_etag(await cases.case_out(session, c), c.version)

    @patch("/{case_id:uuid}", operation_id="updateCertificateCase",
           summary="Hand a case to another staff member, or correct an issued certificate's number",
           description="With the reason (audited). 409 once the case is delivered or cancelled, and for a "
                       "certificate number before the issue.", **requires("certificates:write", errors=MOVES))
    async def update_case(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          case_id: uuid.UUID, data: CaseUpdate) -> Response[CaseOut]:
        return await self._move(request, session, authz, case_id, cases.update_case, data)

    @post("/{case_id:uuid}/documents", operation_id="collectCaseDocument", status_code=200,
          summary="Record a checklist document as collected (again, when it expired)",
          description="Records a document of the case's checklist as handed in on `collectedOn` (not in the future), "
                      "again when it expired: a document with a validity counts from that day. Needs "
                      "`certificates.write` at the case's project and If-Match; 409 for a code not on the checklist, "
                      "or once the case is submitted. Audited.",
          **requires("certificates:write", errors=MOVES))
    async def collect(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      case_id: uuid.UUID, data: DocumentCollected) -> Response[CaseOut]:
        return await self._move(request, session, authz, case_id, cases.collect_document, data)

    @post("/{case_id:uuid}/submit", operation_id="submitCertificateCase", status_code=200,
          summary="The agency submitted the file: every document must be collected and valid",
          description="The agency submitted the owner's file to the registry on `submittedOn` (collecting → "
                      "submitted): every checklist document must be collected and still valid that day (409 naming "
                      "each `documents.CODE` missing or expired). The certificate is then due `daysToIssue` days "
                      "later, per the agreement. Needs `certificates.write` at the case's project and If-Match; 409 "
                      "unless the case is collecting or for a date before it was opened. Audited.",
          **requires("certificates:write", errors=MOVES))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     case_id: uuid.UUID, data: CaseSubmit) -> Response[CaseOut]:
        return await self._move(request, session, authz, case_id, cases.submit_case, data)

    @post("/{case_id:uuid}/accept", operation_id="acceptCertificateCase", status_code=200,
          summary="The registry accepted the file",
          description="The registry accepted the file on `acceptedOn` (submitted → accepted); the issue deadline "
                      "stays as submitted. Needs `certificates.write` at the case's project and If-Match; 409 unless "
                      "the case is submitted, or for a date before the submission. Audited.",
          **requires("certificates:write", errors=MOVES))
    async def accept(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     case_id: uuid.UUID, data: CaseAccept) -> Response[CaseOut]:
        return await self._move(request, session, authz, case_id, cases.accept_case, data)

    @post("/{case_id:uuid}/issue", operation_id="issueCertificateCase", status_code=200,
          summary="The certificate is issued",
          description="The certificate was issued on `issuedOn` with its number (submitted or accepted → issued): the "
                      "delivery is now due `daysToDeliver` days later, per the agreement, and the case is no longer "
                      "late for its issue. Needs `certificates.write` at the case's project and If-Match; 409 from "
                      "another stage, or for a date before the submission or acceptance. Audited; the owner's "
                      "guarantee may now become releasable.",
          **requires("certificates:write", errors=MOVES))
    async def issue(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    case_id: uuid.UUID, data: CaseIssue) -> Response[CaseOut]:
        return await self._move(request, session, authz, case_id, cases.issue_case, data)

    @post("/{case_id:uuid}/deliver", operation_id="deliverCertificateCase", status_code=200,
          summary="The certificate is handed to the owner",
          description="The certificate was handed to the owner on `deliveredOn` (issued → delivered); the case is "
                      "closed. Needs `certificates.write` at the case's project and If-Match; 409 unless the case is "
                      "issued, or for a date before the issue. Audited.",
          **requires("certificates:write", errors=MOVES))
    async def deliver(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      case_id: uuid.UUID, data: CaseDeliver) -> Response[CaseOut]:
        return await self._move(request, session, authz, case_id, cases.deliver_case, data)

    @post("/{case_id:uuid}/cancel", operation_id="cancelCertificateCase", status_code=200,
          summary="Cancel a case not yet issued",
          description="Cancels a case not yet issued (collecting, submitted or accepted), with the reason; it no "
                      "longer has a deadline and the owner may have a new case opened for the unit. Needs "
                      "`certificates.write` at the case's project and If-Match; 409 once issued, delivered or "
                      "cancelled. Audited with the reason.",
          **requires("certificates:write", errors=MOVES))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     case_id: uuid.UUID, data: CaseCancel) -> Response[CaseOut]:
        return await self._move(request, session, authz, case_id, cases.cancel_case, data)

    @post("/{case_id:uuid}/follow-ups", operation_id="followUpCertificateCase", status_code=200,
          summary="Log a follow-up with the agency (an urge counts)",
          description="Logs a contact with the agency on the case, at any stage; an urge (`urge: true`) counts "
                      "towards the case's urges like those of the daily lateness scan. Needs `certificates.write` at "
                      "the case's project and If-Match. Audited.",
          **requires("certificates:write", errors=MOVES))
    async def follow_up(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        case_id: uuid.UUID, data: FollowUp) -> Response[CaseOut]:
        return await self._move(request, session, authz, case_id, cases.follow_up, data)


@get(f"{BASE}/statistics", operation_id="certificateStatistics", tags=[TAG],
     summary="Certificate progress by agency, project or branch: stages, late cases, on-time rate, days to issue",
     dependencies=DEPENDENCIES,
     description="Certificate progress over the cases the caller may read (cancelled ones aside), by agency, project "
                 "or branch: the cases by stage, the late ones (open past their stage's deadline today), those issued "
                 "on time or late, the on-time rate and the average days from submission to issue; `nodeId` narrows "
                 "to a subtree. Needs certificates:read.",
     **requires("certificates:read"))
async def certificate_statistics(
    session: AsyncSession, authz: Authorizer,
    by: Literal["agency", "project", "branch"] = Parameter(query="by", default="agency"),
    node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
) -> Statistics:
    return await statistics.statistics(session, authz, by, node_id=node_id)


class OwnCaseController(Controller):
    """Home owners (``owner:self``): where their certificates are and what is still needed."""

    path = f"{BASE}/mine"
    tags = [TAG]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listMyCertificateCases", summary="My certificate cases",
         dependencies={"page": page_params(*cases.SORT)},
         description="The certificate cases of the caller's own customer records, latest opened first: each unit's "
                     "stage, the agency, the dates so far, the date expected for the next step, and while collecting "
                     "the documents still needed of them. Needs owner:self; staff accounts see none.",
         **requires("owner:self"))
    async def list_mine(self, session: AsyncSession, authz: Authorizer, page: PageParams) -> Page[OwnCaseOut]:
        return await cases.list_mine(session, authz, page)

    @get("/{case_id:uuid}", operation_id="getMyCertificateCase", summary="My certificate case",
         description="One of the caller's own certificate cases: its stage, agency and dates, the date expected for "
                     "the next step, and the status of each checklist document (what is still needed of them). Needs "
                     "owner:self; a case of anyone else answers 404.",
         **requires("owner:self", errors=[404]))
    async def get_mine(self, session: AsyncSession, authz: Authorizer, case_id: uuid.UUID) -> Response[OwnCaseOut]:
        c = await cases.get_mine(session, authz, case_id)
        return with_etag(await cases.own_out(session, c), c.version)


COLLECTIONS = "/api/v1/collections"
FEED_HEADER = ",".join(collections.REQUIRED) + "(,bank_recommends_litigation)?"
FEED_PATTERN = f"^{FEED_HEADER}\\r?\\n[^\\r\\n]*[^\\x00-\\x20,\"][^\\r\\n]*(\\r?\\n[^\\r\\n]*)*$"


@dataclass
class FeedUploadOperation(Operation):
    """The feed import reads the raw body: the document shows it as the CSV file it is."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True, description="The feed, a CSV file in UTF-8 or GBK/GB18030, or an XLSX workbook (its first "
                                       "sheet, the same columns in its first row).",
            content={"text/csv": OpenAPIMediaType(schema=OpenAPISchema(type=OpenAPIType.STRING, pattern=FEED_PATTERN)),
                     XLSX_MEDIA_TYPE: OpenAPIMediaType(schema=OpenAPISchema(type=OpenAPIType.STRING,
                                                                            format=OpenAPIFormat.BINARY))})


class CollectionController(Controller):
    path = COLLECTIONS
    tags = ["Overdue collection"]
    dependencies = DEPENDENCIES

    async def _move(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    case_id: uuid.UUID, action: Callable[..., Awaitable[Any]], data: Any) -> Response[CollectionOut]:
        return await updated(request, collections.get_case(session, authz, case_id, lock=True),
                             lambda c, path: action(session, authz, c, path, data),
                             lambda c: collections.collection_out(session, c))

    @post("/feed", operation_id="importOverdueFeed", status_code=200,
          summary="Import finance's overdue feed (CSV or XLSX): idempotent, all rows or none",
          description=f"Columns: {', '.join(collections.COLUMNS)} (the last optional: yes/no, 是/否). A loan is "
                      "matched by its account number: a new one opens a case, a changed row updates it, an "
                      "unchanged one is left as it is, an amount of 0 closes it. Wrong rows (an unknown unit, a "
                      "unit without an owner, a bad cell) are reported by line (`lines.N.field`) and nothing is "
                      "imported (409). An XLSX workbook (told by its first bytes) is read from its first sheet; "
                      "its lines are the sheet's row numbers.", request_max_body_size=collections.MAX_BYTES,
          operation_class=FeedUploadOperation,
          **requires("collections:write", errors=[409, 413]))
    async def import_feed(self, session: AsyncSession, authz: Authorizer, body: bytes,
                          as_of: date | None = Parameter(query="asOf", default=None,
                                                         description="The feed's date; today when absent.")
                          ) -> FeedResult:
        return await collections.import_file(session, authz, body, as_of)

    @post("/feed/rows", operation_id="importOverdueRows", status_code=200,
          summary="The overdue feed as JSON rows (finance's system calling): the same rules as the CSV file",
          request_max_body_size=collections.MAX_BYTES,
          description="Finance's overdue feed as JSON rows (`asOf`, the feed's date, today when absent), under the "
                      "same rules as the file: each row finds its unit by building code and unit number and its case "
                      "by the loan account; a new loan opens a case, a changed row updates it (an amount of 0 closes "
                      "it, a positive one reopens a closed case), an unchanged row is left as it is. A row for an "
                      "unknown unit, one outside the projects where the caller holds `collections.write`, a unit "
                      "without an owner, or a loan listed twice is reported as `rows.N.field` and nothing is imported "
                      "(409). Audited for each case it opens or changes.",
          **requires("collections:write", errors=[409, 413]))
    async def import_rows(self, session: AsyncSession, authz: Authorizer, data: FeedIn) -> FeedResult:
        return await collections.import_json(session, authz, data)

    @get("/cases", operation_id="listCollectionCases", summary="List collection cases (referred ones, a unit's...)",
         dependencies={"page": page_params(*collections.SORT)},
         description="Overdue collection cases at or under the nodes where the caller's roles hold "
                     "`collections.read`, a page at a time, longest overdue first, with their reminders, the loan "
                     "account masked: filter by status (open, referred, litigated, closed), unit or a node's subtree. "
                     "Needs collections:read.",
         **requires("collections:read"))
    async def list_cases(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: CollectionStage | None = Parameter(query="status", default=None),
        unit_id: uuid.UUID | None = Parameter(query="unitId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[CollectionOut]:
        return await collections.list_cases(session, authz, page, status=status, unit_id=unit_id, node_id=node_id)

    @get("/rule", operation_id="getLitigationRule", summary="The tenant's litigation thresholds",
         description="The tenant's litigation rule, applied daily to open collection cases: a case is referred to the "
                     "general management department when the bank recommends it, the loan is overdue more than "
                     "`months` (6 by default), or the overdue amount exceeds `amount` yuan (20,000 by default). Needs "
                     "collections:read.",
         **requires("collections:read"))
    async def get_rule(self, session: AsyncSession) -> LitigationRule:
        return await collections.rule(session)

    @get("/cases/{case_id:uuid}", operation_id="getCollectionCase", summary="A collection case with its reminders",
         description="One collection case: the owner, unit, bank and masked loan account, the overdue amount, since "
                     "when and for how many months, its status, the reasons it was referred, the litigation's "
                     "outcome, every reminder and the next promise to pay. The ETag is what If-Match needs for a "
                     "reminder or an outcome. Needs `collections.read` at the unit's project (404 otherwise).",
         **requires("collections:read", errors=[404]))
    async def get_case(self, session: AsyncSession, authz: Authorizer, case_id: uuid.UUID) -> Response[CollectionOut]:
        c, _ = await collections.get_case(session, authz, case_id)
        return with_etag(await collections.collection_out(session, c), c.version)

    @get("/cases/{case_id:uuid}/materials", operation_id="getLitigationMaterials",
         summary="The compiled materials for the general management department: the case, amounts, reminders, "
                 "timeline",
         description="What the general management department receives for a case: the case with its amounts, referral "
                     "reasons and reminders, the owner's name and the unit, the stored documents of the loan's "
                     "guarantee, and the case's timeline (its audit trail). Reading it changes nothing. Needs "
                     "`collections.read` at the unit's project (404 otherwise).",
         **requires("collections:read", errors=[404]))
    async def materials(self, session: AsyncSession, authz: Authorizer, case_id: uuid.UUID) -> Materials:
        c, _ = await collections.get_case(session, authz, case_id)
        return await package.materials(session, c)

    @post("/cases/{case_id:uuid}/reminders", operation_id="logCollectionReminder", status_code=200,
          summary="Log a reminder to the owner: channel, outcome, a promise to pay",
          description="Logs a reminder made to the owner (phone, SMS, e-mail, lawyer's letter or visit) with its "
                      "outcome, when it was made (now when absent, never in the future) and, with the outcome "
                      "`promised`, the day they promised to pay by (today or later). Needs `collections.write` at the "
                      "unit's project and If-Match; 409 once the case is litigated or closed. Audited.",
          **requires("collections:write", errors=MOVES))
    async def remind(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     case_id: uuid.UUID, data: ReminderIn) -> Response[CollectionOut]:
        return await self._move(request, session, authz, case_id, collections.remind, data)

    @post("/cases/{case_id:uuid}/package", operation_id="compileReferralPackage", status_code=202,
          summary="Compile the referral package for the general management department (a background job)",
          description="A referred case only (409 otherwise). Follow `Location` to the job; once it succeeded the "
                      "ZIP (summary.pdf, materials.json and the guarantee's documents) is at "
                      "`/api/v1/collections/packages/{jobId}/zip`. Accepts `Idempotency-Key`.",
          **requires("collections:read", errors=[404, 409]))
    async def compile_package(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              case_id: uuid.UUID) -> Response[JobOut]:
        async def produce() -> Response[JobOut]:
            c, _ = await collections.get_case(session, authz, case_id)
            package.check_referred(c)
            job = await create_job(session, package.KIND)
            enqueue_after_commit(session, tasks.build_package, tenant=request.user.tenant, job_id=str(job.id),
                                 case_id=str(c.id))
            return accepted(job)

        return await idempotent(request, session, produce)

    @get("/packages/{job_id:uuid}/zip", operation_id="downloadReferralPackage", media_type="application/zip",
         summary="Download a referral package", response_description="The ZIP file.",
         description="Only the package's requester may download it; 409 until the job succeeded.",
         **requires("collections:read", errors=[404, 409]))
    async def download_package(self, request: Request[Any, Any, Any], session: AsyncSession,
                               job_id: uuid.UUID) -> Response[bytes]:
        content, name = await package.download(session, job_id, request.user.subject)
        return Response(content, media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @post("/cases/{case_id:uuid}/outcome", operation_id="recordLitigationOutcome", status_code=200,
          summary="Record the outcome of the litigation of a referred case",
          description="Records how the litigation of a referred case ended (won, settled, lost or withdrawn), the day "
                      "decided and a note (referred → litigated). Needs `collections.write` at the unit's project and "
                      "If-Match; 409 unless the case is referred. Audited.",
          **requires("collections:write", errors=MOVES))
    async def outcome(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      case_id: uuid.UUID, data: LitigationOutcome) -> Response[CollectionOut]:
        return await self._move(request, session, authz, case_id, collections.record_outcome, data)


CONTROLLERS: list[Any] = [AgencyController, AgreementController, CaseController, certificate_statistics,
                          OwnCaseController, GuaranteeController, CollectionController]
