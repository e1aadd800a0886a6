"""Hospitality to the letter of seed 000 §17–18, §23–24, over the API as the group's people
act: the application's meeting line, the report's attendees on both sides and its actual costs
by line (meeting, meals, lodging, transport, gifts), the report reviewed by the customer
service manager, the general manager and finance, then finance's reimbursement — a finance
action of its own permission, audited, once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.domains.customers_helpers import World, create, make_world, ok, person
from tests.domains.test_approvals import make_account
from tests.domains.test_interactions import Deciders, decide, deciders, trail
from tests.grants import grant

API = "/api/v1/interactions"


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=2, prefix="hs")


async def test_a_hospitality_reported_reviewed_and_reimbursed(client: Any, db: Any, mint: Any, world: World) -> None:
    people: Deciders = await deciders(db, mint, world)
    guest = await create(client, world, person(name="周业主", units=[{"unitId": world.units[0]["id"]}]))
    created = await client.post(f"{API}/receptions", headers=world.admin, json={
        "kind": "hospitality", "nodeId": world.project["id"], "title": "大客户签约答谢宴", "purpose": "签约答谢",
        "venue": "海景酒店", "scheduledAt": "2026-06-18T18:30:00+08:00",
        "budget": {"meeting": "2000.00", "meals": "6000.00", "transport": "800.00", "gifts": "1200.00"},
        "guests": [{"name": guest["name"], "role": "customer", "customerId": guest["id"]}]})
    reception = await ok(created)
    assert reception["budget"]["meeting"] == "2000.00" and reception["budget"]["total"] == "10000.00"
    for who in (people.cs_manager, people.general_manager, people.finance):
        await decide(client, reception["approvalRequestId"], who)
    url = created.headers["location"]

    host = await make_account(db, world.org, "sales_host")
    got = await client.get(url, headers=world.admin)
    reported = await ok(await client.post(f"{url}/report", headers={**world.admin, "If-Match": got.headers["etag"]},
                                          json={
        "heldAt": "2026-06-18T18:30:00+08:00", "attendeeCount": 5, "summary": "客户对交付安排满意，想了解车位。",
        "actual": {"meeting": "1800.00", "meals": "6400.00", "lodging": "900.00", "transport": "700.00",
                   "gifts": "1200.00"},
        "customerAttendees": [{"name": guest["name"], "role": "customer", "customerId": guest["id"]},
                              {"name": "周太太", "role": "guest"}],
        "staffAttendees": [host]}), 200)
    assert reported["status"] == "reported" and reported["actual"]["lodging"] == "900.00"
    assert reported["actual"]["total"] == "11000.00" and reported["overBudget"] is True
    assert [a["name"] for a in reported["customerAttendees"]] == [guest["name"], "周太太"]
    assert [g["name"] for g in reported["guests"]] == [guest["name"]]  # the invitation as it was
    assert reported["staffAttendees"] == [host] and reported["reportStatus"] == "pending"
    review = await ok(await client.get(f"/api/v1/approvals/requests/{reported['reportRequestId']}",
                                       headers=world.admin), 200)
    assert review["type"] == "reception_report" and review["amount"] == "11000.00"
    assert [s["role"] for s in review["rounds"][0]["steps"]] == ["cs_manager", "general_manager", "finance"]
    assert review["payload"]["actual"]["lodging"] == "900.00"

    # Finance reimburses: its own permission, after the review, once.
    cashier = str(uuid.uuid4())
    await grant(db, world.slug, cashier, ["interactions.read", "interactions.reimburse"],
                uuid.UUID(world.branch["id"]))
    as_cashier = {"Authorization": f"Bearer {mint(tenant=world.slug, subject=cashier)}"}

    async def reimburse(who: dict[str, str]) -> Any:
        etag = (await client.get(url, headers=world.admin)).headers["etag"]
        return await client.post(f"{url}/reimburse", headers={**who, "If-Match": etag}, json={"note": "银行转账"})

    early = await reimburse(as_cashier)
    assert early.status_code == 409 and "report pending" in early.json()["detail"]
    for who in (people.cs_manager, people.general_manager, people.finance):
        await decide(client, reported["reportRequestId"], who)
    clerk = str(uuid.uuid4())
    await grant(db, world.slug, clerk, ["interactions.read", "interactions.write"], uuid.UUID(world.branch["id"]))
    assert (await reimburse({"Authorization": f"Bearer {mint(tenant=world.slug, subject=clerk)}"})).status_code == 403
    paid = await ok(await reimburse(as_cashier), 200)
    assert paid["reportStatus"] == "approved" and paid["reimbursedAmount"] == "11000.00" and paid["reimbursedAt"]
    again = await reimburse(as_cashier)
    assert again.status_code == 409 and "reimbursed" in again.json()["detail"]
    actions = [r.action for r in await trail(db, world.slug, reception["id"])]
    assert actions[-2:] == ["interactions.reception.report", "interactions.reception.reimburse"]
