"""HTTP for in-sale orders and call-centre quality: requests become service calls."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.pagination import PageParams, page_params
from app.core.params import instant, instant_param
from app.core.schemas import Page
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.service import orders, quality
from app.domains.service.models import OrderStatus, SaleOrder
from app.domains.service.schemas import (
    CancelIn,
    ConfirmIn,
    DeliveryIn,
    EvaluationCreate,
    EvaluationOut,
    FeedbackIn,
    OrderCreate,
    OrderOut,
    OrderSettings,
    OrderSettingsOut,
    OrderSummary,
    PerformanceOut,
    ProgressIn,
    Scorecard,
    ScorecardOut,
)

ORDERS = "/api/v1/orders"
QUALITY = "/api/v1/call-quality"
DEPS = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
CHANGE = [404, 409, 412, 428]


class OrderController(Controller):
    path = ORDERS
    tags = ["Orders"]
    dependencies = DEPS

    @get("/", operation_id="listOrders", summary="Customers' in-sale orders",
         description="Orders in the caller's subtrees, newest first; `overdue=true`: still unconfirmed past their "
                     "confirmation deadline (001 §3.2.1 (1)).",
         dependencies={"page": page_params(*orders.SORT)}, **requires("orders:read"))
    async def list_orders(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: OrderStatus | None = Parameter(query="status", default=None),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                              description="Only orders at this node or below."),
        overdue: bool | None = Parameter(query="overdue", default=None,
                                         description="true: unconfirmed past the deadline; false: the others."),
    ) -> Page[OrderSummary]:
        return await orders.list_orders(session, authz, page, status=status, customer_id=customer_id,
                                        node_id=node_id, is_overdue=overdue)

    @post("/", operation_id="receiveOrder", summary="Receive a customer's order (sales)",
          description="001 §3.2.2 (1): numbered DD-yyyy-nnnnnn, due for confirmation the group's "
                      "`confirmWorkingMinutes` of working time after `receivedAt` (2 working hours by default, "
                      "counted in the working calendar). Needs `orders.receive` at the customer's node, or at the "
                      "unit's project when a unit is ordered (the order sits there). 404 naming the field for a "
                      "customer or unit out of reach.",
          **requires("orders:write", errors=[404, 409]))
    async def receive(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      data: OrderCreate) -> Response[OrderOut]:
        async def show(o: SaleOrder) -> OrderOut:
            return await orders.order_out(session, o)

        return await created(request, session, lambda: orders.receive(session, authz, data), show,
                             lambda o: f"{ORDERS}/{o.id}")

    @get("/settings", operation_id="getOrderSettings", summary="The confirmation deadline and departments told",
         description="How many working minutes an order may wait for confirmation and which departments (roles) "
                     "are told on confirmation; the default names its clause (001 §3.2.1 (1)). `ETag` for a change.",
         **requires("orders:read"))
    async def get_settings(self, session: AsyncSession, authz: Authorizer) -> Response[OrderSettingsOut]:
        s, version = await orders.read_settings(session, authz)
        return Response(orders.settings_out(s), headers={"ETag": etag(version)})

    @put("/settings", operation_id="putOrderSettings", summary="Set the confirmation deadline and departments",
         description="Needs `orders.configure` at the group node; If-Match (`\"0\"` while the default applies). "
                     "Each department names a role of the group (409 naming it otherwise). Orders received "
                     "afterwards take the new deadline; those received before keep theirs.",
         **requires("orders:write", errors=[409, 412, 428]))
    async def put_settings(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: OrderSettings) -> Response[OrderSettingsOut]:
        _, version = await orders.read_settings(session, authz, lock=True)
        check_if_match(request, version)
        version = await orders.put_settings(session, data)
        return Response(orders.settings_out(data), headers={"ETag": etag(version)})

    @get("/{order_id:uuid}", operation_id="getOrder", summary="One order with its progress and delivery",
         description="The order, its confirmation deadline and whether it is overdue, who confirmed it and when, "
                     "the departments told, every progress milestone with the channel it went to the customer by, "
                     "the delivery's inspection and the customer's in-sale feedback.",
         **requires("orders:read", errors=[404]))
    async def get_order(self, session: AsyncSession, authz: Authorizer, order_id: uuid.UUID) -> Response[OrderOut]:
        o, _ = await orders.get_order(session, authz, order_id)
        return with_etag(await orders.order_out(session, o), o.version)

    @post("/{order_id:uuid}/confirm", operation_id="confirmOrder", status_code=200,
          summary="Confirm an order (order-processing centre) and tell the departments",
          description="001 §3.2.2 (2): needs `orders.confirm`; records who and when (and whether within the "
                      "deadline) and tells each department of the settings in-app (the holders of its role at "
                      "the order's node or above). 409 unless `received`.",
          **requires("orders:write", errors=CHANGE))
    async def confirm(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      order_id: uuid.UUID, data: ConfirmIn) -> Response[OrderOut]:
        return await updated(request, orders.get_order(session, authz, order_id, lock=True),
                             lambda o, path: orders.confirm(session, authz, o, path, data),
                             lambda o: orders.order_out(session, o))

    @post("/{order_id:uuid}/progress", operation_id="postOrderProgress", status_code=200,
          summary="Post a progress milestone and tell the customer",
          description="001 §3.2.1 (2) 进度告知: the milestone is recorded and sent to the customer through their "
                      "stated channels (care preferences), else in the app or by mail; not sent when the customer "
                      "asked for no updates (`sentVia: declined`). Needs `orders.receive`. 409 unless confirmed "
                      "or in progress.",
          **requires("orders:write", errors=CHANGE))
    async def progress(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       order_id: uuid.UUID, data: ProgressIn) -> Response[OrderOut]:
        return await updated(request, orders.get_order(session, authz, order_id, lock=True),
                             lambda o, path: orders.post_progress(session, authz, o, path, data),
                             lambda o: orders.order_out(session, o))

    @post("/{order_id:uuid}/delivery", operation_id="confirmOrderDelivery", status_code=200,
          summary="Confirm the delivery: inspection and the customer's feedback",
          description="001 §3.2.3: received and intact, or the service's result as expected (`accepted`), or "
                      "`defects`; the customer's in-sale feedback when given now. Needs `orders.deliver`. 409 "
                      "unless confirmed or in progress.",
          **requires("orders:write", errors=CHANGE))
    async def deliver(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      order_id: uuid.UUID, data: DeliveryIn) -> Response[OrderOut]:
        return await updated(request, orders.get_order(session, authz, order_id, lock=True),
                             lambda o, path: orders.deliver(session, authz, o, path, data),
                             lambda o: orders.order_out(session, o))

    @post("/{order_id:uuid}/feedback", operation_id="recordOrderFeedback", status_code=200,
          summary="Record the customer's in-sale feedback after delivery",
          description="001 §3.2.3 (3): a rating of 1-5 and a comment, once. Needs `orders.deliver`. 409 unless "
                      "delivered, or when given already.",
          **requires("orders:write", errors=CHANGE))
    async def feedback(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       order_id: uuid.UUID, data: FeedbackIn) -> Response[OrderOut]:
        return await updated(request, orders.get_order(session, authz, order_id, lock=True),
                             lambda o, path: orders.give_feedback(session, authz, o, path, data),
                             lambda o: orders.order_out(session, o))

    @post("/{order_id:uuid}/cancel", operation_id="cancelOrder", status_code=200, summary="Cancel an order",
          description="Needs `orders.confirm`; with its reason. 409 once delivered or cancelled.",
          **requires("orders:write", errors=CHANGE))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     order_id: uuid.UUID, data: CancelIn) -> Response[OrderOut]:
        return await updated(request, orders.get_order(session, authz, order_id, lock=True),
                             lambda o, path: orders.cancel(session, authz, o, path, data.reason),
                             lambda o: orders.order_out(session, o))


class CallQualityController(Controller):
    path = QUALITY
    tags = ["Call quality"]
    dependencies = DEPS

    @get("/scorecard", operation_id="getCallScorecard", summary="The call-centre scorecard",
         description="The criteria calls are evaluated on, their weights and the clause each comes from (000 §9, "
                     "§11; evaluated under §12 ⑥). `ETag` for a change.",
         **requires("callqa:read"))
    async def get_scorecard(self, session: AsyncSession, authz: Authorizer) -> Response[ScorecardOut]:
        card, version = await quality.read_scorecard(session, authz)
        return Response(quality.scorecard_out(card), headers={"ETag": etag(version)})

    @put("/scorecard", operation_id="putCallScorecard", summary="Set the call-centre scorecard",
         description="Needs `callqa.configure` at the group node; If-Match (`\"0\"` while the default applies). "
                     "Evaluations made before keep the criteria they were scored on.",
         **requires("callqa:write", errors=[412, 428]))
    async def put_scorecard(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            data: Scorecard) -> Response[ScorecardOut]:
        _, version = await quality.read_scorecard(session, authz, lock=True)
        check_if_match(request, version)
        version = await quality.put_scorecard(session, data)
        return Response(quality.scorecard_out(data), headers={"ETag": etag(version)})

    @get("/evaluations", operation_id="listCallEvaluations", summary="Evaluations of calls",
         description="Evaluations of the calls in the subtrees where the caller holds `callqa.read`, and the "
                     "caller's own as an agent (`mine=true`: only those).",
         dependencies={"page": page_params(*quality.SORT)}, **requires("callqa:read"))
    async def list_evaluations(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        agent_id: str | None = Parameter(query="agentId", default=None, max_length=200),
        call_id: uuid.UUID | None = Parameter(query="callId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                              description="Only calls at this node or below."),
        mine: bool | None = Parameter(query="mine", default=None,
                                      description="true: the caller's own calls; false: others'."),
    ) -> Page[EvaluationOut]:
        return await quality.list_evaluations(session, authz, page, agent_id=agent_id, call_id=call_id,
                                              node_id=node_id, mine=mine)

    @post("/evaluations", operation_id="evaluateCall", summary="Evaluate a logged call (000 §12 ⑥)",
          description="Needs `callqa.evaluate` at the call's node; never one's own call (403). Each criterion of "
                      "the scorecard marked 0-5 once (422 naming the marks otherwise); the total is the weighted "
                      "share of full marks, 0-100. 409 when the call is evaluated already.",
          **requires("callqa:write", errors=[404, 409]))
    async def evaluate(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       data: EvaluationCreate) -> Response[EvaluationOut]:
        async def show(e: Any) -> EvaluationOut:
            return quality.evaluation_out(e)

        return await created(request, session, lambda: quality.evaluate(session, authz, data), show,
                             lambda e: f"{QUALITY}/evaluations/{e.id}")

    @get("/evaluations/{evaluation_id:uuid}", operation_id="getCallEvaluation", summary="One call evaluation",
         description="Each criterion's mark with its weight and clause, the total, the comment; for `callqa.read` "
                     "at the call's node, or the agent who took the call.",
         **requires("callqa:read", errors=[404]))
    async def get_evaluation(self, session: AsyncSession, authz: Authorizer,
                             evaluation_id: uuid.UUID) -> Response[EvaluationOut]:
        e = await quality.get_evaluation(session, authz, evaluation_id)
        return with_etag(quality.evaluation_out(e), e.version)

    @get("/performance", operation_id="getAgentPerformance", summary="Agents' performance over a period",
         description="000 §12 ⑦ 专员绩效管理: per agent, the calls handled, the calls evaluated and the average, "
                     "lowest and highest score, over `[from, to)` (this month in the group's time zone by "
                     "default), of the calls in the caller's `callqa.read` subtrees.",
         **requires("callqa:read"))
    async def performance(
        self, session: AsyncSession, authz: Authorizer,
        period_from: str | None = instant_param("from", "The period's start (calls started at or after)."),
        period_to: str | None = instant_param("to", "The period's end (calls started before)."),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                              description="Only calls at this node or below."),
    ) -> PerformanceOut:
        return await quality.performance(session, authz, period_from=instant(period_from, "from"),
                                         period_to=instant(period_to, "to"), node_id=node_id)


CONTROLLERS = [OrderController, CallQualityController]
