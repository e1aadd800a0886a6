"""HTTP for activity photos (photos.py): requests become service calls."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import etag
from app.core.idempotency import idempotent
from app.core.writes import with_etag
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.club import photos
from app.domains.club.activities import get_activity
from app.domains.club.photos import PhotoIn, PhotoOut, PhotoUpload
from app.storage import ObjectStore
from app.storage.uploads import DownloadOut

BASE = "/api/v1/club"


def _store(request: Request[Any, Any, Any]) -> ObjectStore:
    store: ObjectStore = request.app.state.store  # set at start-up (app/asgi.py)
    return store


class ActivityPhotoController(Controller):
    path = BASE
    tags = ["Club"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("/activities/{activity_id:uuid}/photos", operation_id="listClubActivityPhotos",
         description="The photos of an activity's record, stored and still pending, oldest first.",
         summary="The photos of an activity's record", **requires("club:read", errors=[404]))
    async def list_photos(self, session: AsyncSession, authz: Authorizer, activity_id: uuid.UUID) -> list[PhotoOut]:
        activity, _ = await get_activity(session, authz, activity_id)
        return await photos.list_photos(session, activity)

    @post("/activities/{activity_id:uuid}/photos", operation_id="startClubActivityPhotoUpload",
          summary="Start a photo of an activity (published, held or evaluated)",
          description="Answers with the photo (pending) and a presigned PUT: send exactly its headers with the "
                      "bytes, then `POST /api/v1/club/photos/{id}/complete`. Accepts `Idempotency-Key`.",
          **requires("club:write", errors=[404, 409]))
    async def start(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    activity_id: uuid.UUID, data: PhotoIn) -> Response[PhotoUpload]:
        async def produce() -> Response[PhotoUpload]:
            activity, path = await get_activity(session, authz, activity_id)
            upload = await photos.start(session, _store(request), request.user.tenant, authz, activity, path, data)
            return Response(upload, status_code=201, headers={"Location": f"{BASE}/photos/{upload.photo.id}",
                                                              "ETag": etag(upload.photo.version)})

        return await idempotent(request, session, produce)

    @get("/photos/{photo_id:uuid}", operation_id="getClubActivityPhoto", summary="An activity photo",
         description=("One activity photo: its declared size, type and checksum, and whether its upload was "
                      "completed and verified."),
         **requires("club:read", errors=[404]))
    async def get_photo(self, session: AsyncSession, authz: Authorizer, photo_id: uuid.UUID) -> Response[PhotoOut]:
        p, _ = await photos.get_photo(session, authz, photo_id)
        return with_etag(PhotoOut.of(p), p.version)

    @post("/photos/{photo_id:uuid}/complete", operation_id="completeClubActivityPhotoUpload", status_code=200,
          description=("Check the uploaded bytes against the declared size, SHA-256 and file type (by their first "
                       "bytes) and mark the photo stored; 409 while nothing matching was uploaded."),
          summary="Confirm the upload: stored once its size, SHA-256 and format are verified",
          **requires("club:write", errors=[404, 409]))
    async def complete(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       photo_id: uuid.UUID) -> Response[PhotoOut]:
        p, path = await photos.get_photo(session, authz, photo_id, lock=True)
        p = await photos.complete(session, _store(request), request.user.tenant, authz, p, path)
        return with_etag(PhotoOut.of(p), p.version)

    @get("/photos/{photo_id:uuid}/download", operation_id="downloadClubActivityPhoto",
         description="A short-lived signed URL to download a stored photo; 409 for one not yet stored.",
         summary="A short-lived URL of the stored photo", **requires("club:read", errors=[404, 409]))
    async def download(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       photo_id: uuid.UUID) -> DownloadOut:
        p, _ = await photos.get_photo(session, authz, photo_id)
        return await photos.download(_store(request), request.user.tenant, p)
