"""Route-catalogue entries of care campaigns (see tests/catalogue/__init__.py). Care rules and
messages are the group's: no org node."""

from __future__ import annotations

import uuid
from typing import Any

from tests.catalogue import SubtreeSpec
from tests.catalogue.complaints import owner
from tests.routes import Ctx, Factory, Made, _create, _new_customer

BASE = "/api/v1/care"
MINE = f"{BASE}/mine"


def rule_body(**extra: Any) -> dict[str, Any]:
    return {"name": f"国庆问候 {uuid.uuid4().hex[:8]}", "occasion": "holiday", "month": 10, "day": 1,
            "channels": ["app", "email"], "subject": "{name}，国庆快乐", "body": "{name}您好，祝您国庆快乐！", **extra}


async def _rules(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": rule_body()})


async def _rule(ctx: Ctx) -> Made:
    r, location = await _create(ctx, f"{BASE}/rules", rule_body(subject=f"A-only greeting {ctx.mark}"))
    return Made(params={"rule_id": r["id"]}, values=[r["id"], r["name"], r["subject"]], url=location,
                bodies={"PATCH": {"active": False}})


async def _messages(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


async def _quiet_hours(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=f"{BASE}/quiet-hours", bodies={"PUT": {"start": "22:00:00",
                                                                               "end": "07:30:00"}})


async def _preference(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={"customer_id": customer["id"]}, values=[customer["id"]],
                url=f"{BASE}/preferences/{customer['id']}", bodies={"PUT": {"channels": ["sms", "app"]}})


def openid() -> str:
    """A made-up openid of the group's official account (WeChat's are 28 such characters)."""
    return f"oTest{uuid.uuid4().hex[:23]}"


async def bind(ctx: Ctx, auth: dict[str, str], value: str) -> Any:
    return await ctx.client.post(f"{MINE}/wechat", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                                 json={"openid": value})


async def _own_preferences(ctx: Ctx) -> Made:
    auth, _, _ = await owner(ctx)
    return Made(params={}, values=[], url=f"{MINE}/preferences", auth=None if auth is ctx.auth else auth,
                bodies={"PUT": {"channels": ["wechat", "app"], "quietHours": {"start": "22:00:00", "end": "08:00:00"}}})


async def _own_wechat(ctx: Ctx) -> Made:
    """An owner whose WeChat is bound: the openid is a value no answer may show, to anyone."""
    auth, _, _ = await owner(ctx)
    bound = openid()
    answer = await bind(ctx, auth, bound)
    assert answer.status_code == 201, answer.text
    return Made(params={}, values=[bound], url=f"{MINE}/wechat", auth=None if auth is ctx.auth else auth,
                bodies={"POST": {"openid": openid()}})


FACTORIES: dict[str, Factory] = {
    f"{MINE}/preferences": _own_preferences,
    f"{MINE}/wechat": _own_wechat,
    f"{BASE}/rules": _rules,
    f"{BASE}/rules/{{rule_id:uuid}}": _rule,
    f"{BASE}/messages": _messages,
    f"{BASE}/quiet-hours": _quiet_hours,
    f"{BASE}/preferences/{{customer_id:uuid}}": _preference,
}

_GROUP = ("the group's care campaigns: care.read anywhere reads them, care.configure at the group node changes them "
          "(tests/domains/test_care.py)")
SUBTREE = SubtreeSpec(no_node={
    f"{BASE}/rules": _GROUP,
    f"{BASE}/rules/{{rule_id:uuid}}": _GROUP,
    f"{BASE}/messages": "messages sent by the group's care campaigns: care.read anywhere reads them "
                        "(tests/domains/test_care.py)",
    f"{BASE}/quiet-hours": "the group's quiet hours: care.read anywhere reads them, care.configure at the group "
                           "node changes them (tests/domains/test_care_channels.py)",
    f"{MINE}/preferences": "an owner's own care preferences (owner:self), found from their account, not a node "
                           "(tests/domains/test_care_wechat.py)",
    f"{MINE}/wechat": "an owner's own WeChat binding (owner:self), found from their account, not a node "
                      "(tests/domains/test_care_wechat.py)",
}, details={f"{BASE}/preferences/{{customer_id:uuid}}": "customer"},
    write_bodies={(f"{BASE}/preferences/{{customer_id:uuid}}", "PUT"): lambda w, u: {"channels": ["app"]}})
