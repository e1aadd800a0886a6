"""HTTP for the interactions domain: translate requests to service calls, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import etag
from app.core.pagination import PageParams, page_params
from app.core.params import instant, instant_param
from app.core.schemas import Page
from app.core.writes import created, updated
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.interactions import services
from app.domains.interactions.models import CallDirection, CallOutcome, GiftPlanStatus, ReceptionKind
from app.domains.interactions.schemas import (
    CallCreate,
    CallOut,
    Cancellation,
    GiftApplicationCreate,
    GiftApplicationOut,
    GiftApplicationStatus,
    GiftPlanCreate,
    GiftPlanOut,
    GiftPlanUpdate,
    Issue,
    ReceptionCreate,
    ReceptionOut,
    ReceptionReport,
    ReceptionStatus,
    ReceptionSummary,
    ReceptionUpdate,
    Reimbursement,
    Submission,
    VisitCreate,
    VisitOut,
    VisitRecord,
    VisitReport,
    VisitShownStatus,
    VisitSummary,
    VisitUpdate,
)

BASE = "/api/v1/interactions"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
NODE_FILTER = "Records at this org node or below it."


# ------------------------------------------------------------------------------- visits


class VisitController(Controller):
    path = f"{BASE}/visits"
    tags = ["Interactions"]
    dependencies = DEPENDENCIES

    async def _out(self, session: AsyncSession, visit: Any) -> Response[VisitOut]:
        return Response(await services.visit_out(session, visit), headers={"ETag": etag(visit.version)})

    @get("/", operation_id="listVisits", summary="List visits (one's own, a customer's, a period's, ...)",
         dependencies={"page": page_params(*services.VISIT_SORT)},
         description="Visits at or under the nodes where the caller's roles hold `interactions.read`, a page at a "
                     "time by planned time: filter by status, customer, a node's subtree, mine (the caller is the "
                     "visitor) or the planned instant. Needs interactions:read.",
         **requires("interactions:read"))
    async def list_visits(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: VisitShownStatus | None = Parameter(query="status", default=None),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
        mine: bool | None = Parameter(query="mine", default=None, description="true: the caller's visits."),
        planned_from: str | None = instant_param("plannedFrom", "Planned at or after."),
        planned_to: str | None = instant_param("plannedTo", "Planned before."),
    ) -> Page[VisitSummary]:
        return await services.list_visits(session, authz, page, status=status, customer_id=customer_id,
                                          node_id=node_id, mine=mine,
                                          planned_from=instant(planned_from, "plannedFrom"),
                                          planned_to=instant(planned_to, "plannedTo"))

    @post("/", operation_id="planVisit", summary="Plan a visit to a customer",
          description="The visit sits where the customer does. 404 naming the field when the customer or the "
                      "visiting account is not there for the caller; 409 for a merged-away customer. `submit: "
                      "true` sends its application to the `visit_application` chain at once.",
          **requires("interactions:write", errors=[404, 409]))
    async def plan_visit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                         data: VisitCreate) -> Response[VisitOut]:
        return await created(request, session, lambda: services.create_visit(session, authz, data),
                             lambda visit: services.visit_out(session, visit),
                             lambda visit: f"{BASE}/visits/{visit.id}")

    @get("/{visit_id:uuid}", operation_id="getVisit", summary="A visit with its outcome and report",
         description="One visit: its customer, visitor, purpose and planned time, and once made what was heard "
                     "(needs, objections), the gifts handed over, the next appointment with the follow-up visit it "
                     "planned, and once reported the report and its expenses. The ETag is what If-Match needs for any "
                     "step. Needs `interactions.read` at the customer's node (404 otherwise).",
         **requires("interactions:read", errors=[404]))
    async def get_visit(self, session: AsyncSession, authz: Authorizer, visit_id: uuid.UUID) -> Response[VisitOut]:
        visit, _ = await services.get_visit(session, authz, visit_id)
        return await self._out(session, visit)

    @patch("/{visit_id:uuid}", operation_id="updateVisit",
           summary="Change a planned visit, or one whose application was rejected or withdrawn",
           description="Changes the purpose, time, location (null clears it) or visitor (an active staff account of "
                       "the group: 404 naming `ownerId` for no such account) of a visit not yet applied for, or "
                       "whose application was rejected or withdrawn (then apply again). Needs `interactions.write` "
                       "at the visit's node and If-Match; 409 otherwise. Audited.",
           **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def update_visit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           visit_id: uuid.UUID, data: VisitUpdate) -> Response[VisitOut]:
        return await updated(request, services.get_visit(session, authz, visit_id, lock=True),
                             lambda visit, path: services.update_visit(session, authz, visit, path, data),
                             lambda visit: services.visit_out(session, visit))

    @post("/{visit_id:uuid}/record", operation_id="recordVisit", status_code=200,
          summary="Record what happened at the visit: needs, objections, gifts, the next appointment",
          description="Only once the visit's application was approved (409 naming the status otherwise). A next "
                      "appointment plans the follow-up visit (`followUpId`), to be applied for in its turn. Needs "
                      "and objections are behaviour data: 409 `consent-required` without the customer's active "
                      "behaviour consent.",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def record_visit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           visit_id: uuid.UUID, data: VisitRecord) -> Response[VisitOut]:
        return await updated(request, services.get_visit(session, authz, visit_id, lock=True),
                             lambda visit, path: services.record_visit(session, authz, visit, path, data),
                             lambda visit: services.visit_out(session, visit))

    @post("/{visit_id:uuid}/report", operation_id="reportVisit", status_code=200,
          summary="Hand in the visit report with its expenses",
          description="Hands in the report of a visit made, with its expenses (meals, transport, gifts, other): "
                      "visited → reported. Needs `interactions.write` at the visit's node and If-Match; 409 unless "
                      "the visit was recorded as made and not yet reported. Audited.",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def report_visit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           visit_id: uuid.UUID, data: VisitReport) -> Response[VisitOut]:
        return await updated(request, services.get_visit(session, authz, visit_id, lock=True),
                             lambda visit, path: services.report_visit(session, authz, visit, path, data),
                             lambda visit: services.visit_out(session, visit))

    @post("/{visit_id:uuid}/cancel", operation_id="cancelVisit", status_code=200,
          summary="Cancel a visit not yet made (one under review: withdraw its application first)",
          description="Cancels a visit not yet made with the reason. Needs `interactions.write` at the visit's node "
                      "and If-Match; 409 while its application is pending (withdraw it first) and once the visit "
                      "was made, reported or cancelled. Audited with the reason.",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def cancel_visit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           visit_id: uuid.UUID, data: Cancellation) -> Response[VisitOut]:
        return await updated(request, services.get_visit(session, authz, visit_id, lock=True),
                             lambda visit, path: services.cancel_visit(session, authz, visit, path, data),
                             lambda visit: services.visit_out(session, visit))


# --------------------------------------------------------------------------- receptions


class ReceptionController(Controller):
    path = f"{BASE}/receptions"
    tags = ["Interactions"]
    dependencies = DEPENDENCIES

    async def _out(self, session: AsyncSession, reception: Any) -> Response[ReceptionOut]:
        return Response(await services.reception_out(session, reception), headers={"ETag": etag(reception.version)})

    @get("/", operation_id="listReceptions", summary="List receptions and hospitality",
         dependencies={"page": page_params(*services.RECEPTION_SORT)},
         description="Receptions and hospitality at or under the nodes where the caller's roles hold "
                     "`interactions.read`, a page at a time, latest scheduled first, with their budget totals: filter "
                     "by status (draft, reported, cancelled, or while under review its approval request's pending, "
                     "approved, rejected or withdrawn), kind, a node's subtree or the scheduled instant. Needs "
                     "interactions:read.",
         **requires("interactions:read"))
    async def list_receptions(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: ReceptionStatus | None = Parameter(query="status", default=None),
        kind: ReceptionKind | None = Parameter(query="kind", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
        scheduled_from: str | None = instant_param("scheduledFrom", "Scheduled at or after."),
        scheduled_to: str | None = instant_param("scheduledTo", "Scheduled before."),
    ) -> Page[ReceptionSummary]:
        return await services.list_receptions(session, authz, page, status=status, kind=kind, node_id=node_id,
                                              scheduled_from=instant(scheduled_from, "scheduledFrom"),
                                              scheduled_to=instant(scheduled_to, "scheduledTo"))

    @post("/", operation_id="applyForReception", summary="Apply for a reception or hospitality",
          description="At a project or branch; with `submit` (the default) the application goes to the "
                      "`reception_application` approval chain at once (409 when a step of it has nobody to decide "
                      "it). Its budget total is the request's amount, for chain steps with `minAmount`.",
          **requires("interactions:write", errors=[404, 409]))
    async def apply(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    data: ReceptionCreate) -> Response[ReceptionOut]:
        return await created(request, session, lambda: services.create_reception(session, authz, data),
                             lambda reception: services.reception_out(session, reception),
                             lambda reception: f"{BASE}/receptions/{reception.id}")

    @get("/{reception_id:uuid}", operation_id="getReception", summary="A reception with its guests and report",
         description="One reception: its purpose, venue, time, guests and budget by line, its status and approval "
                     "request; once reported who came (customer attendees and staff), the actual costs and whether "
                     "they ran over budget, the report's review (`reportStatus`), and finance's reimbursement. The "
                     "ETag is what If-Match needs for any step. Needs `interactions.read` at its project or branch "
                     "(404 otherwise).",
         **requires("interactions:read", errors=[404]))
    async def get_reception(self, session: AsyncSession, authz: Authorizer,
                            reception_id: uuid.UUID) -> Response[ReceptionOut]:
        reception, _ = await services.get_reception(session, authz, reception_id)
        return await self._out(session, reception)

    @patch("/{reception_id:uuid}", operation_id="updateReception",
           summary="Revise a draft, or an application that was rejected or withdrawn",
           description="Revises the application's title, purpose, venue, time, guests (replaced as a whole; a guest "
                       "naming a customer must be one the caller may write to, 404 naming the line) or budget. Needs "
                       "`interactions.write` at its node and If-Match; 409 unless it is a draft or its approval "
                       "request was rejected or withdrawn. Audited.",
           **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def update_reception(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                               reception_id: uuid.UUID, data: ReceptionUpdate) -> Response[ReceptionOut]:
        return await updated(request, services.get_reception(session, authz, reception_id, lock=True),
                             lambda reception, path: services.update_reception(session, authz, reception, path, data),
                             lambda reception: services.reception_out(session, reception))

    @post("/{reception_id:uuid}/submit", operation_id="submitReception", status_code=200,
          summary="Send the application to approval (again)",
          description="A draft or a withdrawn application becomes a new approval request; a rejected one the next "
                      "round of its request, which only its submitter may start (403 otherwise).",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     reception_id: uuid.UUID, data: Submission) -> Response[ReceptionOut]:
        return await updated(request, services.get_reception(session, authz, reception_id, lock=True),
                             lambda reception, path: services.submit_reception(session, authz, reception, path, data),
                             lambda reception: services.reception_out(session, reception))

    @post("/{reception_id:uuid}/report", operation_id="reportReception", status_code=200,
          summary="Report an approved reception: when it was held, who came, what it cost",
          description="The actual costs by line (meeting, meals, lodging, transport, gifts, other), the customer's "
                      "attendees and the company's (staff account ids: 404 naming the line for an unknown one). The "
                      "report goes to the `reception_report` chain at once (409 when a step has nobody to decide it).",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def report(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     reception_id: uuid.UUID, data: ReceptionReport) -> Response[ReceptionOut]:
        return await updated(request, services.get_reception(session, authz, reception_id, lock=True),
                             lambda reception, path: services.report_reception(session, authz, reception, path, data),
                             lambda reception: services.reception_out(session, reception))

    @post("/{reception_id:uuid}/reimburse", operation_id="reimburseReception", status_code=200,
          summary="Finance reimburses a reception's actual costs, once its report's review approved them",
          description="Needs `interactions.reimburse` at the reception (finance). Once: 409 naming the state before "
                      "the report's review approved it, or when reimbursed already.",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def reimburse(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        reception_id: uuid.UUID, data: Reimbursement) -> Response[ReceptionOut]:
        return await updated(request, services.get_reception(session, authz, reception_id, lock=True),
                             lambda reception, path: services.reimburse(session, authz, reception, path, data),
                             lambda reception: services.reception_out(session, reception))

    @post("/{reception_id:uuid}/cancel", operation_id="cancelReception", status_code=200,
          summary="Cancel a reception (one under review: withdraw its approval request first)",
          description="Cancels a reception with the reason: a draft, or an application approved, rejected or "
                      "withdrawn. Needs `interactions.write` at its node and If-Match; 409 while its approval request "
                      "is pending (withdraw it first), or once reported or cancelled. Audited with the reason.",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     reception_id: uuid.UUID, data: Cancellation) -> Response[ReceptionOut]:
        return await updated(request, services.get_reception(session, authz, reception_id, lock=True),
                             lambda reception, path: services.cancel_reception(session, authz, reception, path, data),
                             lambda reception: services.reception_out(session, reception))


# -------------------------------------------------------------------------------- gifts


class GiftPlanController(Controller):
    path = f"{BASE}/gift-plans"
    tags = ["Interactions"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listGiftPlans", summary="List gift plans with what is left of their budgets",
         dependencies={"page": page_params(*services.PLAN_SORT)},
         description="Gift plans at or under the nodes where the caller's roles hold `interactions.read`, a page at a "
                     "time and newest first, each with its budget, what applications hold of it (under review, "
                     "approved or issued) and what remains: filter by status or a node's subtree. Needs "
                     "interactions:read.",
         **requires("interactions:read"))
    async def list_plans(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: GiftPlanStatus | None = Parameter(query="status", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[GiftPlanOut]:
        return await services.list_gift_plans(session, authz, page, status=status, node_id=node_id)

    @post("/", operation_id="createGiftPlan", summary="Plan an occasion's gifts and their budget",
          description="Plans an occasion's gifts at a node: general items, per-customer lines (seed 000 §19), or "
                      "both, at least one line (422 naming `items` otherwise); the budget is all the lines' total and "
                      "the plan starts active. Needs `interactions.write` at `nodeId`; each customer line must name a "
                      "customer the caller may write to (404 naming `customers.N.customerId`). Accepts "
                      "`Idempotency-Key`. Audited.",
          **requires("interactions:write", errors=[404]))
    async def create_plan(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: GiftPlanCreate) -> Response[GiftPlanOut]:
        return await created(request, session, lambda: services.create_gift_plan(session, authz, data),
                             lambda plan: services.gift_plan_out(session, plan),
                             lambda plan: f"{BASE}/gift-plans/{plan.id}")

    @get("/{plan_id:uuid}", operation_id="getGiftPlan", summary="A gift plan",
         description="One gift plan: its occasion, items and customers' lines, its budget, what applications hold of "
                     "it (under review, approved or issued) and what remains. The ETag is what If-Match needs to "
                     "change or close it. Needs `interactions.read` at the plan's node (404 otherwise).",
         **requires("interactions:read", errors=[404]))
    async def get_plan(self, session: AsyncSession, authz: Authorizer, plan_id: uuid.UUID) -> Response[GiftPlanOut]:
        plan, _ = await services.get_gift_plan(session, authz, plan_id)
        return Response(await services.gift_plan_out(session, plan), headers={"ETag": etag(plan.version)})

    @patch("/{plan_id:uuid}", operation_id="updateGiftPlan", summary="Change or close a gift plan",
           description="409 when new items would bring the budget below what applications already hold.",
           **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def update_plan(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          plan_id: uuid.UUID, data: GiftPlanUpdate) -> Response[GiftPlanOut]:
        return await updated(request, services.get_gift_plan(session, authz, plan_id, lock=True),
                             lambda plan, path: services.update_gift_plan(session, authz, plan, path, data),
                             lambda plan: services.gift_plan_out(session, plan))


class GiftApplicationController(Controller):
    path = f"{BASE}/gift-applications"
    tags = ["Interactions"]
    dependencies = DEPENDENCIES

    async def _out(self, session: AsyncSession, application: Any) -> Response[GiftApplicationOut]:
        return Response(await services.gift_application_out(session, application),
                        headers={"ETag": etag(application.version)})

    @get("/", operation_id="listGiftApplications", summary="List gift applications",
         dependencies={"page": page_params(*services.APPLICATION_SORT)},
         description="Gift applications at or under the nodes where the caller's roles hold `interactions.read`, a "
                     "page at a time and newest first: filter by status (issued, cancelled, or the approval request's "
                     "pending, approved, rejected or withdrawn), plan, customer or a node's subtree. Needs "
                     "interactions:read.",
         **requires("interactions:read"))
    async def list_applications(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: GiftApplicationStatus | None = Parameter(query="status", default=None),
        plan_id: uuid.UUID | None = Parameter(query="planId", default=None),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[GiftApplicationOut]:
        return await services.list_gift_applications(session, authz, page, status=status, plan_id=plan_id,
                                                     customer_id=customer_id, node_id=node_id)

    @post("/", operation_id="applyForGifts", summary="Apply to give gifts (goes to approval at once)",
          description="At a project or branch, through the `gift_application` chain. Against a plan, the plan "
                      "must cover the node and still hold the total (409 otherwise, checked again on every "
                      "submission).",
          **requires("interactions:write", errors=[404, 409]))
    async def apply(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    data: GiftApplicationCreate) -> Response[GiftApplicationOut]:
        return await created(request, session, lambda: services.create_gift_application(session, authz, data),
                             lambda application: services.gift_application_out(session, application),
                             lambda application: f"{BASE}/gift-applications/{application.id}")

    @get("/{application_id:uuid}", operation_id="getGiftApplication", summary="A gift application",
         description="One gift application: the recipient, purpose, gifts and total, the plan, customer and visit it "
                     "is for, its status and approval request, and when the gifts were issued. The ETag is what "
                     "If-Match needs to issue or cancel it. Needs `interactions.read` at its project or branch (404 "
                     "otherwise).",
         **requires("interactions:read", errors=[404]))
    async def get_application(self, session: AsyncSession, authz: Authorizer,
                              application_id: uuid.UUID) -> Response[GiftApplicationOut]:
        application, _ = await services.get_gift_application(session, authz, application_id)
        return await self._out(session, application)

    @post("/{application_id:uuid}/issue", operation_id="issueGifts", status_code=200,
          summary="Record that the approved gifts were handed over",
          description="Records that the approved gifts were handed over, at `issuedAt` (now when absent). Needs "
                      "`interactions.write` at the application's node and If-Match; 409 unless its approval request "
                      "is approved and the gifts are not issued or cancelled. Audited.",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def issue(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    application_id: uuid.UUID, data: Issue) -> Response[GiftApplicationOut]:
        return await updated(request, services.get_gift_application(session, authz, application_id, lock=True),
                             lambda application, path: services.issue_gifts(session, authz, application, path, data),
                             lambda application: services.gift_application_out(session, application))

    @post("/{application_id:uuid}/cancel", operation_id="cancelGiftApplication", status_code=200,
          summary="Cancel a gift application that is decided but not issued",
          description="Cancels an application that is not issued, with the reason; an approved one stops holding its "
                      "plan's budget. Needs `interactions.write` at its node and If-Match; 409 while its approval "
                      "request is pending (withdraw it first), or once issued or cancelled. Audited with the reason.",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     application_id: uuid.UUID, data: Cancellation) -> Response[GiftApplicationOut]:
        return await updated(request, services.get_gift_application(session, authz, application_id, lock=True),
                             lambda application, path: services.cancel_gift_application(session, authz, application,
                                                                                         path, data),
                             lambda application: services.gift_application_out(session, application))


# -------------------------------------------------------------------------------- calls


class CallController(Controller):
    path = f"{BASE}/calls"
    tags = ["Interactions"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listCalls", summary="List inbound and outbound calls",
         dependencies={"page": page_params(*services.CALL_SORT)},
         description="Inbound and outbound calls at or under the nodes where the caller's roles hold "
                     "`interactions.read`, a page at a time and latest first, phone numbers masked: filter by "
                     "direction, outcome, customer, a node's subtree, mine (logged by the caller) or the start "
                     "instant. Needs interactions:read.",
         **requires("interactions:read"))
    async def list_calls(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        direction: CallDirection | None = Parameter(query="direction", default=None),
        outcome: CallOutcome | None = Parameter(query="outcome", default=None),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
        mine: bool | None = Parameter(query="mine", default=None, description="true: calls the caller logged."),
        started_from: str | None = instant_param("startedFrom", "Started at or after."),
        started_to: str | None = instant_param("startedTo", "Started before."),
    ) -> Page[CallOut]:
        return await services.list_calls(session, authz, page, direction=direction, outcome=outcome,
                                         customer_id=customer_id, node_id=node_id, mine=mine,
                                         started_from=instant(started_from, "startedFrom"),
                                         started_to=instant(started_to, "startedTo"))

    @post("/", operation_id="logCall", summary="Log a call with its outcome",
          description="Interests and objections are behaviour data: 409 `consent-required` without a customer "
                      "whose behaviour consent is active. The phone number is stored encrypted and shown masked.",
          **requires("interactions:write", errors=[404, 409]))
    async def log_call(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       data: CallCreate) -> Response[CallOut]:
        return await created(request, session, lambda: services.create_call(session, authz, data),
                             lambda call: services.call_out(session, call), lambda call: f"{BASE}/calls/{call.id}")

    @get("/{call_id:uuid}", operation_id="getCall", summary="A call",
         description="One call: its direction, customer (or the unknown caller's note), masked phone number, agent, "
                     "time and duration, subject, notes, and outcome (interests, objections, a callback time or the "
                     "failure reason), with the inquiry it raised. Needs `interactions.read` at the call's node (404 "
                     "otherwise).",
         **requires("interactions:read", errors=[404]))
    async def get_call(self, session: AsyncSession, authz: Authorizer, call_id: uuid.UUID) -> Response[CallOut]:
        call, _ = await services.get_call(session, authz, call_id)
        return Response(await services.call_out(session, call), headers={"ETag": etag(call.version)})


CONTROLLERS: list[type[Controller]] = [VisitController, ReceptionController, GiftPlanController,
                                       GiftApplicationController, CallController]

# Added by the visit application and reimbursement (app/domains/interactions/visit_controllers.py).
from app.domains.interactions.visit_controllers import VisitApplicationController  # noqa: E402

CONTROLLERS += [VisitApplicationController]
