"""HTTP for complaints and disputes: translate requests to service calls, nothing more.

The two registers have the same routes under their own paths (``/api/v1/complaints``,
``/api/v1/disputes``), made by one factory; what they share (categories, the SLA policy,
statistics, corrective-action letters, attachments) and the owners' routes live under
``/api/v1/complaints``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core import tenant_settings
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.jobs import JobOut, accepted, create_job
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.complaints import services, statistics, tasks
from app.domains.complaints.models import Complaint, ComplaintStatus, LetterStatus, Register, Severity
from app.domains.complaints.schemas import (
    AttachmentIn,
    AttachmentOut,
    AttachmentUpload,
    CapaLetterIn,
    CapaLetterOut,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    ComplaintOut,
    ComplaintSummary,
    DownloadOut,
    FeedbackIn,
    FindingsIn,
    HandlingIn,
    InvestigateIn,
    LetterResponseIn,
    LitigationIn,
    LitigationOutcomeIn,
    NegotiationIn,
    NoteIn,
    OwnCategoryOut,
    OwnComplaintCreate,
    OwnComplaintOut,
    OwnComplaintSummary,
    OwnNoteIn,
    PauseIn,
    ProposalIn,
    RatingIn,
    RecordCreate,
    RecordUpdate,
    RecurringPage,
    ReopenIn,
    ResumeIn,
    SlaSettings,
    SlaSettingsIn,
    StatisticsExportIn,
    StatisticsOut,
)
from app.storage import ObjectStore
from app.worker import enqueue_after_commit

BASE = "/api/v1/complaints"
DISPUTES = "/api/v1/disputes"
LETTERS = f"{BASE}/capa-letters"
ATTACHMENTS = f"{BASE}/attachments"
MINE = f"{BASE}/mine"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
MONTH = Parameter(query="month", pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", default=None,
                  description="The first month, YYYY-MM (tenant time zone); the current month when absent.")
MONTHS = Parameter(query="months", ge=1, le=60, default=1, description="How many months from `month` on.")
XLSX = statistics.XLSX_MEDIA_TYPE
MOVES = [404, 409, 412, 428]  # what a move on a record may answer beyond the common errors


def _store(request: Request[Any, Any, Any]) -> ObjectStore:
    store: ObjectStore = request.app.state.store  # set at start-up (app/asgi.py)
    return store


async def _record(session: AsyncSession, authz: Authorizer, c: Complaint,
                  status: int = 200) -> Response[ComplaintOut]:
    return Response(await services.record_out(session, authz, c), status_code=status,
                    headers={"ETag": etag(c.version)})


Move = Callable[[AsyncSession, Authorizer, Complaint, str, Any], Awaitable[Complaint]]


def _register_controller(register: Register) -> type[Controller]:
    """The routes of one register; operation ids and tags name it."""
    noun = "Complaint" if register is Register.complaint else "Dispute"
    base = BASE if register is Register.complaint else DISPUTES
    word = noun.lower()

    async def move(request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer, record_id: uuid.UUID,
                   action: Move, data: Any) -> Response[ComplaintOut]:
        c, path = await services.get_record(session, authz, register, record_id, lock=True)
        check_if_match(request, c.version)
        return await _record(session, authz, await action(session, authz, c, path, data))

    class RegisterController(Controller):
        path = base
        tags = [f"{noun}s"]
        dependencies = DEPENDENCIES

        @get("/", operation_id=f"list{noun}s", summary=f"List {word}s (late ones, one's own, escalated, ...)",
             dependencies={"page": page_params(*services.SORT)}, **requires("complaints:read"))
        async def list_records(
            self, session: AsyncSession, authz: Authorizer, page: PageParams,
            status: ComplaintStatus | None = Parameter(query="status", default=None),
            project_id: uuid.UUID | None = Parameter(query="projectId", default=None),
            category_id: uuid.UUID | None = Parameter(query="categoryId", default=None),
            severity: Severity | None = Parameter(query="severity", default=None),
            customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
            mine: bool | None = Parameter(query="mine", default=None, description="true: those the caller handles."),
            overdue: bool | None = Parameter(query="overdue", default=None,
                                             description="true: open, running, and past a due instant."),
            escalated: bool | None = Parameter(query="escalated", default=None),
            paused: bool | None = Parameter(query="paused", default=None),
        ) -> Page[ComplaintSummary]:
            return await services.list_records(session, authz, register, page, status=status, project_id=project_id,
                                               category_id=category_id, severity=severity, customer_id=customer_id,
                                               mine=mine, overdue=overdue, escalated=escalated, paused=paused)

        @post("/", operation_id=f"create{noun}", summary=f"Register a {word} (numbered {services.SERIES[register]}-…)",
              description="The SLA clocks start at `receivedAt` (now when absent), with the category's targets. "
                          "404 naming the field when the project, unit, customer, category or handler is not there "
                          "for the caller; 409 for an inactive category or a `receivedAt` in the future or more "
                          "than a year ago. Accepts `Idempotency-Key`.",
              **requires("complaints:write", errors=[404, 409]))
        async def create_record(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                data: RecordCreate) -> Response[ComplaintOut]:
            async def produce() -> Response[ComplaintOut]:
                c = await services.create_record(session, authz, register, data)
                response = await _record(session, authz, c, 201)
                response.headers["Location"] = f"{base}/{c.id}"
                return response

            return await idempotent(request, session, produce)

        @get("/{record_id:uuid}", operation_id=f"get{noun}",
             summary=f"A {word} with its proposals, negotiations, notes, attachments, letters and history",
             **requires("complaints:read", errors=[404]))
        async def get_record(self, session: AsyncSession, authz: Authorizer,
                             record_id: uuid.UUID) -> Response[ComplaintOut]:
            c, _ = await services.get_record(session, authz, register, record_id)
            return await _record(session, authz, c)

        @patch("/{record_id:uuid}", operation_id=f"update{noun}",
               summary=f"Change a {word}'s details, category (its SLA targets follow), handler or joint group",
               **requires("complaints:write", errors=MOVES))
        async def update_record(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                record_id: uuid.UUID, data: RecordUpdate) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.update_record, data)

        @post("/{record_id:uuid}/investigate", operation_id=f"investigate{noun}", status_code=200,
              summary="Take the matter up (received → investigating): the first response, told to the customer",
              **requires("complaints:write", errors=MOVES))
        async def investigate(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              record_id: uuid.UUID, data: InvestigateIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.investigate, data)

        @post("/{record_id:uuid}/findings", operation_id=f"record{noun}Findings", status_code=200,
              summary="Record the cause and who is responsible (investigating → proposal)",
              **requires("complaints:write", errors=MOVES))
        async def findings(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           record_id: uuid.UUID, data: FindingsIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.record_findings, data)

        @post("/{record_id:uuid}/proposals", operation_id=f"propose{noun}Resolution", status_code=200,
              summary="Propose a resolution and send it for approval (proposal → approval)",
              description="Each kind has its fields: `compensation` an amount, `replacement` the item and a date, "
                          "`repair` a date. The approval chain is the request type `complaint_resolution` "
                          "(`/api/v1/approvals`): its approvers decide there; a rejection brings the record back "
                          "to `proposal` for a new round, every round kept. 409 when nobody can decide a step.",
              **requires("complaints:write", errors=MOVES))
        async def propose(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          record_id: uuid.UUID, data: ProposalIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.propose, data)

        @post("/{record_id:uuid}/negotiations", operation_id=f"record{noun}Negotiation", status_code=200,
              summary="Record a negotiation round on the approved proposal (→ handling, or back to proposal)",
              **requires("complaints:write", errors=MOVES))
        async def negotiate(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            record_id: uuid.UUID, data: NegotiationIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.negotiate, data)

        @post("/{record_id:uuid}/handling", operation_id=f"record{noun}Handling", status_code=200,
              summary="The agreed plan was carried out and checked (handling → feedback; resolution clock stops)",
              **requires("complaints:write", errors=MOVES))
        async def handle(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                         record_id: uuid.UUID, data: HandlingIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.handle, data)

        @post("/{record_id:uuid}/feedback", operation_id=f"record{noun}Feedback", status_code=200,
              summary="Record the customer's opinion and satisfaction (feedback → closed)",
              **requires("complaints:write", errors=MOVES))
        async def feedback(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           record_id: uuid.UUID, data: FeedbackIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.record_feedback, data)

        @post("/{record_id:uuid}/litigation", operation_id=f"take{noun}ToLitigation", status_code=200,
              summary="The matter goes to court (from investigating, proposal or negotiation)",
              description="Needs the permission `complaints.supervise`.",
              **requires("complaints:write", errors=MOVES))
        async def litigate(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           record_id: uuid.UUID, data: LitigationIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.litigate, data)

        @post("/{record_id:uuid}/litigation-outcome", operation_id=f"record{noun}LitigationOutcome",
              status_code=200, summary="Record the court's outcome (litigation → closed)",
              description="Needs the permission `complaints.supervise`.",
              **requires("complaints:write", errors=MOVES))
        async def litigation_outcome(self, request: Request[Any, Any, Any], session: AsyncSession,
                                     authz: Authorizer, record_id: uuid.UUID,
                                     data: LitigationOutcomeIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.record_litigation_outcome, data)

        @post("/{record_id:uuid}/reopen", operation_id=f"reopen{noun}", status_code=200,
              summary="Reopen a closed record (→ investigating); its time closed does not count",
              **requires("complaints:write", errors=MOVES))
        async def reopen(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                         record_id: uuid.UUID, data: ReopenIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.reopen, data)

        @post("/{record_id:uuid}/pause", operation_id=f"pause{noun}Clocks", status_code=200,
              summary="Pause the SLA clocks while waiting on the customer or a third party",
              description="409 once the resolution clock has stopped (resolved, closed, in litigation).",
              **requires("complaints:write", errors=MOVES))
        async def pause(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        record_id: uuid.UUID, data: PauseIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.pause, data)

        @post("/{record_id:uuid}/resume", operation_id=f"resume{noun}Clocks", status_code=200,
              summary="Resume the SLA clocks (any move of the record resumes them too)",
              **requires("complaints:write", errors=MOVES))
        async def resume(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                         record_id: uuid.UUID, data: ResumeIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.resume, data)

        @post("/{record_id:uuid}/notes", operation_id=f"add{noun}Note",
              summary="Add a note: internal, or a reply the customer sees (the first one is the first response)",
              description="Accepts `Idempotency-Key`.", **requires("complaints:write", errors=[404]))
        async def add_note(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           record_id: uuid.UUID, data: NoteIn) -> Response[ComplaintOut]:
            async def produce() -> Response[ComplaintOut]:
                c, path = await services.get_record(session, authz, register, record_id, lock=True)
                return await _record(session, authz, await services.add_note(session, authz, c, path, data), 201)

            return await idempotent(request, session, produce)

        @post("/{record_id:uuid}/attachments", operation_id=f"start{noun}AttachmentUpload",
              summary="Start an attachment upload: a presigned PUT straight to storage",
              description="PUT exactly the declared bytes to `upload.url` with `upload.headers` before "
                          "`upload.expiresAt`, then confirm with `POST /api/v1/complaints/attachments/{id}/complete`. "
                          "Accepts `Idempotency-Key`; 422 naming `filename` when its extension is not the content "
                          "type's (a name without one is given it); 409 past 30 attachments.",
              **requires("complaints:write", errors=[404, 409]))
        async def start_upload(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                               record_id: uuid.UUID, data: AttachmentIn) -> Response[AttachmentUpload]:
            async def produce() -> Response[AttachmentUpload]:
                c, path = await services.get_record(session, authz, register, record_id, lock=True)
                authz.require(services.WRITE, path)
                upload = await services.start_upload(session, _store(request), request.user.tenant, c, data,
                                                     by_owner=False)
                return Response(upload, status_code=201, headers={
                    "Location": f"{ATTACHMENTS}/{upload.attachment.id}", "ETag": etag(upload.attachment.version)})

            return await idempotent(request, session, produce)

        @post("/{record_id:uuid}/capa-letters", operation_id=f"send{noun}CapaLetter",
              summary="Send a closed record's root cause to a responsible department (work-liaison letter)",
              description="The root cause defaults to the investigation's cause. Accepts `Idempotency-Key`.",
              **requires("complaints:write", errors=[404, 409]))
        async def send_letter(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              record_id: uuid.UUID, data: CapaLetterIn) -> Response[CapaLetterOut]:
            async def produce() -> Response[CapaLetterOut]:
                c, path = await services.get_record(session, authz, register, record_id, lock=True)
                letter = await services.send_letter(session, authz, c, path, data)
                return Response(await services.letter_view(session, letter, c), status_code=201,
                                headers={"Location": f"{LETTERS}/{letter.id}", "ETag": etag(letter.version)})

            return await idempotent(request, session, produce)

    RegisterController.__name__ = f"{noun}Controller"
    return RegisterController


ComplaintController = _register_controller(Register.complaint)
DisputeController = _register_controller(Register.dispute)


class ComplaintPolicyController(Controller):
    """What both registers share: categories, the SLA policy, statistics, recurring causes."""

    path = BASE
    tags = ["Complaints"]
    dependencies = DEPENDENCIES

    @get("/categories", operation_id="listComplaintCategories",
         summary="The category tree, with each category's effective SLA targets",
         dependencies={"page": page_params(*services.CATEGORY_SORT)}, **requires("complaints:read"))
    async def list_categories(self, session: AsyncSession, page: PageParams,
                              active: bool | None = Parameter(query="active", default=None)) -> Page[CategoryOut]:
        return await services.list_categories(session, page, active)

    @post("/categories", operation_id="createComplaintCategory", summary="Add a complaint category",
          description="Needs `complaints.configure` at the group node. Targets left out are inherited from the "
                      "parent, up to the group's defaults. Accepts `Idempotency-Key`.",
          **requires("complaints:write", errors=[404, 409]))
    async def create_category(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              data: CategoryCreate) -> Response[CategoryOut]:
        await services.require_configurer(session, authz)

        async def produce() -> Response[CategoryOut]:
            row = await services.create_category(session, data)
            return Response(await services.category_out(session, row), status_code=201,
                            headers={"Location": f"{BASE}/categories/{row.id}", "ETag": etag(row.version)})

        return await idempotent(request, session, produce)

    @get("/categories/{category_id:uuid}", operation_id="getComplaintCategory", summary="A complaint category",
         **requires("complaints:read", errors=[404]))
    async def get_category(self, session: AsyncSession, category_id: uuid.UUID) -> Response[CategoryOut]:
        row = await services.get_category(session, category_id)
        return Response(await services.category_out(session, row), headers={"ETag": etag(row.version)})

    @patch("/categories/{category_id:uuid}", operation_id="updateComplaintCategory",
           summary="Rename a category, change its SLA targets (open records take them), or stop using it",
           description="Needs `complaints.configure` at the group node. New targets apply at once to the open "
                       "records of the category and of those inheriting from it (to the clocks still running), their "
                       "paused time kept.",
           **requires("complaints:write", errors=[404, 412, 428]))
    async def update_category(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              category_id: uuid.UUID, data: CategoryUpdate) -> Response[CategoryOut]:
        row = await services.get_category(session, category_id, lock=True)
        await services.require_configurer(session, authz)
        check_if_match(request, row.version)
        row = await services.update_category(session, row, data)
        return Response(await services.category_out(session, row), headers={"ETag": etag(row.version)})

    @get("/settings", operation_id="getComplaintSettings",
         summary="The SLA policy: default targets, near-breach share, escalation rule",
         **requires("complaints:read"))
    async def get_settings(self, session: AsyncSession, authz: Authorizer) -> Response[SlaSettings]:
        authz.require_anywhere(services.READ)
        value, version = await services.get_sla_settings(session)
        return Response(value, headers={"ETag": etag(version)})

    @put("/settings", operation_id="putComplaintSettings", summary="Change the SLA policy",
         description="Needs `complaints.configure` at the group node; If-Match `\"0\"` while the defaults apply. "
                     "The running clocks of open records take the new targets at once, their paused time kept. "
                     "Escalation levels are kept sorted by `afterPercent`: at each, the supervisors "
                     "(`complaints.supervise`) at the record's project, branch or group are told.",
         **requires("complaints:write", errors=[412, 428]))
    async def put_settings(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: SlaSettingsIn) -> Response[SlaSettings]:
        await services.require_configurer(session, authz)
        _, version = await tenant_settings.get(session, services.SLA_SETTING, lock=True)
        check_if_match(request, version)
        value, version = await services.put_sla_settings(session, data)
        return Response(value, headers={"ETag": etag(version)})

    @get("/statistics", operation_id="getComplaintStatistics",
         summary="Complaint statistics for whole months: counts, business hours, SLA attainment, satisfaction",
         description="Records received in the period (tenant time zone) in the caller's subtree, as they stand "
                     "now, with breakdowns by category, project, branch and channel. For a file, start an export.",
         **requires("complaints:read"))
    async def get_statistics(self, session: AsyncSession, authz: Authorizer, month: str | None = MONTH,
                             months: int = MONTHS,
                             register: Register | None = Parameter(query="register", default=None)) -> StatisticsOut:
        authz.require_anywhere(services.READ)
        return await statistics.compute(session, authz, await statistics.period_of(session, month, months), register)

    @post("/statistics/exports", operation_id="exportComplaintStatistics",
          summary="Export the statistics as CSV and XLSX (a background job)", status_code=202,
          description="Follow `Location` to the job; once it succeeded its result holds the statistics, and the "
                      "files are at `/api/v1/complaints/statistics/exports/{jobId}/csv` and `…/xlsx`. Accepts "
                      "`Idempotency-Key`.",
          **requires("complaints:read"))
    async def export_statistics(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                data: StatisticsExportIn) -> Response[JobOut]:
        authz.require_anywhere(services.READ)

        async def produce() -> Response[JobOut]:
            job = await create_job(session, statistics.EXPORT_KIND)
            enqueue_after_commit(session, tasks.export_statistics, tenant=request.user.tenant, job_id=str(job.id),
                                 month=data.month, months=data.months,
                                 register=data.register.value if data.register else None,
                                 paths=authz.paths(services.READ))
            return accepted(job)

        return await idempotent(request, session, produce)

    @get("/statistics/exports/{job_id:uuid}/csv", operation_id="downloadComplaintStatisticsCsv",
         summary="Download an export's CSV", media_type="text/csv", response_description="The CSV file.",
         description="UTF-8 with a byte-order mark, one row per group, the totals first. Columns: "
                     + ", ".join(f"`{c}`" for c in statistics.CSV_COLUMNS)
                     + ". Only the export's requester may download it; 409 until the job succeeded.",
         **requires("complaints:read", errors=[404, 409]))
    async def download_csv(self, request: Request[Any, Any, Any], session: AsyncSession,
                           job_id: uuid.UUID) -> Response[bytes]:
        content, name = await statistics.export_file(session, job_id, request.user.subject, "csv")
        return Response(content, media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get("/statistics/exports/{job_id:uuid}/xlsx", operation_id="downloadComplaintStatisticsXlsx",
         summary="Download an export's workbook", media_type=XLSX, response_description="The XLSX workbook.",
         description="A summary sheet and one sheet per breakdown. Only the export's requester may download it; "
                     "409 until the job succeeded.",
         **requires("complaints:read", errors=[404, 409]))
    async def download_xlsx(self, request: Request[Any, Any, Any], session: AsyncSession,
                            job_id: uuid.UUID) -> Response[bytes]:
        content, name = await statistics.export_file(session, job_id, request.user.subject, "xlsx")
        return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get("/recurring", operation_id="listRecurringComplaintCauses",
         summary="Recurring causes: category × project pairs with several records in the period",
         **requires("complaints:read"))
    async def recurring(self, session: AsyncSession, authz: Authorizer, month: str | None = MONTH,
                        months: int = MONTHS,
                        min_count: int = Parameter(query="minCount", ge=2, le=1000, default=2),
                        register: Register | None = Parameter(query="register", default=None)) -> RecurringPage:
        authz.require_anywhere(services.READ)
        period = await statistics.period_of(session, month, months)
        return await statistics.recurring(session, authz, period, min_count, register)


class CapaLetterController(Controller):
    """Work-liaison letters of both registers: follow them up, record the department's response."""

    path = LETTERS
    tags = ["Complaints"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listCapaLetters", summary="Work-liaison letters (overdue ones, one record's, ...)",
         dependencies={"page": page_params(*services.LETTER_SORT)}, **requires("complaints:read"))
    async def list_letters(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: LetterStatus | None = Parameter(query="status", default=None),
        overdue: bool | None = Parameter(query="overdue", default=None,
                                         description="true: not responded to by the due date."),
        complaint_id: uuid.UUID | None = Parameter(query="complaintId", default=None),
    ) -> Page[CapaLetterOut]:
        return await services.list_letters(session, authz, page, status=status, overdue=overdue,
                                           complaint_id=complaint_id)

    @get("/{letter_id:uuid}", operation_id="getCapaLetter", summary="A work-liaison letter",
         **requires("complaints:read", errors=[404]))
    async def get_letter(self, session: AsyncSession, authz: Authorizer,
                         letter_id: uuid.UUID) -> Response[CapaLetterOut]:
        letter, c, _ = await services.get_letter(session, authz, letter_id)
        return Response(await services.letter_view(session, letter, c), headers={"ETag": etag(letter.version)})

    @post("/{letter_id:uuid}/response", operation_id="respondToCapaLetter", status_code=200,
          summary="Record the responsible department's response",
          description="By the letter's assignee, or anyone who may work the record.",
          **requires("complaints:write", errors=MOVES))
    async def respond(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      letter_id: uuid.UUID, data: LetterResponseIn) -> Response[CapaLetterOut]:
        letter, c, path = await services.get_letter(session, authz, letter_id, lock=True)
        check_if_match(request, letter.version)
        letter = await services.respond_letter(session, authz, letter, c, path, data)
        return Response(await services.letter_view(session, letter, c), headers={"ETag": etag(letter.version)})


class AttachmentController(Controller):
    """Attachments of both registers: confirm an upload, download."""

    path = ATTACHMENTS
    tags = ["Complaints"]
    dependencies = DEPENDENCIES

    @get("/{attachment_id:uuid}", operation_id="getComplaintAttachment", summary="An attachment's metadata",
         **requires("complaints:read", errors=[404]))
    async def get_attachment(self, session: AsyncSession, authz: Authorizer,
                             attachment_id: uuid.UUID) -> Response[AttachmentOut]:
        a, _, _ = await services.get_attachment(session, authz, attachment_id)
        return Response(services.attachment_out(a), headers={"ETag": etag(a.version)})

    @post("/{attachment_id:uuid}/complete", operation_id="completeComplaintAttachmentUpload", status_code=200,
          summary="Confirm an upload: storage must hold exactly the declared file",
          description="Storage's copy is read back: its size, SHA-256 and stored type, and bytes that begin as the "
                      "declared format does (HTML sent as a PNG is no PNG). 409 while nothing was uploaded, or when "
                      "the stored bytes are not the declared ones.",
          **requires("complaints:write", errors=[404, 409]))
    async def complete(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       attachment_id: uuid.UUID) -> Response[AttachmentOut]:
        a, _, path = await services.get_attachment(session, authz, attachment_id, lock=True)
        authz.require(services.WRITE, path)
        a = await services.complete_upload(session, _store(request), request.user.tenant, a)
        return Response(services.attachment_out(a), headers={"ETag": etag(a.version)})

    @get("/{attachment_id:uuid}/download", operation_id="downloadComplaintAttachment",
         summary="A short-lived download URL of a stored attachment",
         description="Served as the declared content type, as an attachment named with that type's extension.",
         **requires("complaints:read", errors=[404, 409]))
    async def download(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       attachment_id: uuid.UUID) -> DownloadOut:
        a, _, _ = await services.get_attachment(session, authz, attachment_id)
        return await services.download(_store(request), request.user.tenant, a)


class MyComplaintController(Controller):
    """Home owners (``owner:self``): file complaints about their own units, follow them, add
    information and photos, rate the result. Internal notes and history never show here."""

    path = MINE
    tags = ["Complaints"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listMyComplaints", summary="The caller's own complaints (home owners)",
         dependencies={"page": page_params(*services.SORT)}, **requires("owner:self"))
    async def list_mine(self, session: AsyncSession, authz: Authorizer,
                        page: PageParams) -> Page[OwnComplaintSummary]:
        return await services.list_mine(session, authz, page)

    @post("/", operation_id="fileMyComplaint", summary="File a complaint about one of one's units (home owners)",
          description="Customer service classifies it when no category is given. 404 naming `unitId` when the "
                      "unit is not one of the caller's. Accepts `Idempotency-Key`.",
          **requires("owner:self", errors=[404, 409]))
    async def create_mine(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: OwnComplaintCreate) -> Response[OwnComplaintOut]:
        async def produce() -> Response[OwnComplaintOut]:
            c = await services.create_mine(session, authz, data)
            return Response(await services.own_out(session, c), status_code=201,
                            headers={"Location": f"{MINE}/{c.id}", "ETag": etag(c.version)})

        return await idempotent(request, session, produce)

    @get("/categories", operation_id="listMyComplaintCategories", summary="Categories an owner may choose from",
         dependencies={"page": page_params(*services.CATEGORY_SORT)}, **requires("owner:self"))
    async def categories(self, session: AsyncSession, page: PageParams) -> Page[OwnCategoryOut]:
        return await services.own_categories(session, page)

    @get("/{record_id:uuid}", operation_id="getMyComplaint", summary="One's own complaint, as the owner sees it",
         **requires("owner:self", errors=[404]))
    async def get_mine(self, session: AsyncSession, authz: Authorizer,
                       record_id: uuid.UUID) -> Response[OwnComplaintOut]:
        c = await services.get_mine(session, authz, record_id)
        return Response(await services.own_out(session, c), headers={"ETag": etag(c.version)})

    @post("/{record_id:uuid}/notes", operation_id="addMyComplaintNote", summary="Add information (home owners)",
          description="Accepts `Idempotency-Key`.", **requires("owner:self", errors=[404]))
    async def add_note(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       record_id: uuid.UUID, data: OwnNoteIn) -> Response[OwnComplaintOut]:
        async def produce() -> Response[OwnComplaintOut]:
            c = await services.get_mine(session, authz, record_id, lock=True)
            c = await services.add_own_note(session, c, data)
            return Response(await services.own_out(session, c), status_code=201, headers={"ETag": etag(c.version)})

        return await idempotent(request, session, produce)

    @post("/{record_id:uuid}/rating", operation_id="rateMyComplaint", status_code=200,
          summary="Rate the result (home owners): closes a complaint awaiting feedback",
          description="409 before the complaint was handled, or once it was rated.",
          **requires("owner:self", errors=MOVES))
    async def rate(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   record_id: uuid.UUID, data: RatingIn) -> Response[OwnComplaintOut]:
        c = await services.get_mine(session, authz, record_id, lock=True)
        check_if_match(request, c.version)
        c = await services.rate(session, c, data)
        return Response(await services.own_out(session, c), headers={"ETag": etag(c.version)})

    @post("/{record_id:uuid}/attachments", operation_id="startMyComplaintAttachmentUpload",
          summary="Start a photo upload (home owners): a presigned PUT straight to storage",
          description="Then confirm with `POST /api/v1/complaints/mine/attachments/{id}/complete`. Accepts "
                      "`Idempotency-Key`; 422 naming `filename` when its extension is not the content type's; 409 "
                      "past 30 attachments.",
          **requires("owner:self", errors=[404, 409]))
    async def start_upload(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           record_id: uuid.UUID, data: AttachmentIn) -> Response[AttachmentUpload]:
        async def produce() -> Response[AttachmentUpload]:
            c = await services.get_mine(session, authz, record_id, lock=True)
            upload = await services.start_upload(session, _store(request), request.user.tenant, c, data,
                                                 by_owner=True)
            return Response(upload, status_code=201, headers={
                "Location": f"{MINE}/attachments/{upload.attachment.id}", "ETag": etag(upload.attachment.version)})

        return await idempotent(request, session, produce)

    @post("/attachments/{attachment_id:uuid}/complete", operation_id="completeMyComplaintAttachmentUpload",
          status_code=200, summary="Confirm a photo upload (home owners)",
          description="As for staff: 409 while nothing was uploaded, or when the stored bytes are not the declared "
                      "ones (size, SHA-256, or not the declared format).",
          **requires("owner:self", errors=[404, 409]))
    async def complete(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       attachment_id: uuid.UUID) -> Response[AttachmentOut]:
        a, _ = await services.get_own_attachment(session, authz, attachment_id, lock=True)
        a = await services.complete_upload(session, _store(request), request.user.tenant, a)
        return Response(services.attachment_out(a), headers={"ETag": etag(a.version)})

    @get("/attachments/{attachment_id:uuid}/download", operation_id="downloadMyComplaintAttachment",
         summary="A short-lived download URL of one's own photo (home owners)",
         **requires("owner:self", errors=[404, 409]))
    async def download(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       attachment_id: uuid.UUID) -> DownloadOut:
        a, _ = await services.get_own_attachment(session, authz, attachment_id)
        return await services.download(_store(request), request.user.tenant, a)


CONTROLLERS: list[type[Controller]] = [MyComplaintController, ComplaintPolicyController, CapaLetterController,
                                       AttachmentController, ComplaintController, DisputeController]
