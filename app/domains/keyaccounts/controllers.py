"""HTTP for improvement actions, big-customer strategies and return visits, and after-sales
service plans: requests become service calls, nothing more."""

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
from app.domains.keyaccounts.models import PlanKind
from app.domains.keyaccounts.schemas import (
    ActionCreate,
    ActionDone,
    ActionStatus,
    ActionUpdate,
    Cancellation,
    ImprovementOut,
    PlanCreate,
    PlanStatus,
    PlanUpdate,
    ServicePlanOut,
    StrategyCreate,
    StrategyOut,
    StrategyReview,
    StrategyStatus,
    StrategyUpdate,
    Submission,
    TrialEvaluation,
    VisitNotice,
    VisitOut,
    VisitReport,
    VisitStatus,
)
from app.domains.keyaccounts.services import improvements, service_plans, strategies, visits

BASE = "/api/v1/keyaccounts"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
NODE_FILTER = "Records at this org node or below it."
MOVES = [404, 409, 412, 428]
READS, WRITES = "keyaccounts:read", "keyaccounts:write"


class SurveyImprovementController(Controller):
    path = f"{BASE}/improvements"
    tags = ["Key accounts"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listSurveyImprovements", summary="List improvement actions",
         description="Improvement actions raised from return visits and satisfaction surveys, inside the caller's "
                     "subtree; `overdue=true` lists those in progress past their due day.",
         dependencies={"page": page_params(*improvements.SORT)}, **requires(READS))
    async def list_actions(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                           status: ActionStatus | None = Parameter(query="status", default=None),
                           plan_id: uuid.UUID | None = Parameter(query="planId", default=None),
                           customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
                           owner_id: uuid.UUID | None = Parameter(query="ownerId", default=None),
                           overdue: bool | None = Parameter(query="overdue", default=None),
                           node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                                 description=NODE_FILTER)) -> Page[ImprovementOut]:
        return await improvements.list_actions(session, authz, page, status=status, plan_id=plan_id,
                                               customer_id=customer_id,
                                               owner_id=str(owner_id) if owner_id else None, overdue=overdue,
                                               node_id=node_id)

    @post("/", operation_id="raiseSurveyImprovement", summary="Raise an improvement action from a survey finding",
          description="From one survey result (`source: result`) or a return-visit plan's statistics "
                      "(`source: plan`), named by `sourceId`: the finding, the action, its owner and due day. With "
                      "`submit` it goes to the `improvement_plan` approval chain at once; approved, it is "
                      "`in_progress`.",
          **requires(WRITES, errors=[404, 409]))
    async def raise_action(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: ActionCreate) -> Response[ImprovementOut]:
        return await created(request, session, lambda: improvements.create_action(session, authz, data),
                             lambda a: improvements.show(session, a), lambda a: f"{BASE}/improvements/{a.id}")

    @get("/{action_id:uuid}", operation_id="getSurveyImprovement", summary="An improvement action",
         description="One improvement action with its status (its approval request's while under review), whether "
                     "it is overdue, and its outcome once done; `ETag` for a later change.",
         **requires(READS, errors=[404]))
    async def get_action(self, session: AsyncSession, authz: Authorizer,
                         action_id: uuid.UUID) -> Response[ImprovementOut]:
        a, _ = await improvements.get_action(session, authz, action_id)
        return with_etag(await improvements.show(session, a), a.version)

    @patch("/{action_id:uuid}", operation_id="reviseSurveyImprovement",
           summary="Revise a draft action, or one rejected or withdrawn",
           description="Needs If-Match. A rejected action is revised here, then submitted again as the next round.",
           **requires(WRITES, errors=MOVES))
    async def revise(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     action_id: uuid.UUID, data: ActionUpdate) -> Response[ImprovementOut]:
        return await updated(request, improvements.get_action(session, authz, action_id, lock=True),
                             lambda a, path: improvements.update_action(session, authz, a, path, data),
                             lambda a: improvements.show(session, a))

    @post("/{action_id:uuid}/submit", operation_id="submitSurveyImprovement", status_code=200,
          summary="Send the improvement plan to approval (again)",
          description="To the `improvement_plan` chain (big-customer supervisor, then big-customer manager, by "
                      "default); a rejected one as the next round of its request. Needs If-Match.",
          **requires(WRITES, errors=MOVES))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     action_id: uuid.UUID, data: Submission) -> Response[ImprovementOut]:
        return await updated(request, improvements.get_action(session, authz, action_id, lock=True),
                             lambda a, path: improvements.submit_action(session, authz, a, path, data),
                             lambda a: improvements.show(session, a))

    @post("/{action_id:uuid}/complete", operation_id="completeSurveyImprovement", status_code=200,
          summary="Record an action's outcome: done",
          description="Only an action in progress (approved). Needs If-Match.", **requires(WRITES, errors=MOVES))
    async def complete(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       action_id: uuid.UUID, data: ActionDone) -> Response[ImprovementOut]:
        return await updated(request, improvements.get_action(session, authz, action_id, lock=True),
                             lambda a, path: improvements.complete_action(session, authz, a, path, data),
                             lambda a: improvements.show(session, a))

    @post("/{action_id:uuid}/cancel", operation_id="cancelSurveyImprovement", status_code=200,
          summary="Cancel an improvement action",
          description="A draft, a decided one or one in progress, with the reason; a pending approval request is "
                      "withdrawn first. Needs If-Match.", **requires(WRITES, errors=MOVES))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     action_id: uuid.UUID, data: Cancellation) -> Response[ImprovementOut]:
        return await updated(request, improvements.get_action(session, authz, action_id, lock=True),
                             lambda a, path: improvements.cancel_action(session, authz, a, path, data),
                             lambda a: improvements.show(session, a))


class StrategyController(Controller):
    path = f"{BASE}/strategies"
    tags = ["Key accounts"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listKeyAccountStrategies", summary="List big-customer strategies",
         description="Big-customer management strategies and goals inside the caller's subtree, by status or "
                     "customer.", dependencies={"page": page_params(*strategies.SORT)}, **requires(READS))
    async def list_strategies(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                              status: StrategyStatus | None = Parameter(query="status", default=None),
                              customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
                              node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                                    description=NODE_FILTER)) -> Page[StrategyOut]:
        return await strategies.list_strategies(session, authz, page, status=status, customer_id=customer_id,
                                                node_id=node_id)

    @post("/", operation_id="draftKeyAccountStrategy", summary="Draft a big customer's strategy and goals",
          description="For a big customer (an account manager, or grade A: 409 otherwise). With `submit` it goes "
                      "to the `key_account_strategy` chain (customer-service manager, then the general manager) at "
                      "once; approved, it is `in_force`.", **requires(WRITES, errors=[404, 409]))
    async def draft(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    data: StrategyCreate) -> Response[StrategyOut]:
        return await created(request, session, lambda: strategies.create_strategy(session, authz, data),
                             lambda s: strategies.show(session, s), lambda s: f"{BASE}/strategies/{s.id}")

    @get("/{strategy_id:uuid}", operation_id="getKeyAccountStrategy", summary="A big-customer strategy",
         description="One strategy with its status (its approval request's while under review); `ETag` for a "
                     "later change.", **requires(READS, errors=[404]))
    async def get_strategy(self, session: AsyncSession, authz: Authorizer,
                           strategy_id: uuid.UUID) -> Response[StrategyOut]:
        s, _ = await strategies.get_strategy(session, authz, strategy_id)
        return with_etag(await strategies.show(session, s), s.version)

    @patch("/{strategy_id:uuid}", operation_id="reviseKeyAccountStrategy",
           summary="Revise a draft strategy, or one rejected or withdrawn", description="Needs If-Match.",
           **requires(WRITES, errors=MOVES))
    async def revise(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     strategy_id: uuid.UUID, data: StrategyUpdate) -> Response[StrategyOut]:
        return await updated(request, strategies.get_strategy(session, authz, strategy_id, lock=True),
                             lambda s, path: strategies.update_strategy(session, authz, s, path, data),
                             lambda s: strategies.show(session, s))

    @post("/{strategy_id:uuid}/submit", operation_id="submitKeyAccountStrategy", status_code=200,
          summary="Send the strategy to approval (again)",
          description="To the `key_account_strategy` chain; a rejected one as the next round. Needs If-Match.",
          **requires(WRITES, errors=MOVES))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     strategy_id: uuid.UUID, data: Submission) -> Response[StrategyOut]:
        return await updated(request, strategies.get_strategy(session, authz, strategy_id, lock=True),
                             lambda s, path: strategies.submit_strategy(session, authz, s, path, data),
                             lambda s: strategies.show(session, s))

    @post("/{strategy_id:uuid}/review", operation_id="reviewKeyAccountStrategy", status_code=200,
          summary="Look back on a strategy in force",
          description="The big-customer service review (seed 000 Ch 4 §14 ⑦) of a strategy in force; it is then "
                      "`reviewed`. Needs If-Match.", **requires(WRITES, errors=MOVES))
    async def review(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     strategy_id: uuid.UUID, data: StrategyReview) -> Response[StrategyOut]:
        return await updated(request, strategies.get_strategy(session, authz, strategy_id, lock=True),
                             lambda s, path: strategies.review_strategy(session, authz, s, path, data),
                             lambda s: strategies.show(session, s))


class VisitController(Controller):
    path = f"{BASE}/visits"
    tags = ["Key accounts"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listKeyAccountVisits", summary="List big-customer return visits",
         description="On-site return visits of big customers inside the caller's subtree, by status, customer or "
                     "visiting specialist.", dependencies={"page": page_params(*visits.SORT)}, **requires(READS))
    async def list_visits(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                          status: VisitStatus | None = Parameter(query="status", default=None),
                          customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
                          visitor_id: uuid.UUID | None = Parameter(query="visitorId", default=None),
                          node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                                description=NODE_FILTER)) -> Page[VisitOut]:
        return await visits.list_visits(session, authz, page, status=status, customer_id=customer_id,
                                        visitor_id=str(visitor_id) if visitor_id else None, node_id=node_id)

    @post("/", operation_id="noticeKeyAccountVisit", summary="Issue a big-customer return-visit notice",
          description="The return-visit notice for a big customer (409 for another customer), assigning the visit "
                      "to a specialist (`visitorId`).", **requires(WRITES, errors=[404, 409]))
    async def notice(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     data: VisitNotice) -> Response[VisitOut]:
        return await created(request, session, lambda: visits.notify_visit(session, authz, data),
                             lambda v: visits.show(session, v), lambda v: f"{BASE}/visits/{v.id}")

    @get("/{visit_id:uuid}", operation_id="getKeyAccountVisit", summary="A big-customer return visit",
         description="One return visit: the notice, the written report, its status (its approval request's while "
                     "under review) and when it was archived; `ETag` for a later change.",
         **requires(READS, errors=[404]))
    async def get_visit(self, session: AsyncSession, authz: Authorizer, visit_id: uuid.UUID) -> Response[VisitOut]:
        v, _ = await visits.get_visit(session, authz, visit_id)
        return with_etag(await visits.show(session, v), v.version)

    @post("/{visit_id:uuid}/report", operation_id="reportKeyAccountVisit", status_code=200,
          summary="Write the visit's report and send it to review",
          description="The written report of the on-site visit (findings, the customer's feedback, the departments' "
                      "service-quality material) to the `key_account_visit_report` chain; a rejected report is "
                      "written again here. Approved, it is archived and shows in the customer's timeline. Needs "
                      "If-Match.", **requires(WRITES, errors=MOVES))
    async def report(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     visit_id: uuid.UUID, data: VisitReport) -> Response[VisitOut]:
        return await updated(request, visits.get_visit(session, authz, visit_id, lock=True),
                             lambda v, path: visits.report_visit(session, authz, v, path, data),
                             lambda v: visits.show(session, v))

    @post("/{visit_id:uuid}/cancel", operation_id="cancelKeyAccountVisit", status_code=200,
          summary="Cancel a visit not yet reported", description="With the reason. Needs If-Match.",
          **requires(WRITES, errors=MOVES))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     visit_id: uuid.UUID, data: Cancellation) -> Response[VisitOut]:
        return await updated(request, visits.get_visit(session, authz, visit_id, lock=True),
                             lambda v, path: visits.cancel_visit(session, authz, v, path, data),
                             lambda v: visits.show(session, v))


class ServicePlanController(Controller):
    path = f"{BASE}/service-plans"
    tags = ["Key accounts"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listAfterSalesPlans", summary="List after-sales service plans",
         description="After-sales service plans inside the caller's subtree, by status, kind or customer.",
         dependencies={"page": page_params(*service_plans.SORT)}, **requires(READS))
    async def list_plans(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                         status: PlanStatus | None = Parameter(query="status", default=None),
                         kind: PlanKind | None = Parameter(query="kind", default=None),
                         customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
                         node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                               description=NODE_FILTER)) -> Page[ServicePlanOut]:
        return await service_plans.list_plans(session, authz, page, status=status, kind=kind,
                                              customer_id=customer_id, node_id=node_id)

    @post("/", operation_id="draftAfterSalesPlan", summary="Draft an after-sales service plan",
          description="At a branch or project. A `routine` plan goes to the `after_sales_plan` chain (the "
                      "after-sales manager), a `non_routine` one to `after_sales_plan_non_routine` (senior "
                      "management too). Approved, it is on `trial` until `trialEndsOn`.",
          **requires(WRITES, errors=[404, 409]))
    async def draft(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    data: PlanCreate) -> Response[ServicePlanOut]:
        return await created(request, session, lambda: service_plans.create_plan(session, authz, data),
                             lambda p: service_plans.show(session, p), lambda p: f"{BASE}/service-plans/{p.id}")

    @get("/{plan_id:uuid}", operation_id="getAfterSalesPlan", summary="An after-sales service plan",
         description="One plan with its kind, status (its approval request's while under review), trial and "
                     "evaluation; `ETag` for a later change.", **requires(READS, errors=[404]))
    async def get_plan(self, session: AsyncSession, authz: Authorizer, plan_id: uuid.UUID) -> Response[ServicePlanOut]:
        p, _ = await service_plans.get_plan(session, authz, plan_id)
        return with_etag(await service_plans.show(session, p), p.version)

    @patch("/{plan_id:uuid}", operation_id="reviseAfterSalesPlan",
           summary="Revise a draft plan, or one rejected or withdrawn",
           description="Needs If-Match. Changing the kind of a decided plan makes the next submission a new request "
                       "on the other chain.", **requires(WRITES, errors=MOVES))
    async def revise(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     plan_id: uuid.UUID, data: PlanUpdate) -> Response[ServicePlanOut]:
        return await updated(request, service_plans.get_plan(session, authz, plan_id, lock=True),
                             lambda p, path: service_plans.update_plan(session, authz, p, path, data),
                             lambda p: service_plans.show(session, p))

    @post("/{plan_id:uuid}/submit", operation_id="submitAfterSalesPlan", status_code=200,
          summary="Send the plan to approval (again)",
          description="To its kind's chain; a rejected one as the next round. Needs If-Match.",
          **requires(WRITES, errors=MOVES))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     plan_id: uuid.UUID, data: Submission) -> Response[ServicePlanOut]:
        return await updated(request, service_plans.get_plan(session, authz, plan_id, lock=True),
                             lambda p, path: service_plans.submit_plan(session, authz, p, path, data),
                             lambda p: service_plans.show(session, p))

    @post("/{plan_id:uuid}/evaluation", operation_id="evaluateAfterSalesPlanTrial", status_code=200,
          summary="Judge the trial: in force, or back to revise",
          description="The customers' response to the trial, discussed and judged: `adopt` puts the plan in force; "
                      "otherwise it is a draft again, to be revised and approved anew. Needs If-Match.",
          **requires(WRITES, errors=MOVES))
    async def evaluate(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       plan_id: uuid.UUID, data: TrialEvaluation) -> Response[ServicePlanOut]:
        return await updated(request, service_plans.get_plan(session, authz, plan_id, lock=True),
                             lambda p, path: service_plans.evaluate_trial(session, authz, p, path, data),
                             lambda p: service_plans.show(session, p))


CONTROLLERS: list[type[Controller]] = [SurveyImprovementController, StrategyController, VisitController,
                                       ServicePlanController]
