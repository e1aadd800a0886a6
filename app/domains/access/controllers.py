"""HTTP for roles, permissions and role assignments: translate requests to service calls."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.domains.access import services
from app.domains.access.authz import PERMISSIONS, Authorizer, provide_authz
from app.domains.access.models import Role, RoleAssignment
from app.domains.access.schemas import (
    AssignmentCreate,
    AssignmentOut,
    PermissionOut,
    RoleCreate,
    RoleOut,
    RoleUpdate,
)
from app.domains.org.models import OrgNode

DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
# Assignments are never changed, only created and removed: their ETag is constant, and
# deleting one needs no If-Match (there is no other version to lose).
ASSIGNMENT_ETAG = etag(1)


def _role(role: Role, status: int = 200) -> Response[RoleOut]:
    return Response(RoleOut.of(role), status_code=status, headers={"ETag": etag(role.version)})


def _assignment(assignment: RoleAssignment, node: OrgNode, role: Role, status: int = 200) -> Response[AssignmentOut]:
    return Response(AssignmentOut.of(assignment, role.code, node.kind), status_code=status,
                    headers={"ETag": ASSIGNMENT_ETAG})


class PermissionController(Controller):
    path = "/api/v1/access/permissions"
    tags = ["Access"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listPermissions", summary="The permissions roles can grant",
         **requires("access:read"))
    async def list_permissions(self, authz: Authorizer) -> list[PermissionOut]:
        authz.require_anywhere(services.MANAGE)
        return [PermissionOut(name=n, description=d) for n, d in sorted(PERMISSIONS.items())]


class RoleController(Controller):
    path = "/api/v1/access/roles"
    tags = ["Access"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listRoles", summary="List roles",
         dependencies={"page": page_params(*services.ROLE_SORT)}, **requires("access:read"))
    async def list_roles(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        q: str | None = Parameter(query="q", default=None, max_length=200, description="Code or name contains."),
        system: bool | None = Parameter(query="system", default=None, description="Seeded roles only (or none)."),
    ) -> Page[RoleOut]:
        return await services.list_roles(session, authz, page, q=q, system=system)

    @post("/", operation_id="createRole", summary="Define a role", **requires("access:write", errors=[409]))
    async def create_role(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: RoleCreate) -> Response[RoleOut]:
        async def produce() -> Response[RoleOut]:
            role = await services.create_role(session, authz, data)
            response = _role(role, 201)
            response.headers["Location"] = f"/api/v1/access/roles/{role.id}"
            return response

        return await idempotent(request, session, produce)

    @get("/{role_id:uuid}", operation_id="getRole", summary="Get a role", **requires("access:read", errors=[404]))
    async def get_role(self, session: AsyncSession, authz: Authorizer, role_id: uuid.UUID) -> Response[RoleOut]:
        return _role(await services.get_role(session, authz, role_id))

    @patch("/{role_id:uuid}", operation_id="updateRole", summary="Rename a role or change its permissions",
           **requires("access:write", errors=[404, 409, 412, 428]))
    async def update_role(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          role_id: uuid.UUID, data: RoleUpdate) -> Response[RoleOut]:
        role = await services.get_role(session, authz, role_id, lock=True)
        check_if_match(request, role.version)
        return _role(await services.update_role(session, authz, role, data))

    @delete("/{role_id:uuid}", operation_id="deleteRole", summary="Delete an unused, non-system role",
            **requires("access:write", errors=[404, 409, 412, 428]))
    async def delete_role(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          role_id: uuid.UUID) -> None:
        role = await services.get_role(session, authz, role_id, lock=True)
        check_if_match(request, role.version)
        await services.delete_role(session, authz, role)


class AssignmentController(Controller):
    path = "/api/v1/access/assignments"
    tags = ["Access"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listRoleAssignments", summary="List role assignments",
         dependencies={"page": page_params(*services.ASSIGNMENT_SORT)}, **requires("access:read"))
    async def list_assignments(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        account_id: uuid.UUID | None = Parameter(query="accountId", default=None, description="The account."),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description="The org node."),
        role_id: uuid.UUID | None = Parameter(query="roleId", default=None, description="The role."),
    ) -> Page[AssignmentOut]:
        return await services.list_assignments(session, authz, page, account_id=account_id, node_id=node_id,
                                               role_id=role_id)

    @post("/", operation_id="createRoleAssignment", summary="Give an account a role at an org node",
          **requires("access:write", errors=[404, 409]))
    async def create_assignment(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                data: AssignmentCreate) -> Response[AssignmentOut]:
        async def produce() -> Response[AssignmentOut]:
            assignment, node, role = await services.create_assignment(session, authz, request.user.tenant, data)
            response = _assignment(assignment, node, role, 201)
            response.headers["Location"] = f"/api/v1/access/assignments/{assignment.id}"
            return response

        return await idempotent(request, session, produce)

    @get("/{assignment_id:uuid}", operation_id="getRoleAssignment", summary="Get a role assignment",
         **requires("access:read", errors=[404]))
    async def get_assignment(self, session: AsyncSession, authz: Authorizer,
                             assignment_id: uuid.UUID) -> Response[AssignmentOut]:
        return _assignment(*await services.get_assignment(session, authz, assignment_id))

    @delete("/{assignment_id:uuid}", operation_id="deleteRoleAssignment", summary="Remove a role assignment",
            **requires("access:write", errors=[404, 409]))
    async def delete_assignment(self, session: AsyncSession, authz: Authorizer, assignment_id: uuid.UUID) -> None:
        await services.delete_assignment(session, authz,
                                         *await services.get_assignment(session, authz, assignment_id, lock=True))


CONTROLLERS = [PermissionController, RoleController, AssignmentController]
