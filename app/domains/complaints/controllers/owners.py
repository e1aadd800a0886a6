"""HTTP for home owners' own complaints (``/api/v1/complaints/mine``)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created
from app.domains.access.authz import Authorizer
from app.domains.complaints import services
from app.domains.complaints.controllers.common import DEPENDENCIES, MINE, MOVES, store_of
from app.domains.complaints.schemas import (
    AttachmentIn,
    AttachmentOut,
    AttachmentUpload,
    OwnCategoryOut,
    OwnComplaintCreate,
    OwnComplaintOut,
    OwnComplaintSummary,
    OwnNoteIn,
    RatingIn,
)
from app.storage.uploads import DownloadOut


class MyComplaintController(Controller):
    """Home owners (``owner:self``): file complaints about their own units, follow them, add
    information and photos, rate the result. Internal notes and history never show here."""

    path = MINE
    tags = ["Complaints"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listMyComplaints", summary="The caller's own complaints (home owners)",
         dependencies={"page": page_params(*services.SORT)},
         description="A home owner's own complaints (those about the customers linked to their account), a page "
                     "at a time, each with its status. Staff tokens use listComplaints instead. Needs owner:self.",
         **requires("owner:self"))
    async def list_mine(self, session: AsyncSession, authz: Authorizer,
                        page: PageParams) -> Page[OwnComplaintSummary]:
        return await services.list_mine(session, authz, page)

    @post("/", operation_id="fileMyComplaint", summary="File a complaint about one of one's units (home owners)",
          description="Customer service classifies it when no category is given. 404 naming `unitId` when the "
                      "unit is not one of the caller's. Accepts `Idempotency-Key`.",
          **requires("owner:self", errors=[404, 409]))
    async def create_mine(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: OwnComplaintCreate) -> Response[OwnComplaintOut]:
        return await created(request, session, lambda: services.create_mine(session, authz, data),
                             lambda c: services.own_out(session, c), lambda c: f"{MINE}/{c.id}")

    @get("/categories", operation_id="listMyComplaintCategories", summary="Categories an owner may choose from",
         dependencies={"page": page_params(*services.CATEGORY_SORT)},
         description="The active complaint categories an owner may file a complaint under. Needs owner:self.",
         **requires("owner:self"))
    async def categories(self, session: AsyncSession, page: PageParams) -> Page[OwnCategoryOut]:
        return await services.own_categories(session, page)

    @get("/{record_id:uuid}", operation_id="getMyComplaint", summary="One's own complaint, as the owner sees it",
         description="One of the owner's own complaints as they see it: its status and dates, the proposals "
                     "approved and put to them, the notes they may read, photos and the steps taken; internal "
                     "notes and history are left out. Needs owner:self; 404 for a complaint that is not theirs.",
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
            upload = await services.start_upload(session, store_of(request), request.user.tenant, c, data,
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
        a = await services.complete_upload(session, store_of(request), request.user.tenant, a)
        return Response(services.attachment_out(a), headers={"ETag": etag(a.version)})

    @get("/attachments/{attachment_id:uuid}/download", operation_id="downloadMyComplaintAttachment",
         summary="A short-lived download URL of one's own photo (home owners)",
         description="A short-lived signed URL to download one of the owner's own complaint photos. Needs "
                     "owner:self; 404 when it is not theirs; 409 while its upload is not complete.",
         **requires("owner:self", errors=[404, 409]))
    async def download(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       attachment_id: uuid.UUID) -> DownloadOut:
        a, _ = await services.get_own_attachment(session, authz, attachment_id)
        return await services.download(store_of(request), request.user.tenant, a)
