"""A merge of two customers carries all their history, the relations' records included: visits,
calls, reception guests, gift applications, return-visit targets and results, the grade
history and credit-limit changes (registered customer references); and a customer those
records name cannot be deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domains.customers_helpers import API, World, approve_all, create, make_world, ok, person
from tests.domains.test_approvals import as_, assign, make_account
from tests.domains.test_grading import grade_all
from tests.domains.test_surveys import answers, standard

INTERACTIONS, SURVEYS, GRADING = "/api/v1/interactions", "/api/v1/surveys", "/api/v1/grading"


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        made = await make_world(c, db, new_tenant, mint, units=4, prefix="iam")
    return made


async def _decide_all(client: Any, request_id: str, people: list[dict[str, str]]) -> None:
    for who in people:
        await ok(await client.post(f"/api/v1/approvals/requests/{request_id}/approve", headers=who, json={}), 200)


async def test_a_merge_carries_the_relations_history(client: Any, db: Any, mint: Any, world: World) -> None:
    org = world.org
    people = {}
    for role, node in (("cs_manager", org.branch), ("sales_admin_manager", org.branch), ("sales_vp", org.root),
                       ("sales_gm", org.root), ("group_gm", org.root), ("department_supervisor", org.branch),
                       ("gift_administrator", org.branch), ("office_director", org.branch),
                       ("deputy_manager", org.branch)):
        account = await make_account(db, org, role)
        await assign(db, org, account, role, node)
        people[role] = as_(mint, org, account)
    credit_chain = [people[r] for r in ("sales_admin_manager", "sales_vp", "sales_gm", "group_gm")]

    survivor = await create(client, world, person(name="王小明", units=[{"unitId": world.units[0]["id"]}]))
    merged = await create(client, world, person(name="王小明（重复）", units=[{"unitId": world.units[1]["id"]}]))
    admin = world.admin
    visit = await ok(await client.post(f"{INTERACTIONS}/visits", headers=admin, json={
        "customerId": merged["id"], "purpose": "回访", "plannedAt": "2026-05-06T10:00:00+08:00"}))
    call = await ok(await client.post(f"{INTERACTIONS}/calls", headers=admin, json={
        "direction": "inbound", "startedAt": "2026-05-06T09:00:00+08:00", "durationSeconds": 60, "subject": "报修",
        "outcome": {"kind": "resolved"}, "customerId": merged["id"]}))
    reception = await ok(await client.post(f"{INTERACTIONS}/receptions", headers=admin, json={
        "kind": "reception", "nodeId": world.project["id"], "title": "看房接待", "purpose": "接待", "venue": "售楼处",
        "scheduledAt": "2026-05-08T10:00:00+08:00", "budget": {"meals": "300"}, "submit": False,
        "guests": [{"name": merged["name"], "role": "customer", "customerId": merged["id"]}]}))
    gifts = await ok(await client.post(f"{INTERACTIONS}/gift-applications", headers=admin, json={
        "nodeId": world.project["id"], "customerId": merged["id"], "recipient": merged["name"], "purpose": "交付礼",
        "items": [{"item": "果篮", "unitValue": "200.00"}]}))
    plan = await ok(await client.post(f"{SURVEYS}/plans", headers=admin, json={
        "nodeId": world.project["id"], "title": "交付回访", "method": "phone", "dueOn": "2030-06-30"}))
    q = await standard(client, world)
    result = await ok(await client.post(f"{SURVEYS}/results", headers=admin, json={
        "customerId": merged["id"], "questionnaireId": q["id"], "method": "phone", "answers": answers(q, 4, 4, 4, 4)}))
    for customer, limit in ((survivor, "100000.00"), (merged, "250000.00")):
        change = await ok(await client.post(f"{GRADING}/customers/{customer['id']}/credit-changes", headers=admin,
                                            json={"requestedLimit": limit, "reason": "年度授信"}))
        await _decide_all(client, change["approvalRequestId"], credit_chain)
    await grade_all(db, world.slug)
    merged_history = await ok(await client.get(f"{GRADING}/customers/{merged['id']}/history", headers=admin), 200)
    assert merged_history["total"] == 1

    # A customer the relations' records name is not deleted, even when the deletion is approved.
    deletion = await ok(await client.post(f"{API}/{merged['id']}/change-requests", headers=admin,
                                          json={"action": "delete", "reason": "录入错误"}))
    refused = await client.post(f"/api/v1/approvals/requests/{deletion['id']}/approve", headers=world.supervisor,
                                json={"refer": True})
    assert refused.status_code == 200
    blocked = await client.post(f"/api/v1/approvals/requests/{deletion['id']}/approve", headers=world.crm_head,
                                json={})
    assert blocked.status_code == 409 and "visits.customer_id" in blocked.json()["detail"]

    asked = await ok(await client.post(f"{API}/{survivor['id']}/merge", headers=admin,
                                       json={"mergedId": merged["id"], "reason": "同一客户重复录入"}))
    await approve_all(client, world, asked["id"])

    def mine(url: str) -> Any:
        return client.get(url, headers=admin, params={"customerId": survivor["id"], "limit": 200})

    assert visit["id"] in {v["id"] for v in (await ok(await mine(f"{INTERACTIONS}/visits"), 200))["items"]}
    assert call["id"] in {c["id"] for c in (await ok(await mine(f"{INTERACTIONS}/calls"), 200))["items"]}
    assert gifts["id"] in {g["id"] for g in (await ok(await mine(f"{INTERACTIONS}/gift-applications"), 200))["items"]}
    guests = (await ok(await client.get(f"{INTERACTIONS}/receptions/{reception['id']}", headers=admin), 200))["guests"]
    assert [g["customerId"] for g in guests] == [survivor["id"]]
    targets = await ok(await client.get(f"{SURVEYS}/targets", headers=admin, params={"planId": plan["id"]}), 200)
    assert sorted(t["customerId"] for t in targets["items"]) == [survivor["id"], survivor["id"]]
    assert result["id"] in {r["id"] for r in (await ok(await mine(f"{SURVEYS}/results"), 200))["items"]}
    changes = await ok(await mine(f"{GRADING}/credit-changes"), 200)
    assert sorted(c["requestedLimit"] for c in changes["items"]) == ["100000.00", "250000.00"]
    history = await ok(await client.get(f"{GRADING}/customers/{survivor['id']}/history", headers=admin), 200)
    assert history["total"] == 2  # its own first grade and the merged record's
    # The limit approved last stands.
    view = await ok(await client.get(f"{GRADING}/customers/{survivor['id']}", headers=admin), 200)
    assert view["creditLimit"] == "250000.00"

    # The tombstone keeps no grade once grades are computed again.
    await grade_all(db, world.slug)
    tombstone = await ok(await client.get(f"{GRADING}/customers/{merged['id']}", headers=admin), 200)
    assert tombstone["grade"] is None and tombstone["creditLimit"] is None
    listed = await ok(await client.get(f"{GRADING}/grades", headers=admin, params={"limit": 200}), 200)
    assert merged["id"] not in {r["id"] for r in listed["items"]}
