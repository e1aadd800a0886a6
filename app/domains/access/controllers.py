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
         description="Every permission a role can grant, with what it lets its holder do; role definitions name "
                     "these codes. Needs access:read and the roles.manage permission at some node.",
         **requires("access:read"))
    async def list_permissions(self, authz: Authorizer) -> list[PermissionOut]:
        authz.require_anywhere(services.MANAGE)
        return [PermissionOut(name=n, description=d) for n, d in sorted(PERMISSIONS.items())]


class RoleController(Controller):
    path = "/api/v1/access/roles"
    tags = ["Access"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listRoles", summary="List roles",
         dependencies={"page": page_params(*services.ROLE_SORT)},
         description="The group's roles, seeded ones (system roles) and those the group defined, with their "
                     "permissions, a page at a time (filter by code or name, or seeded ones only). Needs "
                     "access:read.",
         **requires("access:read"))
    async def list_roles(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        q: str | None = Parameter(query="q", default=None, max_length=200, description="Code or name contains."),
        system: bool | None = Parameter(query="system", default=None, description="Seeded roles only (or none)."),
    ) -> Page[RoleOut]:
        return await services.list_roles(session, authz, page, q=q, system=system)

    @post("/", operation_id="createRole", summary="Define a role",
          description="Defines a role from a code, a name and the permissions it grants (codes from "
                      "listPermissions). Needs access:write and the roles.manage permission at the group node; "
                      "409 when the code is taken; 422 naming an unknown permission. Answers 201 with the role "
                      "and its Location.",
          **requires("access:write", errors=[409]))
    async def create_role(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: RoleCreate) -> Response[RoleOut]:
        async def produce() -> Response[RoleOut]:
            role = await services.create_role(session, authz, data)
            response = _role(role, 201)
            response.headers["Location"] = f"/api/v1/access/roles/{role.id}"
            return response

        return await idempotent(request, session, produce)

    @get("/{role_id:uuid}", operation_id="getRole", summary="Get a role",
         description="One role with its permissions; its ETag is what If-Match needs to change or delete it. "
                     "Needs access:read; 404 for an unknown id.",
         **requires("access:read", errors=[404]))
    async def get_role(self, session: AsyncSession, authz: Authorizer, role_id: uuid.UUID) -> Response[RoleOut]:
        return _role(await services.get_role(session, authz, role_id))

    @patch("/{role_id:uuid}", operation_id="updateRole", summary="Rename a role or change its permissions",
           description="Renames a role or replaces its permissions; every account holding it gains or loses them."
                       " Needs access:write, roles.manage at the group node and If-Match; 409 for a change that "
                       "would take every permission from group_admin.",
           **requires("access:write", errors=[404, 409, 412, 428]))
    async def update_role(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          role_id: uuid.UUID, data: RoleUpdate) -> Response[RoleOut]:
        role = await services.get_role(session, authz, role_id, lock=True)
        check_if_match(request, role.version)
        return _role(await services.update_role(session, authz, role, data))

    @delete("/{role_id:uuid}", operation_id="deleteRole", summary="Delete an unused, non-system role",
            description="Deletes a role the group defined that nobody holds. Needs access:write, roles.manage at"
                        " the group node and If-Match; 409 for a seeded role, or one still assigned (remove its "
                        "assignments first).",
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
         dependencies={"page": page_params(*services.ASSIGNMENT_SORT)},
         description="Who holds which role at which org node, a page at a time (filter by account, role or node)."
                     " Needs access:read.",
         **requires("access:read"))
    async def list_assignments(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        account_id: uuid.UUID | None = Parameter(query="accountId", default=None, description="The account."),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description="The org node."),
        role_id: uuid.UUID | None = Parameter(query="roleId", default=None, description="The role."),
    ) -> Page[AssignmentOut]:
        return await services.list_assignments(session, authz, page, account_id=account_id, node_id=node_id,
                                               role_id=role_id)

    @post("/", operation_id="createRoleAssignment", summary="Give an account a role at an org node",
          description="Gives an account a role at an org node: the role's permissions then hold at that node and "
                      "every node under it. Needs access:write and roles.manage at that node; 404 when the "
                      "account, role or node is not there; 409 when the account already holds the role there. "
                      "Answers 201 with the assignment and its Location.",
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
         description="One role assignment: the account, the role and the org node. Needs access:read; 404 for an "
                     "unknown id.",
         **requires("access:read", errors=[404]))
    async def get_assignment(self, session: AsyncSession, authz: Authorizer,
                             assignment_id: uuid.UUID) -> Response[AssignmentOut]:
        return _assignment(*await services.get_assignment(session, authz, assignment_id))

    @delete("/{assignment_id:uuid}", operation_id="deleteRoleAssignment", summary="Remove a role assignment",
            description="Removes a role assignment; the account loses the role's permissions at that node. Needs "
                        "access:write and roles.manage at the node; 409 when it is the group's last administrator"
                        " at the group node.",
            **requires("access:write", errors=[404, 409]))
    async def delete_assignment(self, session: AsyncSession, authz: Authorizer, assignment_id: uuid.UUID) -> None:
        await services.delete_assignment(session, authz,
                                         *await services.get_assignment(session, authz, assignment_id, lock=True))


CONTROLLERS = [PermissionController, RoleController, AssignmentController]
