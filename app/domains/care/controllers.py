"""HTTP for care campaigns: requests become service calls."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.pagination import PageParams, page_params
from app.core.problems import ProblemError
from app.core.schemas import Page
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.care import own, preferences, services, wechat
from app.domains.care.schemas import (
    CareMessageOut,
    OwnPreferenceIn,
    OwnPreferenceOut,
    PreferenceIn,
    PreferenceOut,
    QuietHours,
    QuietHoursOut,
    RuleIn,
    RuleOut,
    RuleUpdate,
    WechatBindIn,
    WechatBindingOut,
)

BASE = "/api/v1/care"
MINE = f"{BASE}/mine"


class CareController(Controller):
    path = BASE
    tags = ["Care"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("/rules", operation_id="listCareRules", summary="The group's care campaigns",
         description=("Every care campaign rule of the group (birthdays, holidays, handover anniversaries, member "
                      "events), paged; needs `care:read`."),
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
         description=("One care campaign rule with its occasion, channels, the consent it needs and whether it is "
                      "paused; `ETag` for a later change."),
         **requires("care:read", errors=[404]))
    async def get_rule(self, session: AsyncSession, authz: Authorizer, rule_id: uuid.UUID) -> Response[RuleOut]:
        rule, _ = await services.get_rule(session, authz, rule_id)
        return with_etag(services.rule_out(rule), rule.version)

    @patch("/rules/{rule_id:uuid}", operation_id="updateCareRule", summary="Change or pause a care campaign",
           description=("Change a rule's text, channels or schedule, or pause it; needs If-Match (412 when it "
                        "changed since) and `care:admin`."),
           **requires("care:admin", errors=[404, 409, 412, 428]))
    async def update_rule(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          rule_id: uuid.UUID, data: RuleUpdate) -> Response[RuleOut]:
        async def show(r: Any) -> RuleOut:
            return services.rule_out(r)

        return await updated(request, services.get_rule(session, authz, rule_id, lock=True),
                             lambda r, path: services.update_rule(session, authz, r, path, data), show)

    @get("/messages", operation_id="listCareMessages", summary="The care messages sent (a rule's, a customer's)",
         description=("The messages the daily care scan wrote to the outbox, filtered by rule or customer, newest "
                      "first: what was sent, when, on which channel."),
         dependencies={"page": page_params(*services.MESSAGE_SORT)}, **requires("care:read"))
    async def list_messages(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                            rule_id: uuid.UUID | None = Parameter(query="ruleId", default=None),
                            customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
                            ) -> Page[CareMessageOut]:
        return await services.list_messages(session, authz, page, rule_id=rule_id, customer_id=customer_id)

    @get("/quiet-hours", operation_id="getCareQuietHours", summary="The group's quiet hours, in its time zone",
         description=("The window in which no care message goes out, as HH:MM:SS in the group's time zone (named in "
                      "the answer); messages due inside it wait until it ends."),
         **requires("care:read"))
    async def get_quiet_hours(self, session: AsyncSession, authz: Authorizer) -> Response[QuietHoursOut]:
        out, version = await preferences.read_quiet(session, authz)
        return Response(out, headers={"ETag": etag(version)})

    @put("/quiet-hours", operation_id="putCareQuietHours", summary="Set the group's quiet hours",
         description="Needs `care.configure` at the group node. Times in the group's time zone; `end` earlier "
                     "than `start` runs across midnight. If-Match `\"0\"` while the default (21:00–08:00) applies. "
                     "Care messages due inside them are held until they end.",
         **requires("care:admin", errors=[412, 428]))
    async def put_quiet_hours(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              data: QuietHours) -> Response[QuietHoursOut]:
        check_if_match(request, await preferences.lock_quiet(session, authz))
        out, version = await preferences.set_quiet(session, data)
        return Response(out, headers={"ETag": etag(version)})

    @get("/preferences/{customer_id:uuid}", operation_id="getCarePreference",
         description=("The channels a customer prefers for care messages, in order; a rule's channels are narrowed "
                      "and ordered by them. Also the owner's own quiet hours and whether they bound their WeChat "
                      "in the app (never the openid). 404 for a customer outside the caller's reach."),
         summary="A customer's care channels in order of preference", **requires("care:read", errors=[404]))
    async def get_preference(self, session: AsyncSession, authz: Authorizer,
                             customer_id: uuid.UUID) -> Response[PreferenceOut]:
        customer, p = await preferences.get_preference(session, authz, customer_id)
        return with_etag(await preferences.preference_out(session, customer, p), p.version if p else 0)

    @put("/preferences/{customer_id:uuid}", operation_id="putCarePreference",
         summary="Record how a customer wants to hear from care campaigns",
         description="Needs `customers.write` at the customer's node. Only these channels, in this order, among a "
                     "rule's; empty: the rule's order. If-Match `\"0\"` before the first.",
         **requires("customers:write", errors=[404, 412, 428]))
    async def put_preference(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             customer_id: uuid.UUID, data: PreferenceIn) -> Response[PreferenceOut]:
        customer, current = await preferences.get_preference(session, authz, customer_id, lock=True)
        check_if_match(request, current.version if current else 0)
        p = await preferences.set_preference(session, authz, customer.id, current, data)
        return with_etag(await preferences.preference_out(session, customer, p), p.version)


class OwnCareController(Controller):
    """The owner's app (``owner:self``): how the owner hears from care campaigns, and their WeChat."""

    path = MINE
    tags = ["Care"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("/preferences", operation_id="getOwnCarePreferences",
         summary="How the owner hears from care campaigns (home owners)",
         description=("The owner's channels for care messages in order (empty: each campaign's own order), their own "
                      "quiet hours (none: the group's only) and whether their WeChat is bound. The ETag is what "
                      "If-Match needs to change them. Needs owner:self; the defaults (version 0) until one is set."),
         **requires("owner:self"))
    async def get_preferences(self, session: AsyncSession, authz: Authorizer) -> Response[OwnPreferenceOut]:
        out, version = await own.read(session, authz)
        return with_etag(out, version)

    @put("/preferences", operation_id="putOwnCarePreferences",
         summary="Choose one's care channels and quiet hours (home owners)",
         description=("Only these channels, in this order, among a campaign's (`wechat` reaches the owner only while "
                      "their WeChat is bound); `quietHours` in the group's time zone hold the owner's messages on "
                      "top of the group's quiet hours (null: none of their own). Applies to every customer record "
                      "of the owner. If-Match `\"0\"` before the first. Needs owner:self."),
         **requires("owner:self", errors=[404, 412, 428]))
    async def put_preferences(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              data: OwnPreferenceIn) -> Response[OwnPreferenceOut]:
        customers, version = await own.lock(session, authz)
        check_if_match(request, version)
        out, version = await own.write(session, authz, customers, data)
        return with_etag(out, version)

    @get("/wechat", operation_id="getOwnWechatBinding", summary="Whether the owner's WeChat is bound (home owners)",
         description=("Whether the owner bound their WeChat (the group's official account) and when; the openid is "
                      "never shown. ETag `\"0\"` while unbound. Needs owner:self."),
         **requires("owner:self"))
    async def get_wechat(self, session: AsyncSession, authz: Authorizer) -> Response[WechatBindingOut]:
        owner = authz.owner_id
        b = await wechat.binding_of(session, owner) if owner is not None else None
        return with_etag(wechat.binding_out(b), b.version if b else 0)

    @post("/wechat", operation_id="bindOwnWechat", summary="Bind one's WeChat for care messages (home owners)",
          description=("Binds the owner's openid for the group's official account, as the app obtained it: care "
                        "campaigns may then reach the owner by WeChat template message (where the owner's and the "
                        "campaign's channels allow). Binding again replaces the owner's openid. 409 when the openid "
                        "is bound to another owner. Takes Idempotency-Key. Needs owner:self (404 for a token that "
                        "is no owner account's)."),
          **requires("owner:self", errors=[404, 409]))
    async def bind_wechat(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: WechatBindIn) -> Response[WechatBindingOut]:
        async def show(b: Any) -> WechatBindingOut:
            return wechat.binding_out(b)

        return await created(request, session, lambda: wechat.bind(session, authz, data), show,
                             lambda b: f"{MINE}/wechat")

    @delete("/wechat", operation_id="unbindOwnWechat", summary="Unbind one's WeChat (home owners)",
            description=("Forgets the owner's openid: no more WeChat template messages (campaigns fall back to the "
                         "owner's other channels). Needs If-Match (the binding's ETag) and owner:self; 404 while "
                         "unbound."),
            **requires("owner:self", errors=[404, 412, 428]))
    async def unbind_wechat(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer) -> None:
        owner = authz.owner_id
        b = await wechat.binding_of(session, owner, lock=True) if owner is not None else None
        if b is None:
            raise ProblemError("not-found", "Your WeChat is not bound.")
        check_if_match(request, b.version)
        await wechat.unbind(session, b)


CONTROLLERS: list[type[Controller]] = [OwnCareController, CareController]
