"""HTTP for mortgage guarantees: record, correct, the mortgage registration, the release
through finance with the bank's confirmation, the guarantee's documents (uploads), the
releasable list and the contingent liability."""

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
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer
from app.domains.certificates import documents, guarantees
from app.domains.certificates.routing import DEPENDENCIES, MOVES, NODE_FILTER
from app.domains.certificates.schemas import (
    DocumentIn,
    DocumentUpload,
    GuaranteeCreate,
    GuaranteeDocumentOut,
    GuaranteeOut,
    GuaranteeUpdate,
    Liability,
    Registration,
    Release,
    ReleaseRequest,
)
from app.storage import ObjectStore
from app.storage.uploads import DownloadOut

GUARANTEES = "/api/v1/guarantees"


def _store(request: Request[Any, Any, Any]) -> ObjectStore:
    store: ObjectStore = request.app.state.store  # set at start-up (app/asgi.py)
    return store


class GuaranteeController(Controller):
    path = GUARANTEES
    tags = ["Mortgage guarantees"]
    dependencies = DEPENDENCIES

    async def _move(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    guarantee_id: uuid.UUID, action: Callable[..., Awaitable[Any]],
                    data: Any) -> Response[GuaranteeOut]:
        return await updated(request, guarantees.get_guarantee(session, authz, guarantee_id, lock=True),
                             lambda g, path: action(session, authz, g, path, data),
                             lambda g: guarantees.guarantee_out(session, g))

    @get("/", operation_id="listGuarantees", summary="List mortgage guarantees (the releasable list, a bank's, ...)",
         dependencies={"page": page_params(*guarantees.SORT)},
         description="The mortgage guarantees at or under the nodes where the caller's roles hold `guarantees.read`, "
                     "a page at a time and newest first, each with its release conditions and documents: filter by "
                     "releasable (finance's list of those to release), released, bank, unit or a node's subtree. The "
                     "loan account shows only its last four digits. Needs guarantees:read.",
         **requires("guarantees:read"))
    async def list_guarantees(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        releasable: bool | None = Parameter(query="releasable", default=None,
                                            description="true: the certificate is issued and the mortgage "
                                                        "registered, and no release is pending or approved."),
        released: bool | None = Parameter(query="released", default=None),
        bank: str | None = Parameter(query="bank", default=None, max_length=200),
        unit_id: uuid.UUID | None = Parameter(query="unitId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[GuaranteeOut]:
        return await guarantees.list_guarantees(session, authz, page, is_releasable=releasable, released=released,
                                                bank=bank, unit_id=unit_id, node_id=node_id)

    @post("/", operation_id="recordGuarantee", summary="Record the company's guarantee on an owner's mortgage loan",
          description="The loan account number is stored sealed. Accepts `Idempotency-Key`.",
          **requires("guarantees:write", errors=[404, 409]))
    async def record(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     data: GuaranteeCreate) -> Response[GuaranteeOut]:
        return await created(request, session, lambda: guarantees.create_guarantee(session, authz, data),
                             lambda g: guarantees.guarantee_out(session, g), lambda g: f"{GUARANTEES}/{g.id}")

    @get("/liability", operation_id="guaranteeLiability",
         summary="The contingent liability: loans still guaranteed, by bank and project",
         description="The company's contingent liability: the guarantees not yet released and the loan amounts they "
                     "cover, per bank and project, totalled per bank and overall, over the guarantees at or under the "
                     "nodes where the caller's roles hold `guarantees.read` (narrowed to a node's subtree with "
                     "`nodeId`). Needs guarantees:read.",
         **requires("guarantees:read"))
    async def liability(self, session: AsyncSession, authz: Authorizer,
                        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                              description=NODE_FILTER)) -> Liability:
        return await guarantees.liability(session, authz, node_id=node_id)

    @get("/{guarantee_id:uuid}", operation_id="getGuarantee",
         summary="A guarantee, whether it is releasable and why",
         description="One guarantee: its bank, loan and period, whether it is releasable and the two conditions "
                     "behind it (the owner's certificate issued, read from their certificate case, and the mortgage "
                     "registered), its release request and release, and its documents. The ETag is what If-Match "
                     "needs for any change. Needs `guarantees.read` at the guarantee's project (404 otherwise).",
         **requires("guarantees:read", errors=[404]))
    async def get_guarantee(self, session: AsyncSession, authz: Authorizer,
                            guarantee_id: uuid.UUID) -> Response[GuaranteeOut]:
        g, _ = await guarantees.get_guarantee(session, authz, guarantee_id)
        return with_etag(await guarantees.guarantee_out(session, g), g.version)

    @patch("/{guarantee_id:uuid}", operation_id="updateGuarantee", summary="Correct a guarantee's terms",
           description="With the reason (audited). 409 once released, or while its release is pending or approved.",
           **requires("guarantees:write", errors=MOVES))
    async def update_guarantee(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                               guarantee_id: uuid.UUID, data: GuaranteeUpdate) -> Response[GuaranteeOut]:
        return await self._move(request, session, authz, guarantee_id, guarantees.update_guarantee, data)

    @post("/{guarantee_id:uuid}/documents", operation_id="startGuaranteeDocumentUpload",
          summary="Start the upload of a guarantee's document (loan or guarantee contract, the bank's release "
                  "confirmation)",
          description="Answers with the document (pending) and a presigned PUT: send exactly its headers with the "
                      "bytes, then `POST /api/v1/guarantees/documents/{id}/complete`. 409 once released. Accepts "
                      "`Idempotency-Key`.",
          **requires("guarantees:write", errors=[404, 409]))
    async def start_document(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             guarantee_id: uuid.UUID, data: DocumentIn) -> Response[DocumentUpload]:
        async def produce() -> Response[DocumentUpload]:
            g, path = await guarantees.get_guarantee(session, authz, guarantee_id, lock=True)
            upload = await documents.start(session, _store(request), request.user.tenant, authz, g, path, data)
            return Response(upload, status_code=201, headers={
                "Location": f"{GUARANTEES}/documents/{upload.document.id}", "ETag": etag(upload.document.version)})

        return await idempotent(request, session, produce)

    @get("/documents/{document_id:uuid}", operation_id="getGuaranteeDocument", summary="A guarantee's document",
         description="One document of a guarantee (loan or guarantee contract, the bank's release confirmation): its "
                     "kind, file name and whether its upload is pending or stored. Needs `guarantees.read` at the "
                     "guarantee's project (404 otherwise).",
         **requires("guarantees:read", errors=[404]))
    async def get_document(self, session: AsyncSession, authz: Authorizer,
                           document_id: uuid.UUID) -> Response[GuaranteeDocumentOut]:
        d, _ = await documents.get_document(session, authz, document_id)
        return with_etag(documents.document_out(d), d.version)

    @post("/documents/{document_id:uuid}/complete", operation_id="completeGuaranteeDocumentUpload", status_code=200,
          summary="Complete a document's upload: storage must hold exactly the declared file",
          description="Confirms the upload once the bytes were PUT to the presigned URL: the document is stored (and "
                      "may back a release) only if storage holds exactly the declared file, else 409 saying what "
                      "differs (nothing uploaded, other bytes, or not the declared type). Repeating it on a stored "
                      "document answers the document unchanged. Needs `guarantees.write` at the guarantee's project. "
                      "Audited.",
          **requires("guarantees:write", errors=[404, 409]))
    async def complete_document(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                document_id: uuid.UUID) -> Response[GuaranteeDocumentOut]:
        d, path = await documents.get_document(session, authz, document_id, lock=True)
        d = await documents.complete(session, _store(request), request.user.tenant, authz, d, path)
        return with_etag(documents.document_out(d), d.version)

    @get("/documents/{document_id:uuid}/download", operation_id="downloadGuaranteeDocument",
         summary="A short-lived URL of the stored document",
         description="A short-lived presigned URL to fetch the stored document, with its expiry. 409 while its upload "
                     "is not completed. Needs `guarantees.read` at the guarantee's project (404 otherwise).",
         **requires("guarantees:read", errors=[404, 409]))
    async def download_document(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                document_id: uuid.UUID) -> DownloadOut:
        d, _ = await documents.get_document(session, authz, document_id)
        return await documents.download(_store(request), request.user.tenant, d)

    @post("/{guarantee_id:uuid}/registration", operation_id="recordMortgageRegistration", status_code=200,
          summary="Record the mortgage registration on the owner's certificate",
          description="Records the date and number of the mortgage registration on the owner's certificate (or "
                      "corrects them): one of the two conditions of a release, with the owner's certificate issued. "
                      "Needs `guarantees.write` at the guarantee's project and If-Match; 409 once the guarantee is "
                      "released. Audited.",
          **requires("guarantees:write", errors=MOVES))
    async def registration(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           guarantee_id: uuid.UUID, data: Registration) -> Response[GuaranteeOut]:
        return await self._move(request, session, authz, guarantee_id, guarantees.register_mortgage, data)

    @post("/{guarantee_id:uuid}/release-request", operation_id="requestGuaranteeRelease", status_code=200,
          summary="Ask finance to release the guarantee (the `guarantee_release` approval chain)",
          description="409 naming the missing condition while the certificate is not issued or the mortgage not "
                      "registered.", **requires("guarantees:write", errors=MOVES))
    async def release_request(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              guarantee_id: uuid.UUID, data: ReleaseRequest) -> Response[GuaranteeOut]:
        return await self._move(request, session, authz, guarantee_id, guarantees.request_release, data)

    @post("/{guarantee_id:uuid}/release", operation_id="recordGuaranteeRelease", status_code=200,
          summary="Record the approved release with the bank's confirmation",
          description="The bank's confirmation is a stored document of kind `release_confirmation` (named by "
                      "`confirmationDocumentId`, or the newest): 409 naming `releaseConfirmation` without one.",
          **requires("guarantees:write", errors=MOVES))
    async def release(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      guarantee_id: uuid.UUID, data: Release) -> Response[GuaranteeOut]:
        return await self._move(request, session, authz, guarantee_id, guarantees.record_release, data)
