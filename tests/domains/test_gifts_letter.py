"""Gifts to the letter of seed 000 §19–20, over the API as the group's people act: the gift
plan per customer (industry, the person in charge, cooperation, purpose, gifts, budget), and a
gift application drawing on it signed off by the department supervisor, the gift
administrator, the office director and the deputy manager in turn before the gifts are
issued."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domains.customers_helpers import World, create, make_world, ok, person
from tests.domains.test_interactions import GIFT_CHAIN, Deciders, decide, deciders

API = "/api/v1/interactions"


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=3, prefix="gf")


async def test_a_gift_plan_per_customer_and_its_four_sign_offs(client: Any, db: Any, mint: Any,
                                                              world: World) -> None:
    people: Deciders = await deciders(db, mint, world)
    company = await create(client, world, {"kind": "enterprise", "name": "深圳市宏达建材有限公司",
                                           "source": "渠道合作", "purpose": "合作伙伴维护"})
    owner = await create(client, world, person(units=[{"unitId": world.units[0]["id"]}]))
    plan = await ok(await client.post(f"{API}/gift-plans", headers=world.admin, json={
        "nodeId": world.branch["id"], "title": "2026 春节客户馈赠计划", "occasion": "春节",
        "customers": [
            {"customerId": company["id"], "industry": "建材", "contact": "陈总", "cooperation": "战略合作三年",
             "purpose": "维护合作关系", "items": [{"item": "茶叶礼盒", "quantity": 2, "unitValue": "680.00"}]},
            {"customerId": owner["id"], "industry": "—", "contact": owner["name"], "cooperation": "已购业主",
             "purpose": "老带新答谢", "items": [{"item": "红酒", "quantity": 1, "unitValue": "398.00"}],
             "note": "交房后送达"}]}))
    assert plan["items"] == [] and plan["budget"] == "1758.00"
    line = plan["customers"][0]
    assert (line["customerNumber"], line["industry"], line["contact"], line["cooperation"], line["budget"]) == (
        company["number"], "建材", "陈总", "战略合作三年", "1360.00")
    empty = await client.post(f"{API}/gift-plans", headers=world.admin, json={
        "nodeId": world.branch["id"], "title": "x", "occasion": "x"})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "items"

    applied = await ok(await client.post(f"{API}/gift-applications", headers=world.admin, json={
        "nodeId": world.project["id"], "planId": plan["id"], "customerId": company["id"], "recipient": "陈总",
        "purpose": "春节拜访馈赠", "items": [{"item": "茶叶礼盒", "quantity": 2, "unitValue": "680.00"}]}))
    request = await ok(await client.get(f"/api/v1/approvals/requests/{applied['approvalRequestId']}",
                                        headers=world.admin), 200)
    assert [s["role"] for s in request["rounds"][0]["steps"]] == list(GIFT_CHAIN)
    url = f"{API}/gift-applications/{applied['id']}"
    for who in people.gifts[:3]:
        await decide(client, applied["approvalRequestId"], who)
        early = await client.post(f"{url}/issue", headers={**world.admin, "If-Match": (
            await client.get(url, headers=world.admin)).headers["etag"]}, json={})
        assert early.status_code == 409  # not before the deputy manager's sign-off
    await decide(client, applied["approvalRequestId"], people.gifts[3])
    got = await client.get(url, headers=world.admin)
    issued = await ok(await client.post(f"{url}/issue", headers={**world.admin, "If-Match": got.headers["etag"]},
                                        json={}), 200)
    assert issued["status"] == "issued"
    held = await ok(await client.get(f"{API}/gift-plans/{plan['id']}", headers=world.admin), 200)
    assert held["committed"] == "1360.00" and held["remaining"] == "398.00"
    # The plan's lines are its budget: dropping the line the application drew on would leave
    # less than is committed (409); the owner's line alone is 398.00.
    owner_line = {"customerId": owner["id"], "industry": "—", "contact": owner["name"], "cooperation": "已购业主",
                  "purpose": "老带新答谢", "items": [{"item": "红酒", "quantity": 1, "unitValue": "398.00"}]}
    smaller = await client.patch(f"{API}/gift-plans/{plan['id']}", headers={
        **world.admin, "If-Match": f'"{held["version"]}"'}, json={"customers": [owner_line]})
    assert smaller.status_code == 409, smaller.text
