"""HTTP for the confidentiality register: translate requests to service calls, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.confidentiality import services
from app.domains.confidentiality.models import BreachStatus, ConfidentialityBreach, ConfidentialTransfer
from app.domains.confidentiality.schemas import (
    ActionIn,
    BreachCreate,
    BreachOut,
    ClassificationIn,
    ClassificationOut,
    CloseIn,
    TransferCreate,
    TransferOut,
)
from app.domains.customers.models import Customer
from app.domains.customers.services import get_customer

BASE = "/api/v1/confidentiality"
TRANSFERS, BREACHES = f"{BASE}/transfers", f"{BASE}/breaches"
DEPS = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}


async def _transfer(t: ConfidentialTransfer) -> TransferOut:
    return services.transfer_out(t)


async def _breach(b: ConfidentialityBreach) -> BreachOut:
    return services.breach_out(b)


async def _level(c: Customer) -> ClassificationOut:
    return ClassificationOut(customer_id=c.id, classification=c.classification, version=c.version)


class ClassificationController(Controller):
    path = "/api/v1/customers/{customer_id:uuid}/classification"
    tags = ["Confidentiality"]
    dependencies = DEPS

    @put("/", operation_id="classifyCustomer", summary="Set or clear a customer record's classification level",
         description="000 §17 ① 划分密级. Needs `confidentiality.classify` at the customer's node and clearance "
                     "for the current and the new level (403). Afterwards the record is read only by those "
                     "cleared for its level (403 inside the subtree, left out of lists), as archive volumes. "
                     "409 for a level the group does not have; If-Match on the customer's ETag.",
         **requires("confidentiality:write", errors=[404, 409, 412, 428]))
    async def classify(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       customer_id: uuid.UUID, data: ClassificationIn) -> Response[ClassificationOut]:
        return await updated(request, get_customer(session, authz, customer_id, lock=True),
                             lambda c, path: services.classify(session, authz, c, path, data), _level)


class TransferController(Controller):
    path = TRANSFERS
    tags = ["Confidentiality"]
    dependencies = DEPS

    @get("/", operation_id="listConfidentialTransfers", summary="The register of classified material handed over",
         description=("The numbered register of classified material handed over (BM-...), filtered to what is still "
                      "out with `outstanding=true`; needs the register's permission."),
         dependencies={"page": page_params(*services.TRANSFER_SORT)}, **requires("confidentiality:read"))
    async def list_transfers(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        outstanding: bool | None = Parameter(query="outstanding", default=None,
                                             description="true: not yet returned; false: returned."),
    ) -> Page[TransferOut]:
        return await services.list_transfers(session, authz, page, customer_id=customer_id, outstanding=outstanding)

    @post("/", operation_id="handOverConfidentialMaterial", summary="Hand classified material over (numbered)",
          description="000 §17 ② 编号传递: numbered BM-yyyy-nnnnnn, with who hands it over (the caller), to whom, "
                      "what, when. The level is the customer's unless given; the caller needs "
                      "`confidentiality.transfer` and clearance for it (403). 404 naming the field for a customer "
                      "or recipient that is not there.",
          **requires("confidentiality:write", errors=[404, 409]))
    async def hand_over(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        data: TransferCreate) -> Response[TransferOut]:
        return await created(request, session, lambda: services.hand_over(session, authz, data), _transfer,
                             lambda t: f"{TRANSFERS}/{t.id}")

    @get("/{transfer_id:uuid}", operation_id="getConfidentialTransfer", summary="One handing-over",
         description=("One handing-over: what, for which customer, at which level, from whom to whom, why, and when "
                      "it came back."),
         **requires("confidentiality:read", errors=[404]))
    async def get_transfer(self, session: AsyncSession, authz: Authorizer,
                           transfer_id: uuid.UUID) -> Response[TransferOut]:
        t, _ = await services.get_transfer(session, authz, transfer_id)
        return with_etag(services.transfer_out(t), t.version)

    @post("/{transfer_id:uuid}/return", operation_id="returnConfidentialMaterial", status_code=200,
          summary="Record the material coming back", description="409 when it is back already.",
          **requires("confidentiality:write", errors=[404, 409, 412, 428]))
    async def take_back(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        transfer_id: uuid.UUID) -> Response[TransferOut]:
        return await updated(request, services.get_transfer(session, authz, transfer_id, lock=True),
                             lambda t, path: services.take_back(session, authz, t, path), _transfer)


class BreachController(Controller):
    path = BREACHES
    tags = ["Confidentiality"]
    dependencies = DEPS

    @get("/", operation_id="listConfidentialityBreaches", summary="Confidentiality breaches and their remediation",
         description=("Breaches of confidentiality (XM-...) with their remedial actions and status (open, "
                      "remediating, closed)."),
         dependencies={"page": page_params(*services.BREACH_SORT)}, **requires("confidentiality:read"))
    async def list_breaches(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: BreachStatus | None = Parameter(query="status", default=None),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
    ) -> Page[BreachOut]:
        return await services.list_breaches(session, authz, page, status=status, customer_id=customer_id)

    @post("/", operation_id="reportConfidentialityBreach", summary="Report a breach found in supervision",
          description="000 §17 ③ 监督检查. Needs `confidentiality.breach` at the customer's node; `transferId` may "
                      "name the handing-over it came from (404 naming the field otherwise).",
          **requires("confidentiality:write", errors=[404]))
    async def report(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     data: BreachCreate) -> Response[BreachOut]:
        return await created(request, session, lambda: services.report_breach(session, authz, data), _breach,
                             lambda b: f"{BREACHES}/{b.id}")

    @get("/{breach_id:uuid}", operation_id="getConfidentialityBreach", summary="One breach",
         description="One breach with every remedial action, dated and signed, and its closing report once closed.",
         **requires("confidentiality:read", errors=[404]))
    async def get_breach(self, session: AsyncSession, authz: Authorizer, breach_id: uuid.UUID) -> Response[BreachOut]:
        b, _ = await services.get_breach(session, authz, breach_id)
        return with_etag(services.breach_out(b), b.version)

    @post("/{breach_id:uuid}/actions", operation_id="actOnConfidentialityBreach", status_code=200,
          summary="Record a remedial action (④ 补救处理, ⑤ 组织执行)",
          description="Dated and signed by the caller; the breach becomes `remediating`. 409 once closed.",
          **requires("confidentiality:write", errors=[404, 409, 412, 428]))
    async def act(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                  breach_id: uuid.UUID, data: ActionIn) -> Response[BreachOut]:
        return await updated(request, services.get_breach(session, authz, breach_id, lock=True),
                             lambda b, path: services.add_action(session, authz, b, path, data.action), _breach)

    @post("/{breach_id:uuid}/close", operation_id="closeConfidentialityBreach", status_code=200,
          summary="Close a breach with its report (⑥ 处理报告)",
          description="Needs `confidentiality.close` (the customer service manager). 409 unless `remediating`: "
                      "a breach closes only after a remedial action.",
          **requires("confidentiality:write", errors=[404, 409, 412, 428]))
    async def close(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    breach_id: uuid.UUID, data: CloseIn) -> Response[BreachOut]:
        return await updated(request, services.get_breach(session, authz, breach_id, lock=True),
                             lambda b, path: services.close_breach(session, authz, b, path, data.report), _breach)


CONTROLLERS = [ClassificationController, TransferController, BreachController]
