"""HTTP for visit planning: translate requests to service calls, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.visiting import services
from app.domains.visiting.models import PlanStatus, RegionalVisitPlan
from app.domains.visiting.schemas import (
    AreaCreate,
    AreaOut,
    AreaSummary,
    AreaUpdate,
    KeyCustomerOut,
    PlanClose,
    PlanCreate,
    PlanSummaryOut,
    PlanUpdate,
    RegionalPlanOut,
)

BASE = "/api/v1/visiting"
DEPS = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
NODE_FILTER = "Records at this org node or below it."
TAGS = ["Visit planning"]


async def _plan(p: RegionalVisitPlan) -> RegionalPlanOut:
    return services.plan_out(p)


class AreaController(Controller):
    path = f"{BASE}/areas"
    tags = TAGS
    dependencies = DEPS

    @get("/", operation_id="listVisitAreas", summary="List visit areas",
         description="Areas at a branch or project in the caller's subtrees (`interactions.read`).",
         dependencies={"page": page_params(*services.AREA_SORT)}, **requires("visiting:read"))
    async def list_areas(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                         node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                               description=NODE_FILTER)) -> Page[AreaSummary]:
        return await services.list_areas(session, authz, page, node_id=node_id)

    @post("/", operation_id="createVisitArea", summary="Lay out a visit area with its routes",
          description="Seed 000 §21 ①–④: an area at a branch or project (422 naming the field for another kind), "
                      "the transport survey, and routes of customers in visiting order, each customer at the "
                      "area's node or below (422 naming the line otherwise; 404 for one the caller does not plan "
                      "visits for). A route's `everyDays` is its visit frequency; without it each customer's "
                      "comes from their grade (the grading rules' `visitDays`).",
          **requires("visiting:write", errors=[404, 409]))
    async def create_area(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: AreaCreate) -> Response[AreaOut]:
        return await created(request, session, lambda: services.create_area(session, authz, data),
                             lambda area: services.area_out(session, area), lambda area: f"{BASE}/areas/{area.id}")

    @get("/{area_id:uuid}", operation_id="getVisitArea", summary="A visit area with its routes",
         description="Each stop shows the customer's grade and the visit frequency that applies to it.",
         **requires("visiting:read", errors=[404]))
    async def get_area(self, session: AsyncSession, authz: Authorizer, area_id: uuid.UUID) -> Response[AreaOut]:
        area, _ = await services.get_area(session, authz, area_id)
        return with_etag(await services.area_out(session, area), area.version)

    @patch("/{area_id:uuid}", operation_id="updateVisitArea", summary="Rename an area or lay out its routes anew",
           description="`routes` replaces every route of the area, with the rules of the creation.",
           **requires("visiting:write", errors=[404, 409, 412, 428]))
    async def update_area(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          area_id: uuid.UUID, data: AreaUpdate) -> Response[AreaOut]:
        return await updated(request, services.get_area(session, authz, area_id, lock=True),
                             lambda area, path: services.update_area(session, authz, area, path, data),
                             lambda area: services.area_out(session, area))


class PlanController(Controller):
    path = f"{BASE}/plans"
    tags = TAGS
    dependencies = DEPS

    @get("/", operation_id="listRegionalVisitPlans", summary="List regional visit plans",
         description="Plans of the areas in the caller's subtrees, newest period first by default.",
         dependencies={"page": page_params(*services.PLAN_SORT)}, **requires("visiting:read"))
    async def list_plans(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
        area_id: uuid.UUID | None = Parameter(query="areaId", default=None),
        status: PlanStatus | None = Parameter(query="status", default=None),
    ) -> Page[RegionalPlanOut]:
        return await services.list_plans(session, authz, page, node_id=node_id, area_id=area_id, status=status)

    @post("/", operation_id="createRegionalVisitPlan", summary="Plan an area's visits for a period",
          description="Seed 000 §21 ⑤ 区域拜访计划: the area (404 naming `areaId` when not there for the caller) "
                      "and the period, at most 366 days (422 otherwise). What is due, planned and done is read "
                      "from the visits: GET .../summary.",
          **requires("visiting:write", errors=[404]))
    async def create_plan(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: PlanCreate) -> Response[RegionalPlanOut]:
        return await created(request, session, lambda: services.create_plan(session, authz, data), _plan,
                             lambda plan: f"{BASE}/plans/{plan.id}")

    @get("/{plan_id:uuid}", operation_id="getRegionalVisitPlan", summary="A regional visit plan",
         description="The plan, and once closed its written summary.", **requires("visiting:read", errors=[404]))
    async def get_plan(self, session: AsyncSession, authz: Authorizer, plan_id: uuid.UUID) -> Response[RegionalPlanOut]:
        plan, _ = await services.get_plan(session, authz, plan_id)
        return with_etag(services.plan_out(plan), plan.version)

    @patch("/{plan_id:uuid}", operation_id="updateRegionalVisitPlan", summary="Change an open plan's title or period",
           description="409 once the plan is closed.", **requires("visiting:write", errors=[404, 409, 412, 428]))
    async def update_plan(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          plan_id: uuid.UUID, data: PlanUpdate) -> Response[RegionalPlanOut]:
        return await updated(request, services.get_plan(session, authz, plan_id, lock=True),
                             lambda plan, path: services.update_plan(session, authz, plan, path, data), _plan)

    @get("/{plan_id:uuid}/summary", operation_id="getRegionalVisitSummary",
         summary="The plan against the visits: due, planned and done, per route and customer",
         description="Seed 000 §21 ⑦: due is the period's days over each stop's visit frequency, rounded up; "
                     "planned counts the visits planned in the period and not yet made, done those made in it "
                     "(in the group's time zone).", **requires("visiting:read", errors=[404]))
    async def summary(self, session: AsyncSession, authz: Authorizer, plan_id: uuid.UUID) -> PlanSummaryOut:
        plan, _ = await services.get_plan(session, authz, plan_id)
        return await services.plan_summary(session, plan)

    @post("/{plan_id:uuid}/close", operation_id="closeRegionalVisitPlan", status_code=200,
          summary="Close the plan with its written regional summary",
          description="Seed 000 §21 ⑦ 区域客户拜访总结. The figures it was closed on are kept in its audit record; "
                      "409 when closed already.", **requires("visiting:write", errors=[404, 409, 412, 428]))
    async def close(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    plan_id: uuid.UUID, data: PlanClose) -> Response[RegionalPlanOut]:
        return await updated(request, services.get_plan(session, authz, plan_id, lock=True),
                             lambda plan, path: services.close_plan(session, authz, plan, path, data), _plan)


class KeyCustomerController(Controller):
    path = f"{BASE}/key-customers"
    tags = TAGS
    dependencies = DEPS

    @get("/", operation_id="listKeyCustomerVisits", summary="The key-customer visit plan",
         description="Seed 000 §21 ⑧ 重要客户拜访计划: the customers with an account manager or of grade A or B "
                     "(grading), in the caller's subtrees, each with their grade's visit frequency, last visit, "
                     "the day the next is due (today when never visited) and the next visit planned. "
                     "`overdue=true`: those whose visit is due before today or who were never visited.",
         dependencies={"page": page_params()}, **requires("visiting:read"))
    async def key_customers(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
        overdue: bool | None = Parameter(query="overdue", default=None),
    ) -> Page[KeyCustomerOut]:
        return await services.key_customers(session, authz, page, node_id=node_id, overdue=overdue)


CONTROLLERS: list[type[Controller]] = [AreaController, PlanController, KeyCustomerController]
