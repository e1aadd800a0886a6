"""HTTP for the two registers: the same routes under their own paths (``/api/v1/complaints``,
``/api/v1/disputes``), made by one factory."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.etag import etag
from app.core.idempotency import idempotent
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created, updated
from app.domains.access.authz import Authorizer
from app.domains.complaints import services
from app.domains.complaints.controllers.common import (
    ATTACHMENTS,
    BASE,
    DEPENDENCIES,
    DISPUTES,
    LETTERS,
    MOVES,
    store_of,
)
from app.domains.complaints.models import Complaint, ComplaintStatus, Register, Severity
from app.domains.complaints.schemas import (
    AttachmentIn,
    AttachmentUpload,
    CapaLetterIn,
    CapaLetterOut,
    ComplaintOut,
    ComplaintSummary,
    FeedbackIn,
    FindingsIn,
    HandlingIn,
    InvestigateIn,
    LitigationIn,
    LitigationOutcomeIn,
    NegotiationIn,
    NoteIn,
    PauseIn,
    ProposalIn,
    RecordCreate,
    RecordUpdate,
    ReopenIn,
    ResumeIn,
)


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
        return await updated(request, services.get_record(session, authz, register, record_id, lock=True),
                             lambda c, path: action(session, authz, c, path, data),
                             lambda c: services.record_out(session, authz, c))

    class RegisterController(Controller):
        path = base
        tags = [f"{noun}s"]
        dependencies = DEPENDENCIES

        @get("/", operation_id=f"list{noun}s", summary=f"List {word}s (late ones, one's own, escalated, ...)",
             dependencies={"page": page_params(*services.SORT)},
             description=f"The {word}s the caller may see (those of the projects under the nodes where their roles"
                         f" let them read complaints), a page at a time: filter by status, project, category, "
                         f"severity, customer, mine (those the caller handles), overdue (open, running and past a "
                         f"due instant), escalated or paused. Needs complaints:read.",
             **requires("complaints:read"))
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
            return await created(request, session, lambda: services.create_record(session, authz, register, data),
                                 lambda c: services.record_out(session, authz, c), lambda c: f"{base}/{c.id}")

        @get("/{record_id:uuid}", operation_id=f"get{noun}",
             summary=f"A {word} with its proposals, negotiations, notes, attachments, letters and history",
             description=f"One {word} with everything on it: proposals and their approval requests, negotiation "
                         f"rounds, notes, attachments, work-liaison letters and its history, and its SLA clocks. "
                         f"The ETag is what If-Match needs for any step of the loop. Needs complaints:read and a "
                         f"role that sees its project (404 otherwise).",
             **requires("complaints:read", errors=[404]))
        async def get_record(self, session: AsyncSession, authz: Authorizer,
                             record_id: uuid.UUID) -> Response[ComplaintOut]:
            c, _ = await services.get_record(session, authz, register, record_id)
            return await _record(session, authz, c)

        @patch("/{record_id:uuid}", operation_id=f"update{noun}",
               summary=f"Change a {word}'s details, category (its SLA targets follow), handler or joint group",
               description=f"Changes a {word}'s subject, description, category (its SLA targets follow the new "
                           f"category), handler or joint handling group. Needs complaints:write"
                           f" at its project and If-Match; a field naming something the caller cannot see answers "
                           f"404 naming the field.",
               **requires("complaints:write", errors=MOVES))
        async def update_record(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                record_id: uuid.UUID, data: RecordUpdate) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.update_record, data)

        @post("/{record_id:uuid}/investigate", operation_id=f"investigate{noun}", status_code=200,
              summary="Take the matter up (received → investigating): the first response, told to the customer",
              description=f"First step of the loop: the handler takes the matter up and records the first response"
                          f" told to the customer. Needs complaints:write and If-"
                          f"Match; 409 unless the {word} is received.",
              **requires("complaints:write", errors=MOVES))
        async def investigate(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              record_id: uuid.UUID, data: InvestigateIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.investigate, data)

        @post("/{record_id:uuid}/findings", operation_id=f"record{noun}Findings", status_code=200,
              summary="Record the cause and who is responsible (investigating → proposal)",
              description=f"Records the cause found and the party responsible"
                          f"; the {word} moves on to proposal. Needs complaints:write and If-Match; "
                          f"409 unless it is investigating.",
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
              description=f"One round of negotiation with the customer on the approved proposal: agreed moves the "
                          f"{word} to handling, not agreed back to proposal for a new one. Needs complaints:write "
                          f"and If-Match; 409 unless it is in negotiation.",
              **requires("complaints:write", errors=MOVES))
        async def negotiate(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            record_id: uuid.UUID, data: NegotiationIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.negotiate, data)

        @post("/{record_id:uuid}/handling", operation_id=f"record{noun}Handling", status_code=200,
              summary="The agreed plan was carried out and checked (handling → feedback; resolution clock stops)",
              description=f"The agreed plan was carried out and its result checked: the resolution clock stops and"
                          f" the {word} waits for the customer's feedback. Needs complaints:write and If-Match; "
                          f"409 unless it is in handling.",
              **requires("complaints:write", errors=MOVES))
        async def handle(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                         record_id: uuid.UUID, data: HandlingIn) -> Response[ComplaintOut]:
            return await move(request, session, authz, record_id, services.handle, data)

        @post("/{record_id:uuid}/feedback", operation_id=f"record{noun}Feedback", status_code=200,
              summary="Record the customer's opinion and satisfaction (feedback → closed)",
              description=f"Records the customer's opinion and satisfaction and closes the {word}. Needs "
                          f"complaints:write and If-Match; 409 unless it is in feedback.",
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
              description=f"Reopens a closed {word}: back to investigating, its resolution clock "
                          f"running again without counting the time it was closed; the reopen count goes up. Needs"
                          f" complaints:write and If-Match; 409 unless it is closed.",
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
              description="Resumes SLA clocks paused while waiting on the customer or a third party."
                          " Needs complaints:write and If-Match; 409 when the "
                          "clocks are not paused.",
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
                upload = await services.start_upload(session, store_of(request), request.user.tenant, c, data,
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
