"""/platform/v1/tenants: provisioning and lifecycle, for platform operators."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_platform_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.tenants import services
from app.tenants.migrations import tenant_head
from app.tenants.models import Tenant, TenantStatus
from app.tenants.schemas import (
    ProvisioningOut,
    PurgeRequest,
    StatusChange,
    TenantCreate,
    TenantOut,
    TenantUpdate,
)

SLUG_PATH = "/{slug:str}"


def _one(tenant: Tenant, status: int = 200) -> Response[TenantOut]:
    return Response(TenantOut.of(tenant), status_code=status, headers={"ETag": etag(tenant.version)})


class TenantController(Controller):
    path = "/platform/v1/tenants"
    tags = ["Platform: tenants"]
    # The fields services.list_tenants sorts by.
    dependencies = {"session": Provide(provide_platform_session),
                    "page": page_params("slug", "displayName", "createdAt", "status")}

    @post("/", operation_id="createTenant", summary="Create and provision a tenant",
          description="Creates the tenant's schema, every table and its seed data in one transaction. "
                      "Accepts `Idempotency-Key`.",
          **requires("platform:admin", errors=[409]))
    async def create_tenant(self, request: Request[Any, Any, Any], session: AsyncSession,
                     data: TenantCreate) -> Response[TenantOut]:
        async def produce() -> Response[TenantOut]:
            tenant = await services.create_tenant(session, data)
            response = _one(tenant, 201)
            response.headers["Location"] = f"/platform/v1/tenants/{tenant.slug}"
            return response

        return await idempotent(request, session, produce)

    @get("/", operation_id="listTenants", summary="List tenants",
         description="The platform's tenants, a page at a time, filtered by status or by a slug or name fragment;"
                     " purged tenants are left out unless asked for by status. Needs the platform:admin scope (an"
                     " operator token).",
         **requires("platform:admin"))
    async def list_tenants(
        self,
        session: AsyncSession,
        page: PageParams,
        status: TenantStatus | None = Parameter(query="status", default=None,
                                                description="Only this status (purged ones are hidden otherwise)."),
        q: str | None = Parameter(query="q", default=None, max_length=200, description="Slug or name contains."),
    ) -> Page[TenantOut]:
        return await services.list_tenants(session, page, status=status, q=q)

    @get(SLUG_PATH, operation_id="getTenant", summary="Get a tenant",
         description="One tenant by slug, with its status, time zone and locale; the ETag is what If-Match needs "
                     "to update it or change its status. Needs platform:admin; 404 for an unknown slug.",
         **requires("platform:admin", errors=[404]))
    async def get_tenant(self, session: AsyncSession, slug: str) -> Response[TenantOut]:
        return _one(await services.get_tenant(session, slug))

    @patch(SLUG_PATH, operation_id="updateTenant", summary="Update a tenant's name, time zone or locale",
           description="Changes a tenant's display name, time zone (an IANA name) or locale. Needs platform:admin"
                       " and If-Match with the tenant's current ETag (412 when it changed since, 428 without it)."
                       " Answers the tenant with its new ETag.",
           **requires("platform:admin", errors=[404, 412, 428]))
    async def update_tenant(self, request: Request[Any, Any, Any], session: AsyncSession, slug: str,
                     data: TenantUpdate) -> Response[TenantOut]:
        tenant = await services.get_tenant(session, slug, lock=True)
        check_if_match(request, tenant.version)
        return _one(await services.update_tenant(session, tenant, data))

    @get(SLUG_PATH + "/provisioning", operation_id="getTenantProvisioning",
         summary="Provisioning and migration status of a tenant",
         description="Whether the tenant's schema is provisioned and at the head migration: its revision, the "
                     "head revision, when it was provisioned and how long it took, and the last migration error "
                     "if any. Needs platform:admin.",
         **requires("platform:admin", errors=[404]))
    async def provisioning(self, session: AsyncSession, slug: str) -> ProvisioningOut:
        t = await services.get_tenant(session, slug)
        head = tenant_head()
        return ProvisioningOut(
            slug=t.slug, status=t.status, schema=t.schema, schema_revision=t.schema_revision,
            head_revision=head, up_to_date=t.schema_revision == head, provisioned_at=t.provisioned_at,
            provisioning_ms=t.provisioning_ms, migration_error=t.migration_error,
            migration_failed_at=t.migration_failed_at,
        )

    async def _transition(self, request: Request[Any, Any, Any], session: AsyncSession, slug: str,
                          action: str, reason: str) -> Response[TenantOut]:
        tenant = await services.get_tenant(session, slug, lock=True)
        check_if_match(request, tenant.version)
        tenant = await services.change_status(session, tenant, action, reason)
        request.app.state.tenant_directory.forget(slug)
        # Its clients' browser origins close (or open again) with it.
        request.app.state.browser_origins.forget_after_commit(session)
        return _one(tenant)

    @post(SLUG_PATH + "/suspend", operation_id="suspendTenant", status_code=200,
          summary="Suspend a tenant: its tokens are refused until it is resumed",
          description="Suspends an active tenant: its tokens are refused until it is"
                      " resumed; data is kept. Needs platform:admin, If-Match and a reason (audited). 409 when "
                      "the tenant is not active.",
          **requires("platform:admin", errors=[404, 409, 412, 428]))
    async def suspend(self, request: Request[Any, Any, Any], session: AsyncSession, slug: str,
                      data: StatusChange) -> Response[TenantOut]:
        return await self._transition(request, session, slug, "suspend", data.reason)

    @post(SLUG_PATH + "/resume", operation_id="resumeTenant", status_code=200,
          summary="Resume a suspended tenant, or cancel a pending deletion",
          description="Makes a suspended tenant, or one marked for deletion, active again. Needs platform:admin, "
                      "If-Match and a reason (audited). 409 when the tenant is neither suspended nor marked for "
                      "deletion.",
          **requires("platform:admin", errors=[404, 409, 412, 428]))
    async def resume(self, request: Request[Any, Any, Any], session: AsyncSession, slug: str,
                     data: StatusChange) -> Response[TenantOut]:
        return await self._transition(request, session, slug, "resume", data.reason)

    @post(SLUG_PATH + "/delete", operation_id="markTenantForDeletion", status_code=200,
          summary="Mark a tenant for deletion (step 1 of 2; reversible by resume)",
          description="First step of deleting a tenant: an active or suspended tenant becomes pending_deletion "
                      "(its tokens are refused); resume undoes it, purge completes it. Needs platform:admin, If-"
                      "Match and a reason. 409 from any other status.",
          **requires("platform:admin", errors=[404, 409, 412, 428]))
    async def mark_for_deletion(self, request: Request[Any, Any, Any], session: AsyncSession, slug: str,
                                data: StatusChange) -> Response[TenantOut]:
        return await self._transition(request, session, slug, "delete", data.reason)

    @post(SLUG_PATH + "/purge", operation_id="purgeTenant", status_code=200,
          summary="Drop a tenant's schema and data (step 2 of 2; irreversible)",
          description="Second, irreversible step: drops the schema and data of a tenant marked for deletion and "
                      "empties its storage bucket (objects under retention lock stay until their dates); the "
                      "registry row stays as a tombstone. Needs platform:admin, If-Match, a reason and the slug "
                      "typed in confirm (422 otherwise). 409 unless the tenant is pending_deletion; 503 when "
                      "storage does not answer.",
          **requires("platform:admin", errors=[404, 409, 412, 428]))
    async def purge(self, request: Request[Any, Any, Any], session: AsyncSession, slug: str,
                    data: PurgeRequest) -> Response[TenantOut]:
        tenant = await services.get_tenant(session, slug, lock=True)
        check_if_match(request, tenant.version)
        tenant = await services.purge_tenant(session, tenant, data.confirm, data.reason)
        request.app.state.tenant_directory.forget(slug)
        return _one(tenant)
