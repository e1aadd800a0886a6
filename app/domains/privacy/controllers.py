"""HTTP for the privacy domain: translate requests to service calls, nothing more."""

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
from app.core.jobs import JobOut, accepted
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.privacy import approval, mine, retention, services, withdrawal
from app.domains.privacy.models import PrivacyRequest, RequestKind, RequestStatus
from app.domains.privacy.schemas import (
    AnswerIn,
    DeliverIn,
    DetailsOut,
    MyRequestCreate,
    PackageOut,
    PrivacyRequestOut,
    PrivacySettings,
    PrivacySettingsIn,
    RequestCreate,
    RulesIn,
    RulesOut,
    RunOut,
)
from app.domains.privacy.tasks import build_package
from app.worker import enqueue_after_commit

BASE = "/api/v1/privacy"
REQUESTS = f"{BASE}/requests"


async def _out(session: AsyncSession, r: PrivacyRequest, status: int = 200) -> Response[PrivacyRequestOut]:
    return Response(await services.request_out(session, r), status_code=status, headers={"ETag": etag(r.version)})


class PrivacyRequestController(Controller):
    path = REQUESTS
    tags = ["Privacy"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("/", operation_id="listPrivacyRequests", summary="List people's privacy requests (open, overdue, ...)",
         dependencies={"page": page_params(*services.SORT)},
         description="People's privacy requests the caller may see (those of customers at or under the nodes where "
                     "their roles hold `privacy.read`), a page at a time: filter by status, kind, customer, or "
                     "overdue (open past their deadline). The person's own words stay sealed here (`hasDetails` says "
                     "whether there are any). Needs privacy:read.",
         **requires("privacy:read"))
    async def list_requests(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: RequestStatus | None = Parameter(query="status", default=None),
        kind: RequestKind | None = Parameter(query="kind", default=None),
        overdue: bool | None = Parameter(query="overdue", default=None,
                                         description="true: open past their deadline; false: the others."),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
    ) -> Page[PrivacyRequestOut]:
        return await services.list_requests(session, authz, page, status=status, kind=kind, overdue=overdue,
                                            customer_id=customer_id)

    @post("/", operation_id="filePrivacyRequest", summary="Record a person's request to see, copy, correct or "
                                                          "delete their personal information",
          description="The deadline is the filing day plus the tenant setting `privacy.answer_days` (15). 404 "
                      "naming the field when the customer is not there for the caller.",
          **requires("privacy:write", errors=[404, 409]))
    async def file_request(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: RequestCreate) -> Response[PrivacyRequestOut]:
        return await created(request, session, lambda: services.file_request(session, authz, data),
                             lambda r: services.request_out(session, r), lambda r: f"{REQUESTS}/{r.id}")

    @get("/{request_id:uuid}", operation_id="getPrivacyRequest", summary="A privacy request and its outcome",
         description="One privacy request: its deadline, the answer told to the person, what each kind of record did "
                     "(the copy's contents per kind, an erasure's anonymised and kept counts, a withdrawal's "
                     "consents), its approval request where the tenant routes its kind through approval, and whether "
                     "its copy is built. The ETag is what If-Match needs for the next step. Needs `privacy.read` at "
                     "the customer's node (404 otherwise).",
         **requires("privacy:read", errors=[404]))
    async def get_request(self, session: AsyncSession, authz: Authorizer,
                          request_id: uuid.UUID) -> Response[PrivacyRequestOut]:
        r, _ = await services.get_request(session, authz, request_id)
        return await _out(session, r)

    @post("/{request_id:uuid}/details", operation_id="revealPrivacyRequestDetails", status_code=200,
          summary="The person's own words (sealed): shown with a reason, audited",
          description="Opens the person's own words on the request (sealed at rest) for the staff answering it; "
                      "`details` is null when they gave none. Each reveal writes an audit record with the reason "
                      "given. Needs `privacy.read` at the customer's node (404 otherwise); nothing on the request "
                      "changes.",
          **requires("privacy:read", errors=[404]))
    async def details(self, session: AsyncSession, authz: Authorizer, request_id: uuid.UUID,
                      data: DeliverIn) -> DetailsOut:
        r, _ = await services.get_request(session, authz, request_id)
        return await services.reveal_details(session, r, data.reason)

    @post("/{request_id:uuid}/package", operation_id="buildPrivacyPackage", status_code=202,
          summary="Build the copy of everything held about the person (a background job)",
          description="Every domain's records of the person, gathered by a job (follow `Location`) and kept "
                      "sealed on the request until handed over. 409 unless an open access request.",
          **requires("privacy:write", errors=[404, 409, 412, 428]))
    async def package(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      request_id: uuid.UUID) -> Response[JobOut]:
        async def produce() -> Response[JobOut]:
            r, path = await services.get_request(session, authz, request_id, lock=True)
            check_if_match(request, r.version)
            job = await services.start_package(session, authz, r, path)
            enqueue_after_commit(session, build_package, tenant=request.user.tenant, job_id=str(job.id))
            return accepted(job)

        return await idempotent(request, session, produce)

    @post("/{request_id:uuid}/deliver", operation_id="deliverPrivacyPackage", status_code=200,
          summary="Hand the copy over: the package in plain text, audited with the reason",
          description="Completes the access request. 409 while the copy is not built.",
          **requires("privacy:write", errors=[404, 409]))
    async def deliver(self, session: AsyncSession, authz: Authorizer, request_id: uuid.UUID,
                      data: DeliverIn) -> PackageOut:
        r, path = await services.get_request(session, authz, request_id, lock=True)
        return await services.deliver(session, authz, r, path, data.reason)

    @post("/{request_id:uuid}/erase", operation_id="erasePersonalData", status_code=200,
          summary="Carry out an erasure: every domain anonymises or keeps (saying why) what it holds",
          description="Needs the permission `privacy.erase`. Contracts, complaints under litigation and archives "
                      "under retention or legal hold are kept; the outcome lists each kind of record.",
          **requires("privacy:write", errors=[404, 409, 412, 428]))
    async def erase(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    request_id: uuid.UUID, data: AnswerIn) -> Response[PrivacyRequestOut]:
        r, path = await services.get_request(session, authz, request_id, lock=True)
        check_if_match(request, r.version)
        return await _out(session, await services.erase(session, authz, r, path, data))

    @post("/{request_id:uuid}/withdraw", operation_id="withdrawConsents", status_code=200,
          summary="Carry out a consent withdrawal: every consent of the kinds it names is withdrawn",
          description="What the consents covered stops: care campaigns (marketing), behaviour data (erased). The "
                      "outcome counts the consents withdrawn per kind. 409 unless an open withdrawal request.",
          **requires("privacy:write", errors=[404, 409, 412, 428]))
    async def withdraw(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       request_id: uuid.UUID, data: AnswerIn) -> Response[PrivacyRequestOut]:
        r, path = await services.get_request(session, authz, request_id, lock=True)
        check_if_match(request, r.version)
        return await _out(session, await withdrawal.withdraw(session, authz, r, path, data))

    @post("/{request_id:uuid}/complete", operation_id="completePrivacyRequest", status_code=200,
          summary="Complete a correction request with the answer told to the person",
          description="Closes a correction request (open → completed) once staff have corrected the records through "
                      "their own domains' routes, recording the answer told to the person. Needs `privacy.write` at "
                      "the customer's node and If-Match; 409 for another kind (an access request completes by handing "
                      "over its copy, an erasure by erasing, a withdrawal by withdrawing), for a request no longer "
                      "open, or while its approval request is not approved. Audited.",
          **requires("privacy:write", errors=[404, 409, 412, 428]))
    async def complete(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       request_id: uuid.UUID, data: AnswerIn) -> Response[PrivacyRequestOut]:
        r, path = await services.get_request(session, authz, request_id, lock=True)
        check_if_match(request, r.version)
        return await _out(session, await services.complete(session, authz, r, path, data))

    @post("/{request_id:uuid}/refuse", operation_id="refusePrivacyRequest", status_code=200,
          summary="Refuse a request with the reason told to the person",
          description="Refuses an open request of any kind (open → refused), recording the reason told to the person "
                      "(PIPL art. 50); a request awaiting approval may be refused too. Needs `privacy.write` at the "
                      "customer's node and If-Match; 409 unless the request is open. Audited.",
          **requires("privacy:write", errors=[404, 409, 412, 428]))
    async def refuse(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     request_id: uuid.UUID, data: AnswerIn) -> Response[PrivacyRequestOut]:
        r, path = await services.get_request(session, authz, request_id, lock=True)
        check_if_match(request, r.version)
        return await _out(session, await services.refuse(session, authz, r, path, data))


class MyPrivacyRequestController(Controller):
    """Home owners (``owner:self``): their own requests about their personal information."""

    path = f"{BASE}/mine"
    tags = ["Privacy"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("/", operation_id="listMyPrivacyRequests", summary="One's own privacy requests (home owners)",
         dependencies={"page": page_params(*services.SORT)},
         description="The privacy requests about the caller's own customer records (those linked to their account), "
                     "whoever filed them, a page at a time, with the answer once given and `packageReady` once an "
                     "access request's copy is built. Needs owner:self; staff accounts see none.",
         **requires("owner:self"))
    async def list_mine(self, session: AsyncSession, authz: Authorizer, page: PageParams) -> Page[PrivacyRequestOut]:
        return await services.list_mine(session, authz, page)

    @post("/", operation_id="fileMyPrivacyRequest",
          summary="Ask to see, copy, correct or delete one's personal information (home owners)",
          description="About one of the caller's own customer records (404 otherwise); staff answer it by its "
                      "deadline. An access request starts building the copy at once: download it when "
                      "`packageReady`.", **requires("owner:self", errors=[404]))
    async def file_mine(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        data: MyRequestCreate) -> Response[PrivacyRequestOut]:
        async def make() -> PrivacyRequest:
            r, job = await mine.file(session, authz, data)
            if job is not None:
                enqueue_after_commit(session, build_package, tenant=request.user.tenant, job_id=str(job.id))
            return r

        return await created(request, session, make, lambda r: services.request_out(session, r),
                             lambda r: f"{BASE}/mine/{r.id}")

    @get("/{request_id:uuid}", operation_id="getMyPrivacyRequest", summary="One's own privacy request and its answer",
         description="One of the caller's own privacy requests with its status, deadline and the answer once given; "
                     "`packageReady` says when an access request's copy can be downloaded. Needs owner:self; a "
                     "request about anyone else answers 404.",
         **requires("owner:self", errors=[404]))
    async def get_mine(self, session: AsyncSession, authz: Authorizer,
                       request_id: uuid.UUID) -> Response[PrivacyRequestOut]:
        return await _out(session, await services.get_mine(session, authz, request_id))

    @post("/{request_id:uuid}/download", operation_id="downloadMyPrivacyPackage", status_code=200,
          summary="Download one's own copy of everything the group holds about one (home owners)",
          description="The package an access request filed from the app built in the background (`packageReady`); "
                      "downloading it completes the request, audited. 409 while it is not built; 404 for a request "
                      "not one's own.", **requires("owner:self", errors=[404, 409]))
    async def download(self, session: AsyncSession, authz: Authorizer, request_id: uuid.UUID) -> PackageOut:
        return await mine.download(session, authz, request_id)


class RetentionController(Controller):
    path = BASE
    tags = ["Privacy"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("/retention-rules", operation_id="getRetentionRules",
         summary="Each kind of record's retention period: the group's own, or the default",
         description="Every kind of record a domain declares, with its default retention period, the group's own "
                     "period where it set one, and whether the retention scan applies to it. The ETag (\"0\" while "
                     "every default applies) is what If-Match needs to replace them. Needs privacy:read and "
                     "`privacy.read` at some node (403 otherwise).",
         **requires("privacy:read", errors=[403]))
    async def get_rules(self, session: AsyncSession, authz: Authorizer) -> Response[RulesOut]:
        rules = await retention.get_rules(session, authz)
        return Response(rules, headers={"ETag": etag(rules.version)})

    @put("/retention-rules", operation_id="putRetentionRules",
         summary="Replace the group's own retention periods (If-Match \"0\" while every default applies)",
         description="Needs the permission `privacy.configure` at the group. Kinds not listed keep their "
                     "default; a kind no domain declares answers 404 naming the field, one listed twice 409.",
         **requires("privacy:write", errors=[403, 404, 409, 412, 428]))
    async def put_rules(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        data: RulesIn) -> Response[RulesOut]:
        rules = await retention.put_rules(request, session, authz, data)
        return Response(rules, headers={"ETag": etag(rules.version)})

    @get("/settings", operation_id="getPrivacySettings",
         summary="The group's privacy policy: the kinds of request decided through approval",
         description="The kinds of privacy request (access, correction, erasure, withdrawal) that the group decides "
                     "through the approval engine before they are carried out: none by default. The ETag (\"0\" while "
                     "the default applies) is what If-Match needs to change it. Needs privacy:read and `privacy.read` "
                     "at some node (403 otherwise).",
         **requires("privacy:read", errors=[403]))
    async def get_settings(self, session: AsyncSession, authz: Authorizer) -> Response[PrivacySettings]:
        settings, version = await approval.get_settings(session, authz)
        return Response(settings, headers={"ETag": etag(version)})

    @put("/settings", operation_id="putPrivacySettings",
         summary="Change the group's privacy policy (If-Match \"0\" while the default applies)",
         description="Needs the permission `privacy.configure` at the group. Requests of the kinds listed in "
                     "`approvalKinds` submit an approval request when filed and are carried out once approved "
                     "(none by default). Requests already filed keep how they were filed.",
         **requires("privacy:write", errors=[403, 412, 428]))
    async def put_settings(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: PrivacySettingsIn) -> Response[PrivacySettings]:
        settings, version = await approval.put_settings(request, session, authz, data)
        return Response(settings, headers={"ETag": etag(version)})

    @get("/retention-runs", operation_id="listRetentionRuns",
         summary="What each retention scan anonymised, per kind of record",
         dependencies={"page": page_params(*retention.RUN_SORT)},
         description="The daily retention scan's record, a page at a time and newest first: per kind of record, the "
                     "period applied, the cut-off instant and how many records it anonymised; filter by kind. Needs "
                     "privacy:read and `privacy.read` at some node (403 otherwise).",
         **requires("privacy:read", errors=[403]))
    async def list_runs(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                        kind: str | None = Parameter(query="kind", default=None, max_length=60)) -> Page[RunOut]:
        return await retention.list_runs(session, authz, page, kind)


CONTROLLERS = [MyPrivacyRequestController, PrivacyRequestController, RetentionController]
