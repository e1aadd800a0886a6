"""HTTP for the approval engine: chains, requests and their actions, the caller's inbox."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.approvals import services
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.schemas import (
    ChainIn,
    ChainOut,
    Decision,
    Delegation,
    Rejection,
    RequestCreate,
    RequestDetail,
    RequestOut,
    Resubmission,
    Withdrawal,
    money,
)
from app.domains.org.services import get_root

TypePath = Parameter(max_length=60, description="The request type's code, e.g. `change_control`.")
REQUEST_SORTS = ("createdAt", "submittedAt", "updatedAt", "title")


def _chain(chain: services.Chain) -> Response[ChainOut]:
    return Response(chain.out(), headers={"ETag": etag(chain.version)})


async def _detail(session: AsyncSession, request: ApprovalRequest) -> Response[RequestDetail]:
    return Response(await services.detail(session, request), headers={"ETag": etag(request.version)})


class ApprovalController(Controller):
    path = "/api/v1/approvals"
    tags = ["Approvals"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    # ------------------------------------------------------------------------- chains

    @get("/chains", operation_id="listApprovalChains", summary="List approval chains, one per request type",
         dependencies={"page": page_params("requestType")},
         description="The approval chain of every request type (approving proposals, customer changes and merges,"
                     " plans, ...): its steps, each with the role that decides it and where in the org tree. "
                     "Needs approvals:read.",
         **requires("approvals:read"))
    async def list_chains(self, session: AsyncSession, page: PageParams) -> Page[ChainOut]:
        return await services.list_chains(session, page)

    @get("/chains/{request_type:str}", operation_id="getApprovalChain",
         summary="Get a request type's approval chain (version 0: the type's default)",
         description="One request type's chain: its steps, each naming the deciding role and the node it is held "
                     "at relative to the request, and the version in force (0 while the type's default applies). "
                     "Its ETag is what If-Match needs to replace it. Needs approvals:read; 404 for an unknown "
                     "request type.",
         **requires("approvals:read", errors=[404]))
    async def get_chain(self, session: AsyncSession,
                        request_type: str = TypePath) -> Response[ChainOut]:
        return _chain(await services.get_chain(session, request_type))

    @put("/chains/{request_type:str}", operation_id="putApprovalChain",
         summary="Replace a request type's approval chain (If-Match: \"0\" replaces the default or creates one)",
         description="Needs the permission `approvals.configure` at the group. Requests already under way "
                     "keep the chain they were submitted with.",
         **requires("approvals:write", errors=[404, 409, 412, 428]))
    async def put_chain(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        data: ChainIn, request_type: str = TypePath) -> Response[ChainOut]:
        authz.require("approvals.configure", (await get_root(session)).path)
        if_match = request.headers.get("if-match")
        if if_match is None:
            check_if_match(request, 0)  # answers 428 before anything is looked up
        chain = await services.chain_for_update(session, request_type)
        if chain is None and if_match != '"0"':
            # No chain yet (nor a default): If-Match "0" creates one; any other tag names a
            # version that never existed.
            raise services.no_chain(request_type)
        check_if_match(request, chain.version if chain else 0)
        return _chain(await services.save_chain(session, chain, request_type, data))

    # ----------------------------------------------------------------------- requests

    @post("/requests", operation_id="createApprovalRequest",
          summary="Create and submit an approval request (types open to direct submission)",
          description="Needs the request type's own permission on the record's node. `submit: false` keeps "
                      "it a draft. 404 naming the field for an unknown request type or node.",
          **requires("approvals:write", errors=[404, 409]))
    async def create_request(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             data: RequestCreate) -> Response[RequestDetail]:
        return await created(request, session, lambda: services.create_request(
            session, request_type=data.type, title=data.title, payload=data.payload, node_id=data.node_id,
            amount=money(data.amount), reason=data.reason, submit=data.submit, authz=authz,
        ), lambda r: services.detail(session, r), lambda r: f"/api/v1/approvals/requests/{r.id}")

    @get("/requests", operation_id="listApprovalRequests",
         summary="List approval requests the caller may see (own, asked to decide, or approvals.read)",
         dependencies={"page": page_params(*REQUEST_SORTS)},
         description="Approval requests the caller may see: their own, those they are asked to decide, or all "
                     "under their nodes with the approvals.read permission; a page at a time, filtered by status,"
                     " type, the record it is about, mine or awaiting me. Needs approvals:read.",
         **requires("approvals:read"))
    async def list_requests(
        self,
        request: Request[Any, Any, Any],
        session: AsyncSession,
        authz: Authorizer,
        page: PageParams,
        status: RequestStatus | None = Parameter(query="status", default=None),
        request_type: str | None = Parameter(query="type", default=None, max_length=60),
        mine: bool = Parameter(query="mine", default=False, description="Only requests the caller submitted."),
        awaiting_me: bool = Parameter(query="awaitingMe", default=False,
                                      description="Only requests whose current step the caller may decide."),
        subject_type: str | None = Parameter(query="subjectType", default=None, max_length=60),
        subject_id: str | None = Parameter(query="subjectId", default=None, max_length=200),
    ) -> Page[RequestOut]:
        return await services.list_requests(session, page, request.user, authz, status=status,
                                            request_type=request_type, mine=mine, awaiting_me=awaiting_me,
                                            subject_type=subject_type, subject_id=subject_id)

    @get("/requests/{request_id:uuid}", operation_id="getApprovalRequest",
         summary="Get an approval request with its full history, round by round",
         description="One approval request with its whole history round by round: who submitted, each step's "
                     "decision, comment and decider, delegations. Needs approvals:read and to be its submitter, "
                     "one of its approvers, or to hold approvals.read where it lives (404 otherwise).",
         **requires("approvals:read", errors=[404]))
    async def get_request(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          request_id: uuid.UUID) -> Response[RequestDetail]:
        return await _detail(session, await services.get_request(session, request_id, request.user, authz))

    @get("/inbox", operation_id="getApprovalInbox", summary="Requests awaiting the caller's decision",
         dependencies={"page": page_params(*REQUEST_SORTS)},
         description="The requests waiting at a step the caller may decide (by their roles, or delegated to "
                     "them), a page at a time. Needs approvals:read.",
         **requires("approvals:read"))
    async def inbox(self, request: Request[Any, Any, Any], session: AsyncSession,
                    page: PageParams) -> Page[RequestOut]:
        return await services.inbox(session, page, request.user)

    # ------------------------------------------------------------------------ actions

    @post("/requests/{request_id:uuid}/submit", operation_id="submitApprovalRequest", status_code=200,
          summary="Submit a draft (its submitter)",
          description="Sends a draft to its first step. Only its submitter; 409 unless it is a draft. Accepts "
                      "Idempotency-Key: a retry answers the first result.",
          **requires("approvals:write", errors=[404, 409], idempotent=True))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     request_id: uuid.UUID) -> Response[RequestDetail]:
        async def produce() -> Response[RequestDetail]:
            done = await services.submit(session, request_id, principal=request.user, authz=authz)
            return await _detail(session, done)

        return await idempotent(request, session, produce)

    @post("/requests/{request_id:uuid}/approve", operation_id="approveApprovalRequest", status_code=200,
          summary="Approve the current step (an approver of it)",
          description="Approves the current step with an optional comment: the request moves to the next step, or"
                      " is approved after the last one, and the record it is about takes its next state. Only an "
                      "approver of the current step; 409 when the request is no longer pending. Accepts "
                      "Idempotency-Key.",
          **requires("approvals:write", errors=[404, 409], idempotent=True))
    async def approve(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      request_id: uuid.UUID, data: Decision) -> Response[RequestDetail]:
        async def produce() -> Response[RequestDetail]:
            done = await services.decide(session, request_id, approve=True, comment=data.comment,
                                         expected_step=data.step, principal=request.user, authz=authz,
                                         refer=data.refer)
            return await _detail(session, done)

        return await idempotent(request, session, produce)

    @post("/requests/{request_id:uuid}/reject", operation_id="rejectApprovalRequest", status_code=200,
          summary="Reject at the current step, with a comment (an approver of it)",
          description="Rejects the request at the current step with a comment; the submitter may revise and "
                      "resubmit it. Only an approver of the current step; 409 when the request is no longer "
                      "pending. Accepts Idempotency-Key.",
          **requires("approvals:write", errors=[404, 409], idempotent=True))
    async def reject(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     request_id: uuid.UUID, data: Rejection) -> Response[RequestDetail]:
        async def produce() -> Response[RequestDetail]:
            done = await services.decide(session, request_id, approve=False, comment=data.comment,
                                         expected_step=data.step, principal=request.user, authz=authz)
            return await _detail(session, done)

        return await idempotent(request, session, produce)

    @post("/requests/{request_id:uuid}/withdraw", operation_id="withdrawApprovalRequest", status_code=200,
          summary="Withdraw a request (its submitter); final",
          description="The submitter takes the request back; a withdrawn request is final. 409 when its state no "
                      "longer allows it. Accepts Idempotency-Key.",
          **requires("approvals:write", errors=[404, 409], idempotent=True))
    async def withdraw(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       request_id: uuid.UUID, data: Withdrawal) -> Response[RequestDetail]:
        async def produce() -> Response[RequestDetail]:
            done = await services.withdraw(session, request_id, comment=data.comment, principal=request.user,
                                           authz=authz)
            return await _detail(session, done)

        return await idempotent(request, session, produce)

    @post("/requests/{request_id:uuid}/resubmit", operation_id="resubmitApprovalRequest", status_code=200,
          summary="Revise a rejected request and resubmit it as a new round (its submitter)",
          description="The submitter revises a rejected request and sends it again, as a new round from the first"
                      " step. 409 unless it is rejected. Accepts Idempotency-Key.",
          **requires("approvals:write", errors=[404, 409], idempotent=True))
    async def resubmit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       request_id: uuid.UUID, data: Resubmission) -> Response[RequestDetail]:
        async def produce() -> Response[RequestDetail]:
            done = await services.resubmit(session, request_id, data, principal=request.user, authz=authz)
            return await _detail(session, done)

        return await idempotent(request, session, produce)

    @post("/requests/{request_id:uuid}/delegate", operation_id="delegateApprovalRequest", status_code=200,
          summary="Let another account decide the current step too (an approver of it)",
          description="An approver of the current step lets another account of the group decide that step too "
                      "(while away, say). 409 when the request is no longer pending. Accepts Idempotency-Key.",
          **requires("approvals:write", errors=[404, 409], idempotent=True))
    async def delegate(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       request_id: uuid.UUID, data: Delegation) -> Response[RequestDetail]:
        async def produce() -> Response[RequestDetail]:
            done = await services.delegate(session, request_id, data, principal=request.user, authz=authz)
            return await _detail(session, done)

        return await idempotent(request, session, produce)


CONTROLLERS = [ApprovalController]
