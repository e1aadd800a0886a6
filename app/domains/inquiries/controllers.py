"""HTTP for inquiries: translate requests to service calls, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.inquiries import services
from app.domains.inquiries.models import Inquiry, InquiryStatus
from app.domains.inquiries.schemas import AnswerIn, InquiryCreate, InquiryOut, InquirySummary, TransferIn
from app.domains.org.schemas import Department

BASE = "/api/v1/inquiries"


async def _out(session: AsyncSession, inquiry: Inquiry, status: int = 200) -> Response[InquiryOut]:
    return Response(await services.inquiry_out(session, inquiry), status_code=status,
                    headers={"ETag": etag(inquiry.version)})


class InquiryController(Controller):
    path = BASE
    tags = ["Inquiries"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("/", operation_id="listInquiries", summary="List inquiries (overdue ones, one's own, ...)",
         dependencies={"page": page_params(*services.SORT)},
         description="Inquiries the caller may see (the projects under the nodes where their roles let them read "
                     "inquiries), a page at a time: filter by status, overdue (open past the promised reply "
                     "time), mine (those the caller owns), project, answering department or customer. Needs "
                     "inquiries:read.",
         **requires("inquiries:read"))
    async def list_inquiries(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: InquiryStatus | None = Parameter(query="status", default=None),
        overdue: bool | None = Parameter(query="overdue", default=None,
                                         description="true: open past the promised reply time; false: the others."),
        mine: bool | None = Parameter(query="mine", default=None, description="true: those the caller owns."),
        project_id: uuid.UUID | None = Parameter(query="projectId", default=None),
        department: Department | None = Parameter(query="department", default=None),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None,
                                                  description="Those about this customer."),
    ) -> Page[InquirySummary]:
        return await services.list_inquiries(session, authz, page, status=status, overdue=overdue, mine=mine,
                                             project_id=project_id, department=department, customer_id=customer_id)

    @post("/", operation_id="createInquiry", summary="Record an inquiry; the caller is its first responder",
          description="The department answering for it follows the project's handover date. 404 naming the "
                      "field when the project or customer is not there for the caller.",
          **requires("inquiries:write", errors=[404]))
    async def create_inquiry(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             data: InquiryCreate) -> Response[InquiryOut]:
        async def produce() -> Response[InquiryOut]:
            inquiry = await services.create_inquiry(session, authz, data)
            response = await _out(session, inquiry, 201)
            response.headers["Location"] = f"{BASE}/{inquiry.id}"
            return response

        return await idempotent(request, session, produce)

    @get("/{inquiry_id:uuid}", operation_id="getInquiry", summary="An inquiry with its transfers",
         description="One inquiry with its chain of transfers and the answer once given; the ETag is what If-"
                     "Match needs for a transfer or the answer. Needs inquiries:read and a role that sees its "
                     "project (404 otherwise).",
         **requires("inquiries:read", errors=[404]))
    async def get_inquiry(self, session: AsyncSession, authz: Authorizer,
                          inquiry_id: uuid.UUID) -> Response[InquiryOut]:
        inquiry, _ = await services.get_inquiry(session, authz, inquiry_id)
        return await _out(session, inquiry)

    @post("/{inquiry_id:uuid}/transfer", operation_id="transferInquiry", status_code=200,
          summary="Hand the inquiry on with what the next owner must do",
          description="Past the tenant's transfer limit (setting `inquiries.transfer_limit`, default 2) a further "
                      "transfer needs the permission `inquiries.supervise` (403 otherwise).",
          **requires("inquiries:write", errors=[404, 409, 412, 428]))
    async def transfer(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       inquiry_id: uuid.UUID, data: TransferIn) -> Response[InquiryOut]:
        inquiry, path = await services.get_inquiry(session, authz, inquiry_id, lock=True)
        check_if_match(request, inquiry.version)
        return await _out(session, await services.transfer(session, authz, inquiry, path, data))

    @post("/{inquiry_id:uuid}/answer", operation_id="answerInquiry", status_code=200,
          summary="Record the answer given to the customer",
          description="Records the answer given to the customer and closes the inquiry (open → answered). Needs "
                      "inquiries:write at the inquiry's project and If-Match; 409 when the inquiry is already "
                      "answered.",
          **requires("inquiries:write", errors=[404, 409, 412, 428]))
    async def answer(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     inquiry_id: uuid.UUID, data: AnswerIn) -> Response[InquiryOut]:
        inquiry, path = await services.get_inquiry(session, authz, inquiry_id, lock=True)
        check_if_match(request, inquiry.version)
        return await _out(session, await services.answer(session, authz, inquiry, path, data))


CONTROLLERS = [InquiryController]
