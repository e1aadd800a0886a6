"""HTTP for the org tree: translate requests to service calls, nothing more.

Every route reads the caller's grants (``authz``); the services decide what the caller may
see and change (see app/domains/org/services/).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app import tasks
from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.jobs import JobOut, accepted, create_job
from app.core.pagination import PageParams, page_params
from app.core.reads import TenantReader
from app.core.schemas import Page
from app.core.writes import created
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.org import services
from app.domains.org.models import NodeKind, UnitStatus
from app.domains.org.schemas import (
    BranchCreate,
    BuildingCreate,
    NodeUpdate,
    OrgNodeOut,
    ProjectCreate,
    ProjectMove,
    ProjectOut,
    ProjectUpdate,
    Responsibility,
    UnitCreate,
    UnitOut,
    UnitUpdate,
)
from app.tenants.services import get_tenant
from app.worker import enqueue_after_commit

DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}


def _one(node: Any) -> Response[OrgNodeOut]:
    return Response(OrgNodeOut.of(node), headers={"ETag": etag(node.version)})


def _project(node: Any) -> Response[ProjectOut]:
    return Response(ProjectOut.of(node), headers={"ETag": etag(node.version)})


def _unit(unit: Any) -> Response[UnitOut]:
    return Response(UnitOut.of(unit), headers={"ETag": etag(unit.version)})


async def _node_out(node: Any) -> OrgNodeOut:
    return OrgNodeOut.of(node)


async def _project_out(node: Any) -> ProjectOut:
    return ProjectOut.of(node)


async def _unit_out(unit: Any) -> UnitOut:
    return UnitOut.of(unit)


def _q() -> Any:
    return Parameter(query="q", default=None, max_length=200, description="Name contains.")


def _code() -> Any:
    return Parameter(query="code", default=None, max_length=40, description="Exact code.")


class OrgController(Controller):
    path = "/api/v1/org"
    tags = ["Organisation"]
    dependencies = DEPENDENCIES

    @get("/group", operation_id="getGroup", summary="The group (root of the org tree)",
         description="The group itself, the root of the org tree: its code, name and description. Its ETag is "
                     "what If-Match needs to change it. Needs org:read and org.read at the group node.",
         **requires("org:read", errors=[404]))
    async def get_group(self, reader: TenantReader, authz: Authorizer) -> Response[OrgNodeOut]:
        return _one(await services.read_root(reader, authz))

    @patch("/group", operation_id="updateGroup", summary="Rename or describe the group",
           description="Renames the group or changes its description. Needs org:write, the org.manage permission "
                       "at the group node, and If-Match.",
           **requires("org:write", errors=[404, 409, 412, 428]))
    async def update_group(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: NodeUpdate) -> Response[OrgNodeOut]:
        root = await services.get_root(session, authz)
        check_if_match(request, root.version)
        return _one(await services.update_node(session, authz, root, data))

    @get("/branches", operation_id="listBranches", summary="List branches",
         dependencies={"page": page_params(*services.NODE_SORT)},
         description="The branches the caller may see, a page at a time (filter by name or exact code). Needs "
                     "org:read; the caller sees the nodes under those where their roles grant org.read.",
         **requires("org:read"))
    async def list_branches(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                            q: str | None = _q(), code: str | None = _code()) -> Page[OrgNodeOut]:
        return await services.list_branches(session, authz, page, q, code)

    @post("/branches", operation_id="createBranch", summary="Create a branch",
          description="Creates a branch under the group. Needs org:write and org.manage at the group node; 409 "
                      "when the code is taken. Answers 201 with the branch and its Location; accepts Idempotency-"
                      "Key.",
          **requires("org:write", errors=[409]))
    async def create_branch(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            data: BranchCreate) -> Response[OrgNodeOut]:
        return await created(request, session, lambda: services.create_branch(session, data, authz), _node_out,
                             lambda node: f"/api/v1/org/branches/{node.id}")

    @post("/branches/export", operation_id="exportBranches", summary="Export branches (a background job)",
          status_code=202,
          description="Starts a background export of every branch of the group and answers 202 with the job: "
                      "follow getJob (jobs:read) for its progress and result. Needs org:read and org.read at the "
                      "group node, as the export holds every branch. Accepts Idempotency-Key.",
          **requires("org:read", errors=[409]))
    async def export_branches(self, request: Request[Any, Any, Any], session: AsyncSession,
                              authz: Authorizer) -> Response[JobOut]:
        # The export holds every branch of the group, so it is for those who may read them all.
        await services.get_root(session, authz)

        async def produce() -> Response[JobOut]:
            job = await create_job(session, tasks.EXPORT_BRANCHES)
            enqueue_after_commit(session, tasks.export_branches, tenant=request.user.tenant, job_id=str(job.id))
            return accepted(job)

        return await idempotent(request, session, produce)

    @get("/branches/{branch_id:uuid}", operation_id="getBranch", summary="Get a branch",
         description="One branch; its ETag is what If-Match needs to change or delete it. Needs org:read; 404 for"
                     " a branch the caller cannot see.",
         **requires("org:read", errors=[404]))
    async def get_branch(self, reader: TenantReader, authz: Authorizer, branch_id: uuid.UUID) -> Response[OrgNodeOut]:
        return _one(await services.read_node(reader, authz, branch_id, NodeKind.branch))

    @patch("/branches/{branch_id:uuid}", operation_id="updateBranch", summary="Update a branch",
           description="Changes a branch's name or description. Needs org:write, org.manage at the branch and If-"
                       "Match.",
           **requires("org:write", errors=[404, 409, 412, 428]))
    async def update_branch(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            branch_id: uuid.UUID, data: NodeUpdate) -> Response[OrgNodeOut]:
        node = await services.lock_node(session, authz, branch_id, NodeKind.branch)
        check_if_match(request, node.version)
        return _one(await services.update_node(session, authz, node, data))

    @delete("/branches/{branch_id:uuid}", operation_id="deleteBranch", summary="Delete an empty branch",
            description="Deletes a branch with no projects under it and nothing else left open on it. Needs "
                        "org:write, org.manage at the group node and If-Match; 409 naming what it still has.",
            **requires("org:write", errors=[404, 409, 412, 428]))
    async def delete_branch(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            branch_id: uuid.UUID) -> None:
        node = await services.lock_node(session, authz, branch_id, NodeKind.branch)
        check_if_match(request, node.version)
        await services.delete_node(session, authz, node)


class ProjectController(Controller):
    path = "/api/v1/org/projects"
    tags = ["Organisation"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listProjects", summary="List projects",
         dependencies={"page": page_params(*services.PROJECT_SORT)},
         description="The projects the caller may see, a page at a time: filter by branch, name, exact code or "
                     "handover date range. Needs org:read; the caller sees the nodes under those where their "
                     "roles grant org.read.",
         **requires("org:read"))
    async def list_projects(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        branch_id: uuid.UUID | None = Parameter(query="branchId", default=None, description="The branch."),
        q: str | None = _q(), code: str | None = _code(),
        handover_from: date | None = Parameter(query="handoverFrom", default=None,
                                               description="Handover date on or after."),
        handover_to: date | None = Parameter(query="handoverTo", default=None,
                                             description="Handover date on or before."),
    ) -> Page[ProjectOut]:
        return await services.list_projects(session, authz, page, branch_id=branch_id, q=q, code=code,
                                            handover_from=handover_from, handover_to=handover_to)

    @post("/", operation_id="createProject", summary="Create a project in a branch",
          description="Creates a project in a branch, with its code, name and handover date (which decides who "
                      "answers its customers: the project department before, customer affairs after). Needs "
                      "org:write and org.manage at the branch; 404 when the branch is not there; 409 when the "
                      "code is taken. Answers 201 with its Location; accepts Idempotency-Key.",
          **requires("org:write", errors=[404, 409]))
    async def create_project(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             data: ProjectCreate) -> Response[ProjectOut]:
        return await created(request, session, lambda: services.create_project(session, authz, data), _project_out,
                             lambda node: f"/api/v1/org/projects/{node.id}")

    @get("/{project_id:uuid}", operation_id="getProject", summary="Get a project",
         description="One project with its branch and handover date; its ETag is what If-Match needs to change, "
                     "move or delete it. Needs org:read; 404 for a project the caller cannot see.",
         **requires("org:read", errors=[404]))
    async def get_project(self, reader: TenantReader, authz: Authorizer,
                          project_id: uuid.UUID) -> Response[ProjectOut]:
        return _project(await services.read_node(reader, authz, project_id, NodeKind.project))

    @patch("/{project_id:uuid}", operation_id="updateProject", summary="Update a project (e.g. its handover date)",
           description="Changes a project's name, description or handover date. Needs org:write, org.manage at "
                       "the project and If-Match.",
           **requires("org:write", errors=[404, 409, 412, 428]))
    async def update_project(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             project_id: uuid.UUID, data: ProjectUpdate) -> Response[ProjectOut]:
        node = await services.lock_node(session, authz, project_id, NodeKind.project)
        check_if_match(request, node.version)
        return _project(await services.update_node(session, authz, node, data))

    @delete("/{project_id:uuid}", operation_id="deleteProject", summary="Delete an empty project",
            description="Deletes a project with no buildings and nothing else left open on it. Needs org:write, "
                        "org.manage at its branch and If-Match; 409 naming what it still has.",
            **requires("org:write", errors=[404, 409, 412, 428]))
    async def delete_project(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             project_id: uuid.UUID) -> None:
        node = await services.lock_node(session, authz, project_id, NodeKind.project)
        check_if_match(request, node.version)
        await services.delete_node(session, authz, node)

    @post("/{project_id:uuid}/move", operation_id="moveProject",
          summary="Move a project, with its buildings and units, to another branch",
          status_code=200,
          description="Moves a project with its buildings and units to another branch, with a reason (audited). "
                      "Needs org:write, org.manage at both branches and If-Match; 404 when the target branch is "
                      "not there.",
          **requires("org:write", errors=[404, 409, 412, 428]))
    async def move_project(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           project_id: uuid.UUID, data: ProjectMove) -> Response[ProjectOut]:
        node = await services.lock_node(session, authz, project_id, NodeKind.project)
        check_if_match(request, node.version)
        return _project(await services.move_project(session, authz, node, data))


class BuildingController(Controller):
    path = "/api/v1/org/buildings"
    tags = ["Organisation"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listBuildings", summary="List buildings",
         dependencies={"page": page_params(*services.NODE_SORT)},
         description="The buildings the caller may see, a page at a time (filter by project, name or exact code)."
                     " Needs org:read; the caller sees the nodes under those where their roles grant org.read.",
         **requires("org:read"))
    async def list_buildings(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        project_id: uuid.UUID | None = Parameter(query="projectId", default=None, description="The project."),
        q: str | None = _q(), code: str | None = _code(),
    ) -> Page[OrgNodeOut]:
        return await services.list_buildings(session, authz, page, project_id=project_id, q=q, code=code)

    @post("/", operation_id="createBuilding", summary="Create a building in a project",
          description="Creates a building in a project. Needs org:write and org.manage at the project; 404 when "
                      "the project is not there; 409 when the code is taken in it. Answers 201 with its Location;"
                      " accepts Idempotency-Key.",
          **requires("org:write", errors=[404, 409]))
    async def create_building(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              data: BuildingCreate) -> Response[OrgNodeOut]:
        return await created(request, session, lambda: services.create_building(session, authz, data), _node_out,
                             lambda node: f"/api/v1/org/buildings/{node.id}")

    @get("/{building_id:uuid}", operation_id="getBuilding", summary="Get a building",
         description="One building; its ETag is what If-Match needs to change or delete it. Needs org:read; 404 "
                     "for a building the caller cannot see.",
         **requires("org:read", errors=[404]))
    async def get_building(self, reader: TenantReader, authz: Authorizer,
                           building_id: uuid.UUID) -> Response[OrgNodeOut]:
        return _one(await services.read_node(reader, authz, building_id, NodeKind.building))

    @patch("/{building_id:uuid}", operation_id="updateBuilding", summary="Update a building",
           description="Changes a building's name or details. Needs org:write, org.manage at the building and If-"
                       "Match.",
           **requires("org:write", errors=[404, 409, 412, 428]))
    async def update_building(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              building_id: uuid.UUID, data: NodeUpdate) -> Response[OrgNodeOut]:
        node = await services.lock_node(session, authz, building_id, NodeKind.building)
        check_if_match(request, node.version)
        return _one(await services.update_node(session, authz, node, data))

    @delete("/{building_id:uuid}", operation_id="deleteBuilding", summary="Delete a building without units",
            description="Deletes a building without units. Needs org:write, org.manage at its project and If-"
                        "Match; 409 while it has units.",
            **requires("org:write", errors=[404, 409, 412, 428]))
    async def delete_building(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              building_id: uuid.UUID) -> None:
        node = await services.lock_node(session, authz, building_id, NodeKind.building)
        check_if_match(request, node.version)
        await services.delete_node(session, authz, node)


class UnitController(Controller):
    path = "/api/v1/org/units"
    tags = ["Organisation"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listUnits", summary="List units",
         dependencies={"page": page_params(*services.UNIT_SORT)},
         description="The units the caller may see, a page at a time: filter by building, project, floor, sales "
                     "status, layout or exact number. Needs org:read; the caller sees the nodes under those where"
                     " their roles grant org.read.",
         **requires("org:read"))
    async def list_units(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        building_id: uuid.UUID | None = Parameter(query="buildingId", default=None, description="The building."),
        project_id: uuid.UUID | None = Parameter(query="projectId", default=None, description="The project."),
        floor: int | None = Parameter(query="floor", default=None, ge=-20, le=300, description="Exact floor."),
        status: UnitStatus | None = Parameter(query="status", default=None, description="Sales status."),
        layout: str | None = Parameter(query="layout", default=None, max_length=40, description="Exact layout."),
        number: str | None = Parameter(query="number", default=None, max_length=20, description="Exact number."),
    ) -> Page[UnitOut]:
        return await services.list_units(session, authz, page, building_id=building_id, project_id=project_id,
                                         floor=floor, status=status, layout=layout, number=number)

    @post("/", operation_id="createUnit", summary="Create a unit in a building",
          description="Creates a unit in a building with its number and floor. Needs org:write and org.manage at "
                      "the building; 404 when the building is not there; 409 when the number is taken in it. "
                      "Answers 201 with its Location; accepts Idempotency-Key.",
          **requires("org:write", errors=[404, 409]))
    async def create_unit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: UnitCreate) -> Response[UnitOut]:
        return await created(request, session, lambda: services.create_unit(session, authz, data), _unit_out,
                             lambda unit: f"/api/v1/org/units/{unit.id}")

    @get("/{unit_id:uuid}", operation_id="getUnit", summary="Get a unit",
         description="One unit with its building, floor, layout and sales status; its ETag is what If-Match needs"
                     " to change or delete it. Needs org:read; 404 for a unit the caller cannot see.",
         **requires("org:read", errors=[404]))
    async def get_unit(self, reader: TenantReader, authz: Authorizer, unit_id: uuid.UUID) -> Response[UnitOut]:
        unit = await services.read_unit(reader, authz, unit_id)
        return _unit(unit)

    @patch("/{unit_id:uuid}", operation_id="updateUnit", summary="Update a unit (e.g. its sales status)",
           description="Changes a unit's details, such as its sales status or layout. Needs org:write, org.manage"
                       " at its building and If-Match.",
           **requires("org:write", errors=[404, 409, 412, 428]))
    async def update_unit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          unit_id: uuid.UUID, data: UnitUpdate) -> Response[UnitOut]:
        unit, path = await services.get_unit(session, authz, unit_id, lock=True)
        check_if_match(request, unit.version)
        return _unit(await services.update_unit(session, authz, unit, path, data))

    @delete("/{unit_id:uuid}", operation_id="deleteUnit", summary="Delete a unit",
            description="Deletes a unit. Needs org:write, org.manage at its building and If-Match; 409 naming "
                        "what still refers to it.",
            **requires("org:write", errors=[404, 409, 412, 428]))
    async def delete_unit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          unit_id: uuid.UUID) -> None:
        unit, path = await services.get_unit(session, authz, unit_id, lock=True)
        check_if_match(request, unit.version)
        await services.delete_unit(session, authz, unit, path)

    @get("/{unit_id:uuid}/responsibility", operation_id="getUnitResponsibility",
         summary="Who is responsible for this unit's customers today (project department or customer affairs)",
         description="Who answers for this unit's customers today: the project department before the project's "
                     "handover date, customer affairs from it on. Needs org:read; 404 for a unit the caller "
                     "cannot see.",
         **requires("org:read", errors=[404]))
    async def get_responsibility(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                 unit_id: uuid.UUID) -> Responsibility:
        tenant = await get_tenant(session, request.user.tenant)  # the token's tenant: its time zone
        return await services.unit_responsibility(session, authz, unit_id, tenant.time_zone)


CONTROLLERS = [OrgController, ProjectController, BuildingController, UnitController]
