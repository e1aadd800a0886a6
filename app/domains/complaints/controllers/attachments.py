"""HTTP for attachments of both registers: confirm an upload, download."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.etag import etag
from app.domains.access.authz import Authorizer
from app.domains.complaints import services
from app.domains.complaints.controllers.common import ATTACHMENTS, DEPENDENCIES, store_of
from app.domains.complaints.schemas import AttachmentOut
from app.storage.uploads import DownloadOut


class AttachmentController(Controller):
    """Attachments of both registers: confirm an upload, download."""

    path = ATTACHMENTS
    tags = ["Complaints"]
    dependencies = DEPENDENCIES

    @get("/{attachment_id:uuid}", operation_id="getComplaintAttachment", summary="An attachment's metadata",
         description="An attachment's metadata: file name, content type, size, SHA-256 and whether its upload is "
                     "complete. The bytes come from downloadComplaintAttachment. Needs complaints:read and a role"
                     " that sees the record's project; 404 otherwise.",
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
        a = await services.complete_upload(session, store_of(request), request.user.tenant, a)
        return Response(services.attachment_out(a), headers={"ETag": etag(a.version)})

    @get("/{attachment_id:uuid}/download", operation_id="downloadComplaintAttachment",
         summary="A short-lived download URL of a stored attachment",
         description="Served as the declared content type, as an attachment named with that type's extension.",
         **requires("complaints:read", errors=[404, 409]))
    async def download(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       attachment_id: uuid.UUID) -> DownloadOut:
        a, _, _ = await services.get_attachment(session, authz, attachment_id)
        return await services.download(store_of(request), request.user.tenant, a)
