"""HTTP for care campaigns: requests become service calls."""

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
from app.domains.care import services
from app.domains.care.schemas import CareMessageOut, RuleIn, RuleOut, RuleUpdate

BASE = "/api/v1/care"


class CareController(Controller):
    path = BASE
    tags = ["Care"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("/rules", operation_id="listCareRules", summary="The group's care campaigns",
         dependencies={"page": page_params(*services.SORT)}, **requires("care:read"))
    async def list_rules(self, session: AsyncSession, authz: Authorizer, page: PageParams) -> Page[RuleOut]:
        return await services.list_rules(session, authz, page)

    @post("/rules", operation_id="createCareRule", summary="Define a care campaign",
          description="Needs `care.configure` at the group node. A holiday names its month and day.",
          **requires("care:admin", errors=[409]))
    async def create_rule(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: RuleIn) -> Response[RuleOut]:
        async def show(r: Any) -> RuleOut:
            return services.rule_out(r)

        return await created(request, session, lambda: services.create_rule(session, authz, data), show,
                             lambda r: f"{BASE}/rules/{r.id}")

    @get("/rules/{rule_id:uuid}", operation_id="getCareRule", summary="A care campaign",
         **requires("care:read", errors=[404]))
    async def get_rule(self, session: AsyncSession, authz: Authorizer, rule_id: uuid.UUID) -> Response[RuleOut]:
        rule, _ = await services.get_rule(session, authz, rule_id)
        return with_etag(services.rule_out(rule), rule.version)

    @patch("/rules/{rule_id:uuid}", operation_id="updateCareRule", summary="Change or pause a care campaign",
           **requires("care:admin", errors=[404, 409, 412, 428]))
    async def update_rule(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          rule_id: uuid.UUID, data: RuleUpdate) -> Response[RuleOut]:
        async def show(r: Any) -> RuleOut:
            return services.rule_out(r)

        return await updated(request, services.get_rule(session, authz, rule_id, lock=True),
                             lambda r, path: services.update_rule(session, authz, r, path, data), show)

    @get("/messages", operation_id="listCareMessages", summary="The care messages sent (a rule's, a customer's)",
         dependencies={"page": page_params(*services.MESSAGE_SORT)}, **requires("care:read"))
    async def list_messages(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                            rule_id: uuid.UUID | None = Parameter(query="ruleId", default=None),
                            customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
                            ) -> Page[CareMessageOut]:
        return await services.list_messages(session, authz, page, rule_id=rule_id, customer_id=customer_id)


CONTROLLERS: list[type[Controller]] = [CareController]
