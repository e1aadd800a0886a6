"""HTTP for the audit trail: search, start an export, download its CSV."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.idempotency import idempotent
from app.core.jobs import JobOut, accepted
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.domains.audit import services, tasks
from app.domains.audit.schemas import (
    ACTION_MAX,
    ACTION_PATTERN,
    ENTITY_TYPE_MAX,
    ID_MAX,
    AuditFilter,
    AuditRecordOut,
)
from app.worker import enqueue_after_commit

CSV_MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8"


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["Audit"]
    # The fields services.search sorts by.
    dependencies = {"session": Provide(provide_tenant_session), "page": page_params("occurredAt")}

    @get("/", operation_id="searchAudit", summary="Search the audit trail",
         description="Needs the permission `audit.read` at the group node. Newest first by default "
                     "(`sort=occurredAt` for oldest first). `from` is inclusive, `to` exclusive.",
         **requires("audit:read"))
    async def search(
        self,
        request: Request[Any, Any, Any],
        session: AsyncSession,
        page: PageParams,
        # Plain strings here: the one AuditFilter validates them, as it does an export's body,
        # and reports the fields by their wire names. The schema extras only document that.
        entity_type: str | None = Parameter(query="entityType", default=None,
                                            description="Exact entity type.",
                                            schema_extra={"minLength": 1, "maxLength": ENTITY_TYPE_MAX}),
        entity_id: str | None = Parameter(query="entityId", default=None, description="Exact entity id.",
                                          schema_extra={"minLength": 1, "maxLength": ID_MAX}),
        actor_id: str | None = Parameter(query="actorId", default=None, description="Exact actor id.",
                                         schema_extra={"minLength": 1, "maxLength": ID_MAX}),
        action: str | None = Parameter(query="action", default=None,
                                       description="Exact action, or a prefix ending in `*` (`org.*`).",
                                       schema_extra={"minLength": 1, "maxLength": ACTION_MAX,
                                                     "pattern": ACTION_PATTERN}),
        from_: str | None = Parameter(query="from", default=None, schema_extra={"format": "date-time"},
                                      description="Occurred at or after (RFC 3339 with an offset)."),
        to: str | None = Parameter(query="to", default=None, schema_extra={"format": "date-time"},
                                   description="Occurred before (RFC 3339 with an offset)."),
    ) -> Page[AuditRecordOut]:
        await services.require_auditor(session, request.user)
        f = services.filter_from_query({"entityType": entity_type, "entityId": entity_id, "actorId": actor_id,
                                        "action": action, "from": from_, "to": to})
        return await services.search(session, f, page)

    @post("/exports", operation_id="exportAudit", summary="Export audit records as CSV (a background job)",
          description="Accepts `Idempotency-Key`. Follow `Location` to the job; once it succeeded, "
                      "download the CSV from `/api/v1/audit/exports/{jobId}/csv`. At most "
                      f"{services.MAX_EXPORT_ROWS} records per export.",
          status_code=202, **requires("audit:read", errors=[409]))
    async def export(self, request: Request[Any, Any, Any], session: AsyncSession,
                     data: AuditFilter) -> Response[JobOut]:
        await services.require_auditor(session, request.user)
        services.check_filter(data, "body")

        async def produce() -> Response[JobOut]:
            job = await services.start_export(session, data)
            enqueue_after_commit(session, tasks.export_audit, tenant=request.user.tenant, job_id=str(job.id),
                                 filters=services.filter_json(data))
            return accepted(job)

        return await idempotent(request, session, produce)

    @get("/exports/{job_id:uuid}/csv", operation_id="downloadAuditExport", summary="Download an export's CSV",
         description="UTF-8 with a byte-order mark, CRLF line ends, oldest record first. Columns: "
                     + ", ".join(f"`{c}`" for c in services.COLUMNS)
                     + " (`before`/`after` as JSON). Only the export's requester may download it; "
                       "409 until the job succeeded.",
         media_type=CSV_MEDIA_TYPE, response_description="The CSV file.",
         **requires("audit:read", errors=[404, 409]))
    async def download(self, request: Request[Any, Any, Any], session: AsyncSession,
                       job_id: uuid.UUID) -> Response[bytes]:
        await services.require_auditor(session, request.user)
        content, filename = await services.export_csv(session, job_id, request.user.subject)
        return Response(content, media_type=CSV_MEDIA_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


CONTROLLERS = [AuditController]
