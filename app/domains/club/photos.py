"""Photos of club activities, for their record: uploaded straight to the tenant's bucket through
the shared upload lifecycle (declare, presigned PUT, completion verified by size, SHA-256 and the
format's first bytes, signed download, expiry of uploads never completed). Taken while an activity
is published (on the day), held or evaluated; seen by whoever may read the activity."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.ids import new_id
from app.core.problems import ProblemError
from app.core.schemas import Input, Schema
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node
from app.domains.club.clubs import READ, WRITE, conflict
from app.domains.club.models import PHOTO_UPLOADS, Activity, ActivityPhoto, ActivityStage, PhotoStatus
from app.storage import ObjectStore, uploads
from app.storage.uploads import FileName, Sha256Hex, UploadOut

ENTITY = "club_activity_photo"
MAX_PHOTOS = 100  # per activity
TAKEN = (ActivityStage.published, ActivityStage.held, ActivityStage.evaluated)


class PhotoIn(Input):
    filename: FileName
    content_type: Literal["image/jpeg", "image/png", "image/webp", "image/heic"]
    size: Annotated[int, msgspec.Meta(ge=1, le=PHOTO_UPLOADS.max_size, description="Bytes, at most 20 MiB.")]
    sha256: Sha256Hex
    caption: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class PhotoOut(Schema):
    id: uuid.UUID
    activity_id: uuid.UUID
    caption: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    status: PhotoStatus
    uploaded_by: str
    created_at: datetime
    version: int

    @classmethod
    def of(cls, p: ActivityPhoto) -> PhotoOut:
        return cls(id=p.id, activity_id=p.activity_id, caption=p.caption, filename=p.filename,
                   content_type=p.content_type, size=p.size, sha256=p.sha256, status=p.status,
                   uploaded_by=p.uploaded_by, created_at=p.created_at, version=p.version)


class PhotoUpload(Schema):
    photo: PhotoOut
    upload: UploadOut


async def start(session: AsyncSession, store: ObjectStore, tenant: str, authz: Authorizer, activity: Activity,
                path: str, data: PhotoIn) -> PhotoUpload:
    """A pending photo of ``activity`` and the presigned PUT that uploads its bytes."""
    authz.require(WRITE, path)
    if activity.stage not in TAKEN:
        raise conflict(f"activity {activity.number}", activity.stage.value,
                       "photos are taken once it is published, held or evaluated")
    declared = PHOTO_UPLOADS.declare(content_type=data.content_type, size=data.size, sha256=data.sha256,
                                     file_name=data.filename, name_field="filename")
    count = await session.scalar(select(func.count()).where(ActivityPhoto.activity_id == activity.id)) or 0
    if count >= MAX_PHOTOS:
        raise ProblemError("conflict", f"Activity {activity.number} has {count} photos, the most it may have.")
    row = ActivityPhoto(id=new_id(), activity_id=activity.id, node_id=activity.node_id, caption=data.caption,
                        filename=declared.file_name or data.filename, status=PhotoStatus.pending,
                        uploaded_by=audit.actor_of(session).id)
    signed = await uploads.start(store, tenant, PHOTO_UPLOADS, row,
                                 PHOTO_UPLOADS.key(activity=activity.id, photo=row.id), declared)
    session.add(row)
    await saved(session, row, "club.photo.start", ENTITY)
    return PhotoUpload(photo=PhotoOut.of(row), upload=uploads.UploadOut.of(signed))


async def get_photo(session: AsyncSession, authz: Authorizer, photo_id: uuid.UUID, *,
                    lock: bool = False) -> tuple[ActivityPhoto, str]:
    return await get_at_node(session, authz, ActivityPhoto, photo_id, READ, "photo", lock=lock)


async def list_photos(session: AsyncSession, activity: Activity) -> list[PhotoOut]:
    rows = await session.scalars(select(ActivityPhoto).where(ActivityPhoto.activity_id == activity.id)
                                 .order_by(ActivityPhoto.created_at, ActivityPhoto.id))
    return [PhotoOut.of(p) for p in rows.all()]


async def complete(session: AsyncSession, store: ObjectStore, tenant: str, authz: Authorizer, photo: ActivityPhoto,
                   path: str) -> ActivityPhoto:
    """Trust the upload once storage holds exactly the declared image."""
    authz.require(WRITE, path)
    if not photo.upload_pending:
        return photo  # a retried confirmation
    before = audit.snapshot(photo)
    photo.mark_stored(await uploads.verified(store, tenant, photo, f"photo {photo.id}"), clock.utcnow())
    return await saved(session, photo, "club.photo.store", ENTITY, before=before)


async def download(store: ObjectStore, tenant: str, photo: ActivityPhoto) -> uploads.DownloadOut:
    return await uploads.download_link(store, tenant, PHOTO_UPLOADS, photo, f"photo {photo.id}", name=photo.filename)


async def expire(session: AsyncSession, store: ObjectStore, tenant: str) -> int:
    """Photos whose upload was never completed, an hour past their URL's expiry: removed."""
    rows = await uploads.expire(session, ActivityPhoto, PHOTO_UPLOADS, uploads.delete_objects(store, tenant),
                                batch=500)
    await audit.record_many(session, [
        {"action": "club.photo.expire", "entity_type": ENTITY, "entity_id": p.id,
         "before": {"activityId": str(p.activity_id), "filename": p.filename}} for p in rows])
    return len(rows)
