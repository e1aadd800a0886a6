"""Attachments of a record: a presigned upload of declared bytes, verified on completion;
downloads; expiry of uploads never confirmed."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.ids import new_id
from app.core.problems import ProblemError
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.complaints.models import (
    ATTACHMENT_UPLOADS,
    Complaint,
    ComplaintAttachment,
)
from app.domains.complaints.schemas import (
    AttachmentIn,
    AttachmentOut,
    AttachmentUpload,
)
from app.domains.complaints.services.common import ATTACHMENT, READ, SCAN_BATCH, actor_id, label
from app.domains.org.models import OrgNode
from app.storage import ObjectStore, uploads

MAX_ATTACHMENTS = 30


def attachment_out(a: ComplaintAttachment) -> AttachmentOut:
    return AttachmentOut(id=a.id, complaint_id=a.complaint_id, filename=a.filename, content_type=a.content_type,
                         size=a.size, sha256=a.sha256, status=a.status, by_owner=a.by_owner,
                         uploaded_by=a.uploaded_by, created_at=a.created_at, stored_at=a.completed_at,
                         version=a.version)


async def start_upload(session: AsyncSession, store: ObjectStore, tenant: str, c: Complaint, data: AttachmentIn, *,
                       by_owner: bool) -> AttachmentUpload:
    """A pending attachment and the presigned PUT that uploads its bytes straight to storage.
    The file name's extension must be the declared type's (422 naming ``filename``)."""
    declared = ATTACHMENT_UPLOADS.declare(content_type=data.content_type, size=data.size, sha256=data.sha256,
                                          file_name=data.filename, name_field="filename")
    count = await session.scalar(select(func.count()).where(ComplaintAttachment.complaint_id == c.id)) or 0
    if count >= MAX_ATTACHMENTS:
        raise ProblemError("conflict", f"{label(c)} has {count} attachments, the most it may have.")
    row = ComplaintAttachment(id=new_id(), complaint_id=c.id, filename=declared.file_name or data.filename,
                              uploaded_by=actor_id(session), by_owner=by_owner)
    key = ATTACHMENT_UPLOADS.key(complaint=c.id, attachment=row.id)
    signed = await uploads.start(store, tenant, ATTACHMENT_UPLOADS, row, key, declared)
    session.add(row)
    await saved(session, row, "complaints.attachment.start", ATTACHMENT,
                snapshot=lambda r: {**audit.snapshot(r), "complaintId": str(c.id)})
    return AttachmentUpload(attachment=attachment_out(row), upload=uploads.UploadOut.of(signed))


async def get_attachment(session: AsyncSession, authz: Authorizer, attachment_id: uuid.UUID, *,
                         lock: bool = False) -> tuple[ComplaintAttachment, Complaint, str]:
    stmt = (select(ComplaintAttachment, Complaint, OrgNode.path)
            .join(Complaint, Complaint.id == ComplaintAttachment.complaint_id)
            .join(OrgNode, OrgNode.id == Complaint.node_id).where(ComplaintAttachment.id == attachment_id))
    if lock:
        stmt = stmt.with_for_update(of=ComplaintAttachment)
    row = (await session.execute(stmt)).first()
    if row is None or not authz.can(READ, row[2]):
        raise ProblemError("not-found", f"No attachment with id {attachment_id}.")
    return row[0], row[1], row[2]


async def complete_upload(session: AsyncSession, store: ObjectStore, tenant: str,
                          a: ComplaintAttachment) -> ComplaintAttachment:
    """Trust the upload once storage holds exactly the declared file: its size, SHA-256 and
    stored type, and bytes that begin as the declared format does (HTML is no PNG)."""
    if not a.upload_pending:
        return a  # a retried confirmation
    before = audit.snapshot(a)
    a.mark_stored(await uploads.verified(store, tenant, a, f"attachment {a.id}"), clock.utcnow())
    return await saved(session, a, "complaints.attachment.store", ATTACHMENT, before=before)


async def download(store: ObjectStore, tenant: str, a: ComplaintAttachment) -> uploads.DownloadOut:
    """A short-lived URL of the stored version, served as the declared type under the stored
    name (with that type's extension)."""
    return await uploads.download_link(store, tenant, ATTACHMENT_UPLOADS, a, f"attachment {a.id}", name=a.filename)


async def expire_uploads(session: AsyncSession, store: ObjectStore, tenant: str) -> int:
    """Pending attachments whose upload URL expired (an hour ago, at least) are removed: the
    bytes that arrived but were never confirmed, and the row. How many; idempotent."""
    rows = await uploads.expire(session, ComplaintAttachment, ATTACHMENT_UPLOADS, uploads.delete_objects(store, tenant),
                                batch=SCAN_BATCH)
    await audit.record_many(session, [
        {"action": "complaints.attachment.expire", "entity_type": ATTACHMENT, "entity_id": a.id,
         "before": {"complaintId": str(a.complaint_id), "filename": a.filename, "status": a.status.value}}
        for a in rows])
    return len(rows)
