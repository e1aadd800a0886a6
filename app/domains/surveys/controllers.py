"""HTTP for the surveys domain: translate requests to service calls, nothing more."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.pagination import PageParams, page_params
from app.core.params import instant, instant_param
from app.core.schemas import Page
from app.core.writes import created, updated
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.surveys import services
from app.domains.surveys.models import PlanStatus, QuestionnaireStatus, TargetStatus
from app.domains.surveys.schemas import (
    Closing,
    GroupBy,
    Period,
    PlanCreate,
    PlanOut,
    PlanSummary,
    PlanUpdate,
    QuestionnaireCreate,
    QuestionnaireOut,
    QuestionnaireSummary,
    QuestionnaireUpdate,
    ResultCreate,
    ResultOut,
    ResultSummary,
    Statistics,
    TargetOut,
    TargetUpdate,
)

BASE = "/api/v1/surveys"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
NODE_FILTER = "Records at this org node or below it."


class QuestionnaireController(Controller):
    path = f"{BASE}/questionnaires"
    tags = ["Return visits"]
    dependencies = DEPENDENCIES

    async def _out(self, session: AsyncSession, q: Any) -> Response[QuestionnaireOut]:
        return Response(await services.questionnaire_out(session, q), headers={"ETag": etag(q.version)})

    @get("/", operation_id="listQuestionnaires", summary="The group's questionnaires",
         dependencies={"page": page_params(*services.QUESTIONNAIRE_SORT)},
         description="The group's questionnaires (shared by every node), a page at a time with their question counts, "
                     "by title; filter by status to find the active ones a plan or result may use. Needs surveys:read "
                     "and `surveys.read` at some node (403 otherwise).",
         **requires("surveys:read"))
    async def list_questionnaires(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: QuestionnaireStatus | None = Parameter(query="status", default=None),
    ) -> Page[QuestionnaireSummary]:
        return await services.list_questionnaires(session, authz, page, status=status)

    @post("/", operation_id="createQuestionnaire", summary="Define a questionnaire",
          description="Needs `surveys.configure` at the group node.", **requires("surveys:write"))
    async def create_questionnaire(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                   data: QuestionnaireCreate) -> Response[QuestionnaireOut]:
        return await created(request, session, lambda: services.create_questionnaire(session, authz, data),
                             lambda q: services.questionnaire_out(session, q),
                             lambda q: f"{BASE}/questionnaires/{q.id}")

    @get("/{questionnaire_id:uuid}", operation_id="getQuestionnaire", summary="A questionnaire with its questions",
         description="One questionnaire with its questions in order (scale questions name the satisfaction dimension "
                     "they score) and `inUse` once a result answers it, after which its questions are fixed. The ETag "
                     "is what If-Match needs to change it. Needs surveys:read and `surveys.read` at some node (403 "
                     "otherwise).",
         **requires("surveys:read", errors=[404]))
    async def get_questionnaire(self, session: AsyncSession, authz: Authorizer,
                                questionnaire_id: uuid.UUID) -> Response[QuestionnaireOut]:
        return await self._out(session, await services.get_questionnaire(session, authz, questionnaire_id))

    @patch("/{questionnaire_id:uuid}", operation_id="updateQuestionnaire",
           summary="Change or retire a questionnaire",
           description="Needs `surveys.configure` at the group node. Its questions change only while no result uses "
                       "it (409).",
           **requires("surveys:write", errors=[404, 409, 412, 428]))
    async def update_questionnaire(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                   questionnaire_id: uuid.UUID,
                                   data: QuestionnaireUpdate) -> Response[QuestionnaireOut]:
        q = await services.get_questionnaire(session, authz, questionnaire_id, lock=True)
        check_if_match(request, q.version)
        return await self._out(session, await services.update_questionnaire(session, authz, q, data))


class PlanController(Controller):
    path = f"{BASE}/plans"
    tags = ["Return visits"]
    dependencies = DEPENDENCIES

    async def _out(self, session: AsyncSession, plan: Any) -> Response[PlanOut]:
        return Response(await services.plan_out(session, plan), headers={"ETag": etag(plan.version)})

    @get("/", operation_id="listReturnVisitPlans", summary="List return-visit plans",
         dependencies={"page": page_params(*services.PLAN_SORT)},
         description="The return-visit plans at or under the nodes where the caller's roles hold `surveys.read`, a "
                     "page at a time by due date: filter by status (open, closed) or by a node's subtree. Needs "
                     "surveys:read.",
         **requires("surveys:read"))
    async def list_plans(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: PlanStatus | None = Parameter(query="status", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[PlanSummary]:
        return await services.list_plans(session, authz, page, status=status, node_id=node_id)

    @post("/", operation_id="createReturnVisitPlan", summary="Plan return visits to the customers the filters choose",
          description="The targets are chosen now: the live customers under the plan's node matching every filter, "
                      f"at most {services.MAX_TARGETS} (409 beyond). 404 naming the field for a node or "
                      "questionnaire that is not there; 409 for a retired questionnaire.",
          **requires("surveys:write", errors=[404, 409]))
    async def create_plan(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: PlanCreate) -> Response[PlanOut]:
        return await created(request, session, lambda: services.create_plan(session, authz, data),
                             lambda plan: services.plan_out(session, plan), lambda plan: f"{BASE}/plans/{plan.id}")

    @get("/{plan_id:uuid}", operation_id="getReturnVisitPlan", summary="A plan with its targets counted",
         description="One plan with the filters that chose its customers and its targets counted by status, overdue "
                     "ones (pending past the due date) apart. The ETag is what If-Match needs to change or close it. "
                     "Needs `surveys.read` at the plan's node (404 otherwise).",
         **requires("surveys:read", errors=[404]))
    async def get_plan(self, session: AsyncSession, authz: Authorizer, plan_id: uuid.UUID) -> Response[PlanOut]:
        plan, _ = await services.get_plan(session, authz, plan_id)
        return await self._out(session, plan)

    @patch("/{plan_id:uuid}", operation_id="updateReturnVisitPlan", summary="Change an open plan",
           description="A new due date moves the pending targets' due dates too.",
           **requires("surveys:write", errors=[404, 409, 412, 428]))
    async def update_plan(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          plan_id: uuid.UUID, data: PlanUpdate) -> Response[PlanOut]:
        return await updated(request, services.get_plan(session, authz, plan_id, lock=True),
                             lambda plan, path: services.update_plan(session, authz, plan, path, data),
                             lambda plan: services.plan_out(session, plan))

    @post("/{plan_id:uuid}/close", operation_id="closeReturnVisitPlan", status_code=200,
          summary="Close a plan: the targets not yet visited are cancelled",
          description="Ends the campaign (open → closed), with the reason: its pending and unreachable targets are "
                      "cancelled, while completed and declined ones stay as they are; no result may be recorded "
                      "through it afterwards. Needs `surveys.write` at the plan's node and If-Match; 409 when the "
                      "plan is already closed. Audited with the number of targets cancelled.",
          **requires("surveys:write", errors=[404, 409, 412, 428]))
    async def close_plan(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                         plan_id: uuid.UUID, data: Closing) -> Response[PlanOut]:
        return await updated(request, services.get_plan(session, authz, plan_id, lock=True),
                             lambda plan, path: services.close_plan(session, authz, plan, path, data),
                             lambda plan: services.plan_out(session, plan))


class TargetController(Controller):
    path = f"{BASE}/targets"
    tags = ["Return visits"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listReturnVisitTargets",
         summary="The customers to visit again: a plan's, the overdue ones, a customer's",
         dependencies={"page": page_params(*services.TARGET_SORT)},
         description="The customers to visit again, at or under the nodes where the caller's roles hold "
                     "`surveys.read`, a page at a time by due date: filter by plan, status, customer, a node's "
                     "subtree, or overdue (pending past the due date). Each carries the customer's number and name, "
                     "the attempts made and the result once recorded. Needs surveys:read.",
         **requires("surveys:read"))
    async def list_targets(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        plan_id: uuid.UUID | None = Parameter(query="planId", default=None),
        status: TargetStatus | None = Parameter(query="status", default=None),
        overdue: bool | None = Parameter(query="overdue", default=None,
                                         description="true: pending past their due date; false: the others."),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[TargetOut]:
        return await services.list_targets(session, authz, page, plan_id=plan_id, status=status, overdue=overdue,
                                           customer_id=customer_id, node_id=node_id)

    @get("/{target_id:uuid}", operation_id="getReturnVisitTarget", summary="A return-visit target",
         description="One customer of a plan to visit again: its due date, status, attempts, note and the result that "
                     "completed it. The ETag is what If-Match needs to record an attempt. Needs `surveys.read` at the "
                     "target's node (404 otherwise).",
         **requires("surveys:read", errors=[404]))
    async def get_target(self, session: AsyncSession, authz: Authorizer, target_id: uuid.UUID) -> Response[TargetOut]:
        target, _ = await services.get_target(session, authz, target_id)
        return Response(await services.target_out(session, target), headers={"ETag": etag(target.version)})

    @patch("/{target_id:uuid}", operation_id="updateReturnVisitTarget",
           summary="Record an attempt (unreachable, declined), a note or a new due date",
           description="Records a visit that produced no result: `unreachable` (adds one to the attempts) or "
                       "`declined`, back to `pending` to try again, a note, or a new due date; a recorded result, not "
                       "this, completes the target. Needs `surveys.write` at the target's node and If-Match; 409 when "
                       "its plan is closed or the target is completed or cancelled. Audited.",
           **requires("surveys:write", errors=[404, 409, 412, 428]))
    async def update_target(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            target_id: uuid.UUID, data: TargetUpdate) -> Response[TargetOut]:
        return await updated(request, services.get_target(session, authz, target_id, lock=True),
                             lambda target, path: services.update_target(session, authz, target, path, data),
                             lambda target: services.target_out(session, target))


class ResultController(Controller):
    path = f"{BASE}/results"
    tags = ["Return visits"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listSurveyResults", summary="List results (a customer's, a plan's, a period's)",
         dependencies={"page": page_params(*services.RESULT_SORT)},
         description="The customers' answers recorded at or under the nodes where the caller's roles hold "
                     "`surveys.read`, a page at a time and newest first: filter by customer, plan, questionnaire, a "
                     "node's subtree, or the response instant. Needs surveys:read.",
         **requires("surveys:read"))
    async def list_results(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        plan_id: uuid.UUID | None = Parameter(query="planId", default=None),
        questionnaire_id: uuid.UUID | None = Parameter(query="questionnaireId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
        responded_from: str | None = instant_param("respondedFrom", "At or after."),
        responded_to: str | None = instant_param("respondedTo", "Before."),
    ) -> Page[ResultSummary]:
        return await services.list_results(session, authz, page, customer_id=customer_id, plan_id=plan_id,
                                           questionnaire_id=questionnaire_id, node_id=node_id,
                                           responded_from=instant(responded_from, "respondedFrom"),
                                           responded_to=instant(responded_to, "respondedTo"))

    @post("/", operation_id="recordSurveyResult", summary="Record a customer's answers",
          description="Through a plan's target (`targetId`) the target is completed. 422 naming each answer that "
                      "does not fit the questionnaire; 409 for a retired questionnaire, a closed plan or a target "
                      "already done.",
          **requires("surveys:write", errors=[404, 409]))
    async def record(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     data: ResultCreate) -> Response[ResultOut]:
        return await created(request, session, lambda: services.create_result(session, authz, data),
                             lambda result: services.result_out(session, result),
                             lambda result: f"{BASE}/results/{result.id}")

    @get("/{result_id:uuid}", operation_id="getSurveyResult", summary="A result with its answers and mean scores",
         description="One result: who answered, how (method) and when, through which plan and target, each answer in "
                     "the questionnaire's order and the mean score of each satisfaction dimension. Needs "
                     "`surveys.read` at the customer's node (404 otherwise).",
         **requires("surveys:read", errors=[404]))
    async def get_result(self, session: AsyncSession, authz: Authorizer, result_id: uuid.UUID) -> Response[ResultOut]:
        result, _ = await services.get_result(session, authz, result_id)
        return Response(await services.result_out(session, result), headers={"ETag": etag(result.version)})


class StatisticsController(Controller):
    path = f"{BASE}/statistics"
    tags = ["Return visits"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="getSatisfactionStatistics",
         summary="Satisfaction by project, branch or group, per month, quarter or year",
         description="Responses, the mean score of each dimension and the share of satisfied customers (overall 4 "
                     "or 5), over the results the caller may read; periods in the group's time zone.",
         **requires("surveys:read"))
    async def statistics(
        self, session: AsyncSession, authz: Authorizer,
        group_by: GroupBy = Parameter(query="groupBy", default="project"),
        period: Period = Parameter(query="period", default="month"),
        since: date | None = Parameter(query="from", default=None, description="First day included."),
        until: date | None = Parameter(query="to", default=None, description="First day no longer included."),
        questionnaire_id: uuid.UUID | None = Parameter(query="questionnaireId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Statistics:
        return await services.statistics(session, authz, group_by=group_by, period=period, since=since, until=until,
                                         questionnaire_id=questionnaire_id, node_id=node_id)


CONTROLLERS: list[type[Controller]] = [QuestionnaireController, PlanController, TargetController, ResultController,
                                       StatisticsController]
