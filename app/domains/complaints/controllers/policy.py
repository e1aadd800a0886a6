"""HTTP for what both registers share: categories, the SLA policy, statistics, recurring causes."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core import tenant_settings
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.jobs import JobOut, accepted, create_job
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.spreadsheets import XLSX_MEDIA_TYPE
from app.core.writes import created
from app.domains.access.authz import Authorizer
from app.domains.complaints import services, statistics, tasks
from app.domains.complaints.controllers.common import BASE, DEPENDENCIES
from app.domains.complaints.models import Register
from app.domains.complaints.schemas import (
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    RecurringPage,
    SlaSettings,
    SlaSettingsIn,
    StatisticsExportIn,
    StatisticsOut,
)
from app.worker import enqueue_after_commit

MONTH = Parameter(query="month", pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", default=None,
                  description="The first month, YYYY-MM (tenant time zone); the current month when absent.")
MONTHS = Parameter(query="months", ge=1, le=60, default=1, description="How many months from `month` on.")
XLSX = XLSX_MEDIA_TYPE


class ComplaintPolicyController(Controller):
    """What both registers share: categories, the SLA policy, statistics, recurring causes."""

    path = BASE
    tags = ["Complaints"]
    dependencies = DEPENDENCIES

    @get("/categories", operation_id="listComplaintCategories",
         summary="The category tree, with each category's effective SLA targets",
         dependencies={"page": page_params(*services.CATEGORY_SORT)},
         description="The group's complaint category tree (seeded and added ones), each with its effective SLA "
                     "targets: its own where set, else its parent's or the policy's defaults. Needs "
                     "complaints:read.",
         **requires("complaints:read"))
    async def list_categories(self, session: AsyncSession, page: PageParams,
                              active: bool | None = Parameter(query="active", default=None)) -> Page[CategoryOut]:
        return await services.list_categories(session, page, active)

    @post("/categories", operation_id="createComplaintCategory", summary="Add a complaint category",
          description="Needs `complaints.configure` at the group node. Targets left out are inherited from the "
                      "parent, up to the group's defaults. Accepts `Idempotency-Key`.",
          **requires("complaints:write", errors=[404, 409]))
    async def create_category(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              data: CategoryCreate) -> Response[CategoryOut]:
        await services.require_configurer(session, authz)
        return await created(request, session, lambda: services.create_category(session, data),
                             lambda row: services.category_out(session, row), lambda row: f"{BASE}/categories/{row.id}")

    @get("/categories/{category_id:uuid}", operation_id="getComplaintCategory", summary="A complaint category",
         description="One complaint category with its SLA targets and whether it is active; its ETag is what If-"
                     "Match needs to change it. Needs complaints:read; 404 for an unknown id.",
         **requires("complaints:read", errors=[404]))
    async def get_category(self, session: AsyncSession, category_id: uuid.UUID) -> Response[CategoryOut]:
        row = await services.get_category(session, category_id)
        return Response(await services.category_out(session, row), headers={"ETag": etag(row.version)})

    @patch("/categories/{category_id:uuid}", operation_id="updateComplaintCategory",
           summary="Rename a category, change its SLA targets (open records take them), or stop using it",
           description="Needs `complaints.configure` at the group node. New targets apply at once to the open "
                       "records of the category and of those inheriting from it (to the clocks still running), their "
                       "paused time kept.",
           **requires("complaints:write", errors=[404, 412, 428]))
    async def update_category(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              category_id: uuid.UUID, data: CategoryUpdate) -> Response[CategoryOut]:
        row = await services.get_category(session, category_id, lock=True)
        await services.require_configurer(session, authz)
        check_if_match(request, row.version)
        row = await services.update_category(session, row, data)
        return Response(await services.category_out(session, row), headers={"ETag": etag(row.version)})

    @get("/settings", operation_id="getComplaintSettings",
         summary="The SLA policy: default targets, near-breach share, escalation rule",
         description="The group's SLA policy for complaints and disputes: the default first-response and "
                     "resolution targets, the share of a target after which a record is near breach, and the "
                     "escalation rule. Its ETag is what If-Match needs to change it. Needs complaints:read.",
         **requires("complaints:read"))
    async def get_settings(self, session: AsyncSession, authz: Authorizer) -> Response[SlaSettings]:
        authz.require_anywhere(services.READ)
        value, version = await services.get_sla_settings(session)
        return Response(value, headers={"ETag": etag(version)})

    @put("/settings", operation_id="putComplaintSettings", summary="Change the SLA policy",
         description="Needs `complaints.configure` at the group node; If-Match `\"0\"` while the defaults apply. "
                     "The running clocks of open records take the new targets at once, their paused time kept. "
                     "Escalation levels are kept sorted by `afterPercent`: at each, the supervisors "
                     "(`complaints.supervise`) at the record's project, branch or group are told.",
         **requires("complaints:write", errors=[412, 428]))
    async def put_settings(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: SlaSettingsIn) -> Response[SlaSettings]:
        await services.require_configurer(session, authz)
        _, version = await tenant_settings.get(session, services.SLA_SETTING, lock=True)
        check_if_match(request, version)
        value, version = await services.put_sla_settings(session, data)
        return Response(value, headers={"ETag": etag(version)})

    @get("/statistics", operation_id="getComplaintStatistics",
         summary="Complaint statistics for whole months: counts, business hours, SLA attainment, satisfaction",
         description="Records received in the period (tenant time zone) in the caller's subtree, as they stand "
                     "now, with breakdowns by category, project, branch and channel. For a file, start an export.",
         **requires("complaints:read"))
    async def get_statistics(self, session: AsyncSession, authz: Authorizer, month: str | None = MONTH,
                             months: int = MONTHS,
                             register: Register | None = Parameter(query="register", default=None)) -> StatisticsOut:
        authz.require_anywhere(services.READ)
        return await statistics.compute(session, authz, await statistics.period_of(session, month, months), register)

    @post("/statistics/exports", operation_id="exportComplaintStatistics",
          summary="Export the statistics as CSV and XLSX (a background job)", status_code=202,
          description="Follow `Location` to the job; once it succeeded its result holds the statistics, and the "
                      "files are at `/api/v1/complaints/statistics/exports/{jobId}/csv` and `…/xlsx`. Accepts "
                      "`Idempotency-Key`.",
          **requires("complaints:read"))
    async def export_statistics(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                data: StatisticsExportIn) -> Response[JobOut]:
        authz.require_anywhere(services.READ)

        async def produce() -> Response[JobOut]:
            job = await create_job(session, statistics.EXPORT_KIND)
            enqueue_after_commit(session, tasks.export_statistics, tenant=request.user.tenant, job_id=str(job.id),
                                 month=data.month, months=data.months,
                                 register=data.register.value if data.register else None,
                                 paths=authz.paths(services.READ))
            return accepted(job)

        return await idempotent(request, session, produce)

    @get("/statistics/exports/{job_id:uuid}/csv", operation_id="downloadComplaintStatisticsCsv",
         summary="Download an export's CSV", media_type="text/csv", response_description="The CSV file.",
         description="UTF-8 with a byte-order mark, one row per group, the totals first. Columns: "
                     + ", ".join(f"`{c}`" for c in statistics.CSV_COLUMNS)
                     + ". Only the export's requester may download it; 409 until the job succeeded.",
         **requires("complaints:read", errors=[404, 409]))
    async def download_csv(self, request: Request[Any, Any, Any], session: AsyncSession,
                           job_id: uuid.UUID) -> Response[bytes]:
        content, name = await statistics.export_file(session, job_id, request.user.subject, "csv")
        return Response(content, media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get("/statistics/exports/{job_id:uuid}/xlsx", operation_id="downloadComplaintStatisticsXlsx",
         summary="Download an export's workbook", media_type=XLSX, response_description="The XLSX workbook.",
         description="A summary sheet and one sheet per breakdown. Only the export's requester may download it; "
                     "409 until the job succeeded.",
         **requires("complaints:read", errors=[404, 409]))
    async def download_xlsx(self, request: Request[Any, Any, Any], session: AsyncSession,
                            job_id: uuid.UUID) -> Response[bytes]:
        content, name = await statistics.export_file(session, job_id, request.user.subject, "xlsx")
        return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get("/recurring", operation_id="listRecurringComplaintCauses",
         summary="Recurring causes: category × project pairs with several records in the period",
         description="Category and project pairs with several records received in the period, most first: where a"
                     " cause keeps coming back and corrective action is due. Needs complaints:read.",
         **requires("complaints:read"))
    async def recurring(self, session: AsyncSession, authz: Authorizer, month: str | None = MONTH,
                        months: int = MONTHS,
                        min_count: int = Parameter(query="minCount", ge=2, le=1000, default=2),
                        register: Register | None = Parameter(query="register", default=None)) -> RecurringPage:
        authz.require_anywhere(services.READ)
        period = await statistics.period_of(session, month, months)
        return await statistics.recurring(session, authz, period, min_count, register)
