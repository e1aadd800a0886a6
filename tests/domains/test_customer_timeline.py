"""A customer's whole history in one place (seed 001 §2.1.2): inquiries, visits, calls,
return visits, grading…, newest first, paged, each entry shown only to whoever may read it;
and the inquiries about one customer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.domains.customers_helpers import World, create, make_world, ok, person
from tests.grants import grant

TIMELINE = "/api/v1/customers/{}/timeline"


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=2, prefix="tl")


async def _history(client: Any, customer: dict[str, Any], headers: dict[str, str], **params: Any) -> dict[str, Any]:
    return await ok(await client.get(TIMELINE.format(customer["id"]), headers=headers, params=params), 200)


async def test_one_customer_s_history_across_domains(client: Any, db: Any, mint: Any, world: World) -> None:
    from app.core.audit import SYSTEM
    from app.domains.grading.services import recompute

    customer = await create(client, world, person(
        units=[{"unitId": world.units[0]["id"], "amount": "1800000.00"}],
        consents=[{"kind": "behaviour", "purpose": "了解需求", "channel": "paper"}]))
    other = await create(client, world, person(units=[{"unitId": world.units[1]["id"]}]))
    project = world.project["id"]
    # The front desk records an inquiry about the customer, sales visits and calls them.
    inquiry = await ok(await client.post("/api/v1/inquiries", headers=world.admin, json={
        "channel": "hotline", "projectId": project, "customerId": customer["id"], "subject": "交付时间",
        "description": "什么时候交房？", "promisedReplyAt": "2026-05-02T10:00:00+08:00", "contactNote": "业主本人"}))
    await ok(await client.post("/api/v1/inquiries", headers=world.admin, json={
        "channel": "hotline", "projectId": project, "customerId": other["id"], "subject": "别人的咨询",
        "description": "x", "promisedReplyAt": "2026-05-02T10:00:00+08:00", "contactNote": "业主本人"}))
    visit = await ok(await client.post("/api/v1/interactions/visits", headers=world.admin, json={
        "customerId": customer["id"], "purpose": "交付前拜访", "plannedAt": "2026-05-06T10:00:00+08:00"}))
    call = await ok(await client.post("/api/v1/interactions/calls", headers=world.admin, json={
        "direction": "outbound", "startedAt": "2026-05-07T11:00:00+08:00", "durationSeconds": 60,
        "subject": "新盘推介", "customerId": customer["id"], "outcome": {"kind": "resolved"}}))
    investigation = await ok(await client.post("/api/v1/grading/credit-investigations", headers=world.admin, json={
        "customerId": customer["id"], "agency": "征信机构", "method": "征信报告", "content": "付款记录"}))
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        session.info["actor"] = SYSTEM
        await recompute(session)

    everything = await _history(client, customer, world.admin)
    kinds = [e["kind"] for e in everything["items"]]
    assert {"inquiry", "visit", "call", "grade", "credit_investigation"} <= set(kinds), everything
    by_id = {e["id"]: e for e in everything["items"]}
    assert by_id[inquiry["id"]]["title"] == f"{inquiry['number']} 交付时间" and by_id[inquiry["id"]]["status"] == "open"
    assert by_id[visit["id"]]["kind"] == "visit" and by_id[visit["id"]]["status"] == "planned"
    assert by_id[call["id"]]["title"] == "新盘推介"
    assert (by_id[investigation["id"]]["title"], by_id[investigation["id"]]["status"]) == (
        f"{investigation['number']} 征信机构", "requested")
    assert "别人的咨询" not in str(everything)  # another customer's records never
    ats = [e["at"] for e in everything["items"]]
    assert ats == sorted(ats, reverse=True)  # newest first
    # Paged, and narrowed by kind.
    first = await _history(client, customer, world.admin, limit=1)
    assert first["total"] == everything["total"] and first["items"] == everything["items"][:1]
    second = await _history(client, customer, world.admin, limit=1, offset=1)
    assert second["items"] == everything["items"][1:2]
    only = await _history(client, customer, world.admin, kind=["visit", "call"])
    assert sorted(e["kind"] for e in only["items"]) == ["call", "visit"]
    # A kind no domain declares (yet) matches nothing.
    assert (await _history(client, customer, world.admin, kind="repair"))["total"] == 0

    # A front-desk clerk who reads customers and inquiries, not interactions nor grades, sees
    # the inquiry only; with a token limited to customers, nothing.
    clerk = str(uuid.uuid4())
    await grant(db, world.slug, clerk, ["customers.read", "inquiries.read"], world.org.branch)
    seen = await _history(client, customer, {"Authorization": f"Bearer {mint(tenant=world.slug, subject=clerk)}"})
    assert [e["kind"] for e in seen["items"]] == ["inquiry"] and seen["total"] == 1
    narrow = {"Authorization": f"Bearer {mint(tenant=world.slug, subject=clerk, scopes=['customers:read'])}"}
    assert (await _history(client, customer, narrow))["total"] == 0
    # Someone who may not read the customer: 404, as for an id that does not exist.
    stranger = str(uuid.uuid4())
    await grant(db, world.slug, stranger, ["inquiries.read"], world.org.branch)
    hidden = await client.get(TIMELINE.format(customer["id"]), headers={
        "Authorization": f"Bearer {mint(tenant=world.slug, subject=stranger)}"})
    assert hidden.status_code == 404
    assert (await client.get(TIMELINE.format(uuid.uuid4()), headers=world.admin)).status_code == 404

    # The inquiries about one customer.
    about = await ok(await client.get("/api/v1/inquiries", headers=world.admin,
                                      params={"customerId": customer["id"], "limit": 200}), 200)
    assert [i["id"] for i in about["items"]] == [inquiry["id"]]
