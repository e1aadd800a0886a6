"""Photos of property work: defects found at a handover (and the owner's signature on the
inspection record, scanned), a repair order's defect and the work done, an inspection finding and
its rectification. Uploaded straight to the tenant's bucket through the shared upload lifecycle
(declare, presigned PUT, verified completion, signed download, expiry of uploads never completed);
a photo is seen by whoever may read the record it belongs to."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.ids import new_id
from app.core.problems import ProblemError, field_error
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.org.models import OrgNode
from app.domains.property.common import READ, WRITE
from app.domains.property.models import (
    PHOTO_UPLOADS,
    Finding,
    Handover,
    PhotoSubject,
    PropertyPhoto,
    RepairOrder,
)
from app.domains.property.schemas import PhotoIn, PhotoOut, PhotoUpload
from app.storage import ObjectStore, uploads

ENTITY = "property_photo"
MAX_PHOTOS = 30  # per record
SUBJECTS: dict[PhotoSubject, Any] = {PhotoSubject.handover: Handover, PhotoSubject.repair: RepairOrder,
                                     PhotoSubject.finding: Finding}


async def _subject_node(session: AsyncSession, authz: Authorizer, subject: PhotoSubject,
                        subject_id: uuid.UUID) -> OrgNode:
    model = SUBJECTS[subject]
    row = (await session.execute(select(OrgNode).join(model, model.node_id == OrgNode.id)
                                 .where(model.id == subject_id))).scalar_one_or_none()
    if row is None or not authz.can(READ, row.path):
        raise ProblemError("not-found", f"No {subject.value} with id {subject_id}.",
                           errors=[field_error("subjectId", f"no such {subject.value}")])
    authz.require(WRITE, row.path)
    return row


async def start(session: AsyncSession, store: ObjectStore, tenant: str, authz: Authorizer,
                data: PhotoIn) -> PhotoUpload:
    """A pending photo of a record and the presigned PUT that uploads its bytes."""
    node = await _subject_node(session, authz, data.subject, data.subject_id)
    declared = PHOTO_UPLOADS.declare(content_type=data.content_type, size=data.size, sha256=data.sha256,
                                     file_name=data.filename, name_field="filename")
    count = await session.scalar(select(func.count()).where(PropertyPhoto.subject_id == data.subject_id)) or 0
    if count >= MAX_PHOTOS:
        raise ProblemError("conflict", f"The {data.subject.value} has {count} photos, the most it may have.")
    row = PropertyPhoto(id=new_id(), node_id=node.id, subject=data.subject, subject_id=data.subject_id,
                        caption=data.caption, filename=declared.file_name or data.filename,
                        uploaded_by=audit.actor_of(session).id)
    signed = await uploads.start(store, tenant, PHOTO_UPLOADS, row, PHOTO_UPLOADS.key(subject=data.subject_id,
                                                                                        photo=row.id), declared)
    session.add(row)
    await saved(session, row, "property.photo.start", ENTITY)
    return PhotoUpload(photo=PhotoOut.of(row), upload=uploads.UploadOut.of(signed))


async def get_photo(session: AsyncSession, authz: Authorizer, photo_id: uuid.UUID, *,
                    lock: bool = False) -> tuple[PropertyPhoto, str]:
    from app.domains.access.records import get_at_node

    return await get_at_node(session, authz, PropertyPhoto, photo_id, READ, "photo", lock=lock)


async def list_photos(session: AsyncSession, authz: Authorizer, subject_id: uuid.UUID | None) -> list[PhotoOut]:
    stmt = select(PropertyPhoto).where(authz.visible(READ, PropertyPhoto.node_id))
    if subject_id is not None:
        stmt = stmt.where(PropertyPhoto.subject_id == subject_id).order_by(PropertyPhoto.created_at, PropertyPhoto.id)
    else:
        stmt = stmt.order_by(PropertyPhoto.created_at.desc(), PropertyPhoto.id).limit(200)
    return [PhotoOut.of(p) for p in (await session.scalars(stmt)).all()]


async def complete(session: AsyncSession, store: ObjectStore, tenant: str, authz: Authorizer, photo: PropertyPhoto,
                   path: str) -> PropertyPhoto:
    """Trust the upload once storage holds exactly the declared image."""
    authz.require(WRITE, path)
    if not photo.upload_pending:
        return photo  # a retried confirmation
    before = audit.snapshot(photo)
    photo.mark_stored(await uploads.verified(store, tenant, photo, f"photo {photo.id}"), clock.utcnow())
    return await saved(session, photo, "property.photo.store", ENTITY, before=before)


async def download(store: ObjectStore, tenant: str, photo: PropertyPhoto) -> uploads.DownloadOut:
    return await uploads.download_link(store, tenant, PHOTO_UPLOADS, photo, f"photo {photo.id}", name=photo.filename)


async def expire(session: AsyncSession, store: ObjectStore, tenant: str) -> int:
    """Photos whose upload was never completed, an hour past their URL's expiry: removed."""
    rows = await uploads.expire(session, PropertyPhoto, PHOTO_UPLOADS, uploads.delete_objects(store, tenant),
                                batch=500)
    await audit.record_many(session, [
        {"action": "property.photo.expire", "entity_type": ENTITY, "entity_id": p.id,
         "before": {"subjectId": str(p.subject_id), "filename": p.filename}} for p in rows])
    return len(rows)
