"""The documents of a mortgage guarantee (issue 17: "documents as uploads"): the loan contract,
the guarantee contract, the bank's release confirmation and others, uploaded straight to the
tenant's bucket through the shared upload lifecycle (declare size, type and SHA-256; presigned
PUT; completion verified by reading the bytes back, magic bytes included; signed download;
uploads never completed expire). A document is seen by whoever may read its guarantee; a
release is recorded only with a stored release confirmation (guarantees.record_release); the
referral package of a collection case carries the stored documents of the loan's guarantee."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.ids import new_id
from app.core.problems import ProblemError
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node
from app.domains.certificates.models import (
    DOCUMENT_UPLOADS,
    DocumentKind,
    DocumentStatus,
    Guarantee,
    GuaranteeDocument,
    GuaranteeStage,
)
from app.domains.certificates.permissions import GUARANTEE_READ, GUARANTEE_WRITE
from app.domains.certificates.schemas import DocumentIn, DocumentUpload, GuaranteeDocumentOut
from app.storage import ObjectStore, uploads

ENTITY = "guarantee_document"
MAX_DOCUMENTS = 30  # per guarantee


def document_out(d: GuaranteeDocument) -> GuaranteeDocumentOut:
    return GuaranteeDocumentOut(id=d.id, guarantee_id=d.guarantee_id, kind=d.kind.value, filename=d.filename,
                                content_type=d.content_type, size=d.size, sha256=d.sha256, status=d.status.value,
                                uploaded_by=d.uploaded_by, created_at=d.created_at, version=d.version)


async def start(session: AsyncSession, store: ObjectStore, tenant: str, authz: Authorizer, g: Guarantee, path: str,
                data: DocumentIn) -> DocumentUpload:
    """A pending document of a guarantee and the presigned PUT that uploads its bytes."""
    authz.require(GUARANTEE_WRITE, path)
    if g.stage is GuaranteeStage.released:
        raise ProblemError("conflict", f"Guarantee {g.number} is released: its documents are final.")
    declared = DOCUMENT_UPLOADS.declare(content_type=data.content_type, size=data.size, sha256=data.sha256,
                                        file_name=data.filename, name_field="filename")
    count = await session.scalar(select(func.count()).where(GuaranteeDocument.guarantee_id == g.id)) or 0
    if count >= MAX_DOCUMENTS:
        raise ProblemError("conflict", f"Guarantee {g.number} has {count} documents, the most it may have.")
    row = GuaranteeDocument(id=new_id(), guarantee_id=g.id, node_id=g.node_id, kind=DocumentKind(data.kind),
                            filename=declared.file_name or data.filename, uploaded_by=audit.actor_of(session).id)
    signed = await uploads.start(store, tenant, DOCUMENT_UPLOADS, row,
                                 DOCUMENT_UPLOADS.key(guarantee=g.id, document=row.id), declared)
    session.add(row)
    await saved(session, row, "guarantees.document.start", ENTITY)
    return DocumentUpload(document=document_out(row), upload=uploads.UploadOut.of(signed))


async def get_document(session: AsyncSession, authz: Authorizer, document_id: uuid.UUID, *,
                       lock: bool = False) -> tuple[GuaranteeDocument, str]:
    return await get_at_node(session, authz, GuaranteeDocument, document_id, GUARANTEE_READ, "guarantee document",
                             lock=lock)


async def list_documents(session: AsyncSession, guarantee_id: uuid.UUID, *,
                         stored_only: bool = False) -> list[GuaranteeDocument]:
    stmt = select(GuaranteeDocument).where(GuaranteeDocument.guarantee_id == guarantee_id)
    if stored_only:
        stmt = stmt.where(GuaranteeDocument.status == DocumentStatus.stored)
    return list((await session.scalars(stmt.order_by(GuaranteeDocument.created_at, GuaranteeDocument.id))).all())


async def complete(session: AsyncSession, store: ObjectStore, tenant: str, authz: Authorizer, d: GuaranteeDocument,
                   path: str) -> GuaranteeDocument:
    """Trust the upload once storage holds exactly the declared file."""
    authz.require(GUARANTEE_WRITE, path)
    if not d.upload_pending:
        return d  # a retried confirmation
    before = audit.snapshot(d)
    d.mark_stored(await uploads.verified(store, tenant, d, f"document {d.id}"), clock.utcnow())
    return await saved(session, d, "guarantees.document.store", ENTITY, before=before)


async def download(store: ObjectStore, tenant: str, d: GuaranteeDocument) -> uploads.DownloadOut:
    return await uploads.download_link(store, tenant, DOCUMENT_UPLOADS, d, f"document {d.id}", name=d.filename)


async def content(store: ObjectStore, tenant: str, d: GuaranteeDocument) -> AsyncIterator[bytes]:
    """The stored document's bytes, the verified version (for the referral package)."""
    async for chunk in store.read(tenant, d.object_key, d.object_version):
        yield chunk


async def expire(session: AsyncSession, store: ObjectStore, tenant: str) -> int:
    """Documents whose upload was never completed, an hour past their URL's expiry: removed."""
    rows = await uploads.expire(session, GuaranteeDocument, DOCUMENT_UPLOADS, uploads.delete_objects(store, tenant))
    await audit.record_many(session, [
        {"action": "guarantees.document.expire", "entity_type": ENTITY, "entity_id": d.id,
         "before": {"guaranteeId": str(d.guarantee_id), "filename": d.filename}} for d in rows])
    return len(rows)
