"""Interactions over the API: visits from plan to report (behaviour data only with consent,
the next appointment planning the follow-up), receptions through their approval chain and
the revise-until-approved loop, gift plans and applications against their budget, calls
with their outcome and the caller's number sealed at rest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, text

from app.core.audit import tenant_audit
from tests.domains.customers_helpers import PROBLEM, World, create, make_world, ok, person, phone
from tests.domains.test_approvals import as_, assign, make_account
from tests.domains.visits_helpers import approve_visit, approved_visit
from tests.grants import grant

API = "/api/v1/interactions"


@dataclass
class Deciders:
    """Whoever decides the relations chains at the world's branch and group."""

    cs_manager: dict[str, str]
    general_manager: dict[str, str]
    finance: dict[str, str]
    # The visit application's (seed 000 §22).
    cr_supervisor: dict[str, str]
    # The gift application's four sign-offs (seed 000 §20), in order.
    gifts: list[dict[str, str]]


GIFT_CHAIN = ("department_supervisor", "gift_administrator", "office_director", "deputy_manager")


async def deciders(db: Any, mint: Any, world: World) -> Deciders:
    made: dict[str, Any] = {}
    for role in ("cs_manager", "general_manager", "finance", "cr_supervisor", *GIFT_CHAIN):
        account = await make_account(db, world.org, role)
        await assign(db, world.org, account, role, world.org.branch)
        made[role] = as_(mint, world.org, account)
    return Deciders(cs_manager=made["cs_manager"], general_manager=made["general_manager"], finance=made["finance"],
                    cr_supervisor=made["cr_supervisor"], gifts=[made[role] for role in GIFT_CHAIN])


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=6, handover="2030-01-01", prefix="ia")


@pytest.fixture(scope="module")
async def people(db: Any, mint: Any, world: World) -> Deciders:
    return await deciders(db, mint, world)


async def trail(db: Any, slug: str, entity_id: str) -> list[Any]:
    async with db.tenant_session(f"t_{slug}") as session:
        return list((await session.execute(select(tenant_audit).where(tenant_audit.c.entity_id == entity_id)
                                           .order_by(tenant_audit.c.occurred_at, tenant_audit.c.id))).all())


def consenting(**extra: Any) -> dict[str, Any]:
    return person(consents=[{"kind": "behaviour", "purpose": "了解购房需求", "channel": "paper"}], **extra)


async def decide(client: Any, request_id: str, who: dict[str, str], approve: bool = True) -> dict[str, Any]:
    body = {} if approve else {"comment": "预算过高，请压缩餐费"}
    return await ok(await client.post(f"/api/v1/approvals/requests/{request_id}/{'approve' if approve else 'reject'}",
                                      headers=who, json=body), 200)


# ------------------------------------------------------------------------------- visits


async def test_a_visit_from_plan_to_report(client: Any, db: Any, world: World, people: Deciders) -> None:
    customer = await create(client, world, person(units=[{"unitId": world.units[0]["id"]}]))
    body = {"customerId": customer["id"], "purpose": "交付前回访，了解装修需求",
            "plannedAt": "2026-05-06T10:00:00+08:00", "location": "阳光花园售楼处"}
    planned = await client.post(f"{API}/visits", headers={**world.admin, "Idempotency-Key": "visit-1"}, json=body)
    again = await client.post(f"{API}/visits", headers={**world.admin, "Idempotency-Key": "visit-1"}, json=body)
    visit = await ok(planned)
    assert again.json()["id"] == visit["id"] and again.headers["idempotent-replayed"] == "true"
    assert visit["number"].startswith("BF-") and visit["status"] == "planned"
    assert visit["nodeId"] == world.project["id"]  # where the customer sits
    url = planned.headers["location"]

    assert (await client.patch(url, headers=world.admin, json={"location": "客户家中"})).status_code == 428
    moved = await client.patch(url, headers={**world.admin, "If-Match": planned.headers["etag"]},
                               json={"location": "客户家中", "plannedAt": "2026-05-07T15:00:00+08:00"})
    assert moved.status_code == 200 and moved.json()["location"] == "客户家中"
    stale = await client.post(f"{url}/record", headers={**world.admin, "If-Match": planned.headers["etag"]}, json={})
    assert stale.status_code == 412
    # Not applied for: the visit is not made before its application is approved (seed 000 §22).
    early = await client.post(f"{url}/record", headers={**world.admin, "If-Match": moved.headers["etag"]}, json={})
    assert early.status_code == 409 and "is planned" in early.json()["detail"]
    await approve_visit(client, world, url, people.cr_supervisor)
    moved = await client.get(url, headers=world.admin)
    assert moved.json()["status"] == "approved"

    # Needs and objections are behaviour data: this customer has not consented.
    outcome = {"visitedAt": "2026-05-07T15:30:00+08:00", "needs": ["精装修升级方案"], "objections": ["物业费偏高"],
               "gifts": [{"item": "月饼礼盒", "quantity": 2, "unitValue": "188.00"}],
               "nextAppointmentAt": "2026-06-01T10:00:00+08:00", "notes": "客户对交付时间满意"}
    refused = await client.post(f"{url}/record", headers={**world.admin, "If-Match": moved.headers["etag"]},
                                json=outcome)
    assert refused.status_code == 409 and refused.json()["type"] == PROBLEM + "consent-required"
    assert sorted(e["field"] for e in refused.json()["errors"]) == ["needs", "objections"]
    recorded = await ok(await client.post(f"{url}/record", headers={**world.admin, "If-Match": moved.headers["etag"]},
                                          json={**outcome, "needs": [], "objections": []}), 200)
    assert recorded["status"] == "visited" and recorded["gifts"] == [
        {"item": "月饼礼盒", "quantity": 2, "unitValue": "188.00", "value": "376.00"}]
    # The next appointment planned the follow-up visit.
    follow = await ok(await client.get(f"{API}/visits/{recorded['followUpId']}", headers=world.admin), 200)
    assert follow["followUpOfId"] == visit["id"] and follow["status"] == "planned"
    assert follow["plannedAt"].startswith("2026-06-01T02:00:00") and follow["customerId"] == customer["id"]

    got = await client.get(url, headers=world.admin)
    reported = await ok(await client.post(f"{url}/report", headers={**world.admin, "If-Match": got.headers["etag"]},
                                          json={"report": "客户计划七月装修，需要推荐装修公司。",
                                                "expenses": {"transport": "56.50", "gifts": "376.00"}}), 200)
    assert reported["status"] == "reported" and reported["expenses"] == {
        "meals": "0.00", "transport": "56.50", "gifts": "376.00", "other": "0.00", "total": "432.50"}
    again_report = await client.post(f"{url}/report", headers={**world.admin, "If-Match": f'"{reported["version"]}"'},
                                     json={"report": "again"})
    assert again_report.status_code == 409

    fetched = await client.get(f"{API}/visits/{follow['id']}", headers=world.admin)
    cancelled = await ok(await client.post(f"{API}/visits/{follow['id']}/cancel",
                                           headers={**world.admin, "If-Match": fetched.headers["etag"]},
                                           json={"reason": "客户出差"}), 200)
    assert cancelled["status"] == "cancelled" and cancelled["cancelReason"] == "客户出差"
    assert [r.action for r in await trail(db, world.slug, visit["id"])] == [
        "interactions.visit.plan", "interactions.visit.update", "interactions.visit.apply",
        "interactions.visit.record", "interactions.visit.report"]

    listed = await ok(await client.get(f"{API}/visits", headers=world.admin,
                                       params={"customerId": customer["id"], "sort": "plannedAt"}), 200)
    assert [v["id"] for v in listed["items"]] == [visit["id"], follow["id"]]
    mine = await ok(await client.get(f"{API}/visits", headers=world.admin,
                                     params={"mine": "true", "status": "cancelled"}), 200)
    assert follow["id"] in {v["id"] for v in mine["items"]} and visit["id"] not in {v["id"] for v in mine["items"]}


async def test_needs_with_consent_stay_out_of_the_audit_trail(client: Any, db: Any, world: World,
                                                             people: Deciders) -> None:
    customer = await create(client, world, consenting(nodeId=world.project["id"]))
    url, tag = await approved_visit(client, world, people.cr_supervisor, {
        "customerId": customer["id"], "purpose": "了解购房意向", "plannedAt": "2026-05-06T10:00:00+08:00"})
    recorded = await ok(await client.post(f"{url}/record", headers={**world.admin, "If-Match": tag},
                                          json={"needs": ["三房朝南"], "objections": ["首付压力大"]}), 200)
    assert recorded["needs"] == ["三房朝南"] and recorded["objections"] == ["首付压力大"]
    async with db.engine.connect() as conn:
        dump = " ".join(v or "" for r in (await conn.execute(text(
            f'SELECT before::text, after::text FROM "t_{world.slug}".audit_log WHERE entity_id = :id'),
            {"id": recorded["id"]})).all() for v in r)
    assert "三房朝南" not in dump and "首付压力大" not in dump and '"needsCount": 1' in dump


async def test_visit_bad_input_and_permissions(client: Any, db: Any, mint: Any, world: World) -> None:
    customer = await create(client, world, person())  # a prospect at the group
    unknown = await client.post(f"{API}/visits", headers=world.admin, json={
        "customerId": str(uuid.uuid4()), "purpose": "x", "plannedAt": "2026-05-06T10:00:00+08:00"})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "customerId"
    nobody = await client.post(f"{API}/visits", headers=world.admin, json={
        "customerId": customer["id"], "purpose": "x", "plannedAt": "2026-05-06T10:00:00+08:00",
        "ownerId": str(uuid.uuid4())})
    assert nobody.status_code == 404 and nobody.json()["errors"][0]["field"] == "ownerId"
    naive = await client.post(f"{API}/visits", headers=world.admin, json={
        "customerId": customer["id"], "purpose": "x", "plannedAt": "2026-05-06T10:00:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "plannedAt"
    edge = await client.post(f"{API}/visits", headers=world.admin, json={
        "customerId": customer["id"], "purpose": "x", "plannedAt": "0001-01-01T00:30:00+01:00"})
    assert edge.status_code == 422 and edge.json()["errors"][0]["field"] == "plannedAt"
    for value in ("2026-05-01T00:00:00", "1764718054"):  # no offset; a number is no time
        listed = await client.get(f"{API}/visits", headers=world.admin, params={"plannedFrom": value})
        assert listed.status_code == 422 and listed.json()["errors"][0] == {
            "field": "plannedFrom", "message": listed.json()["errors"][0]["message"], "source": "query"}

    visit = await ok(await client.post(f"{API}/visits", headers=world.admin, json={
        "customerId": customer["id"], "purpose": "x", "plannedAt": "2026-05-06T10:00:00+08:00"}))
    # A project clerk sees their project's visits, not the group's prospects'.
    clerk = str(uuid.uuid4())
    await grant(db, world.slug, clerk, ["interactions.read", "interactions.write"], uuid.UUID(world.project["id"]))
    as_clerk = {"Authorization": f"Bearer {mint(tenant=world.slug, subject=clerk)}"}
    assert (await client.get(f"{API}/visits/{visit['id']}", headers=as_clerk)).status_code == 404
    assert visit["id"] not in {v["id"] for v in (await ok(await client.get(
        f"{API}/visits", headers=as_clerk, params={"limit": 200}), 200))["items"]}
    refused = await client.post(f"{API}/visits", headers=as_clerk, json={
        "customerId": customer["id"], "purpose": "x", "plannedAt": "2026-05-06T10:00:00+08:00"})
    assert refused.status_code == 404  # a customer outside their subtree is no customer to them
    reader = str(uuid.uuid4())
    await grant(db, world.slug, reader, ["interactions.read"])
    as_reader = {"Authorization": f"Bearer {mint(tenant=world.slug, subject=reader)}"}
    got = await client.get(f"{API}/visits/{visit['id']}", headers=as_reader)
    assert got.status_code == 200
    forbidden = await client.post(f"{API}/visits/{visit['id']}/cancel",
                                  headers={**as_reader, "If-Match": got.headers["etag"]}, json={"reason": "x"})
    assert forbidden.status_code == 403


# --------------------------------------------------------------------------- receptions


def _reception(world: World, **extra: Any) -> dict[str, Any]:
    return {"kind": "hospitality", "nodeId": world.project["id"], "title": "业主答谢晚宴",
            "purpose": "答谢首批业主，介绍交付安排", "venue": "深圳湾万豪酒店",
            "scheduledAt": "2026-06-18T18:30:00+08:00",
            "budget": {"meals": "12000.00", "transport": "1500", "gifts": "3000.00"}, **extra}


async def test_a_reception_through_its_chain_and_report(client: Any, db: Any, world: World, people: Deciders) -> None:
    guest = await create(client, world, person(units=[{"unitId": world.units[1]["id"]}]))
    created = await client.post(f"{API}/receptions", headers=world.admin, json=_reception(world, guests=[
        {"name": guest["name"], "role": "customer", "customerId": guest["id"]},
        {"name": "张律师", "role": "guest", "organisation": "某律师事务所"}]))
    reception = await ok(created)
    assert reception["number"].startswith("JD-") and reception["status"] == "pending"
    assert reception["budget"] == {"meeting": "0.00", "meals": "12000.00", "lodging": "0.00", "transport": "1500.00",
                                   "gifts": "3000.00", "other": "0.00", "total": "16500.00"}
    request = await ok(await client.get(f"/api/v1/approvals/requests/{reception['approvalRequestId']}",
                                        headers=world.admin), 200)
    assert request["type"] == "reception_application" and request["amount"] == "16500.00"
    assert [s["name"] for s in request["rounds"][0]["steps"]] == ["Customer service manager", "General manager",
                                                                 "Finance"]
    assert request["payload"]["budget"]["total"] == "16500.00" and len(request["payload"]["guests"]) == 2

    # Under review: no edits, no report, no cancellation.
    url = created.headers["location"]
    assert (await client.patch(url, headers={**world.admin, "If-Match": created.headers["etag"]},
                               json={"venue": "x"})).status_code == 409
    cancel = await client.post(f"{url}/cancel", headers={**world.admin, "If-Match": created.headers["etag"]},
                               json={"reason": "x"})
    assert cancel.status_code == 409 and "withdraw" in cancel.json()["detail"]

    # Rejected at the general manager: revised and resubmitted as round 2, then approved.
    await decide(client, reception["approvalRequestId"], people.cs_manager)
    await decide(client, reception["approvalRequestId"], people.general_manager, approve=False)
    got = await client.get(url, headers=world.admin)
    assert got.json()["status"] == "rejected" and got.json()["version"] > reception["version"]
    revised = await client.patch(url, headers={**world.admin, "If-Match": got.headers["etag"]},
                                 json={"budget": {"meals": "8000.00", "transport": "1500.00", "gifts": "3000.00"}})
    assert revised.status_code == 200 and revised.json()["budget"]["total"] == "12500.00"
    again = await ok(await client.post(f"{url}/submit", headers={**world.admin, "If-Match": revised.headers["etag"]},
                                       json={"note": "餐费已压缩"}), 200)
    assert again["status"] == "pending" and again["approvalRequestId"] == reception["approvalRequestId"]
    for who in (people.cs_manager, people.general_manager, people.finance):
        await decide(client, reception["approvalRequestId"], who)
    request = await ok(await client.get(f"/api/v1/approvals/requests/{reception['approvalRequestId']}",
                                        headers=world.admin), 200)
    assert request["round"] == 2 and request["amount"] == "12500.00" and request["payload"]["budget"]["meals"] == \
        "8000.00"

    got = await client.get(url, headers=world.admin)
    assert got.json()["status"] == "approved"
    report = {"heldAt": "2026-06-18T18:30:00+08:00", "attendeeCount": 46, "summary": "到场业主46位，反馈良好。",
              "actual": {"meals": "9100.00", "transport": "1500.00", "gifts": "3000.00", "other": "200.00"}}
    reported = await ok(await client.post(f"{url}/report", headers={**world.admin, "If-Match": got.headers["etag"]},
                                          json=report), 200)
    assert reported["status"] == "reported" and reported["actual"]["total"] == "13800.00"
    assert reported["overBudget"] is True
    actions = [r.action for r in await trail(db, world.slug, reception["id"])]
    assert actions == ["interactions.reception.create", "interactions.reception.submit",
                       "interactions.reception.update", "interactions.reception.submit",
                       "interactions.reception.report"]
    pending = await ok(await client.get(f"{API}/receptions", headers=world.admin, params={"status": "reported"}), 200)
    assert reception["id"] in {r["id"] for r in pending["items"]}


async def test_a_withdrawn_reception_is_revised_and_submitted_anew(client: Any, world: World,
                                                                  people: Deciders) -> None:
    draft = await client.post(f"{API}/receptions", headers=world.admin, json=_reception(world, submit=False,
                                                                                         kind="reception"))
    assert draft.json()["status"] == "draft" and draft.json()["approvalRequestId"] is None
    url = draft.headers["location"]
    submitted = await ok(await client.post(f"{url}/submit", headers={**world.admin, "If-Match": draft.headers["etag"]},
                                           json={}), 200)
    first = submitted["approvalRequestId"]
    await ok(await client.post(f"/api/v1/approvals/requests/{first}/withdraw", headers=world.admin, json={}), 200)
    got = await client.get(url, headers=world.admin)
    assert got.json()["status"] == "withdrawn"
    again = await ok(await client.post(f"{url}/submit", headers={**world.admin, "If-Match": got.headers["etag"]},
                                       json={}), 200)
    assert again["status"] == "pending" and again["approvalRequestId"] != first
    twice = await client.post(f"{url}/submit", headers={**world.admin, "If-Match": f'"{again["version"]}"'}, json={})
    assert twice.status_code == 409
    # Cancelled once no longer under review.
    await decide(client, again["approvalRequestId"], people.cs_manager, approve=False)
    got = await client.get(url, headers=world.admin)
    cancelled = await ok(await client.post(f"{url}/cancel", headers={**world.admin, "If-Match": got.headers["etag"]},
                                           json={"reason": "活动取消"}), 200)
    assert cancelled["status"] == "cancelled"
    late = await client.post(f"{url}/report", headers={**world.admin, "If-Match": f'"{cancelled["version"]}"'},
                             json={"heldAt": "2026-06-18T18:30:00+08:00", "attendeeCount": 1, "summary": "x",
                                   "actual": {}})
    assert late.status_code == 409


async def test_a_reception_nobody_can_approve_is_refused_whole(client: Any, db: Any, new_tenant: Any,
                                                               mint: Any) -> None:
    import httpx

    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as c:
        bare = await make_world(c, db, new_tenant, mint, units=1, prefix="ianone")
    refused = await client.post(f"{API}/receptions", headers=bare.admin, json=_reception(bare))
    assert refused.status_code == 409 and "Nobody can decide" in refused.json()["detail"]
    listed = await ok(await client.get(f"{API}/receptions", headers=bare.admin), 200)
    assert listed["total"] == 0
    group = (await client.get("/api/v1/org/group", headers=bare.admin)).json()
    at_group = await client.post(f"{API}/receptions", headers=bare.admin, json=_reception(bare, nodeId=group["id"]))
    assert at_group.status_code == 422 and at_group.json()["errors"][0]["field"] == "nodeId"


# -------------------------------------------------------------------------------- gifts


async def test_gift_applications_draw_on_their_plan(client: Any, world: World, people: Deciders) -> None:
    plan_made = await client.post(f"{API}/gift-plans", headers=world.admin, json={
        "nodeId": world.branch["id"], "title": "2026 中秋业主关怀", "occasion": "中秋节",
        "items": [{"item": "月饼礼盒", "quantity": 10, "unitValue": "188.00"}]})
    plan = await ok(plan_made)
    assert plan["budget"] == "1880.00" and plan["remaining"] == "1880.00"
    customer = await create(client, world, person(units=[{"unitId": world.units[2]["id"]}]))
    body = {"nodeId": world.project["id"], "planId": plan["id"], "customerId": customer["id"],
            "recipient": customer["name"], "purpose": "中秋节业主关怀",
            "items": [{"item": "月饼礼盒", "quantity": 6, "unitValue": "188.00"}]}
    applied = await ok(await client.post(f"{API}/gift-applications", headers=world.admin, json=body))
    assert applied["number"].startswith("LP-") and applied["status"] == "pending" and applied["total"] == "1128.00"
    held = await ok(await client.get(f"{API}/gift-plans/{plan['id']}", headers=world.admin), 200)
    assert held["committed"] == "1128.00" and held["remaining"] == "752.00"
    too_much = await client.post(f"{API}/gift-applications", headers=world.admin, json=body)
    assert too_much.status_code == 409 and "752.00" in too_much.json()["detail"]
    shrink = await client.patch(f"{API}/gift-plans/{plan['id']}",
                                headers={**world.admin, "If-Match": f'"{held["version"]}"'},
                                json={"items": [{"item": "月饼礼盒", "quantity": 5, "unitValue": "188.00"}]})
    assert shrink.status_code == 409

    early = await client.post(f"{API}/gift-applications/{applied['id']}/issue",
                              headers={**world.admin, "If-Match": f'"{applied["version"]}"'}, json={})
    assert early.status_code == 409
    request = await ok(await client.get(f"/api/v1/approvals/requests/{applied['approvalRequestId']}",
                                        headers=world.admin), 200)
    assert [s["role"] for s in request["rounds"][0]["steps"]] == list(GIFT_CHAIN)
    for i, who in enumerate(people.gifts):
        got = await client.get(f"{API}/gift-applications/{applied['id']}", headers=world.admin)
        assert got.json()["status"] == "pending", f"approved before the sign-off {i + 1} of 4"
        await decide(client, applied["approvalRequestId"], who)
    got = await client.get(f"{API}/gift-applications/{applied['id']}", headers=world.admin)
    assert got.json()["status"] == "approved"
    issued = await ok(await client.post(f"{API}/gift-applications/{applied['id']}/issue",
                                        headers={**world.admin, "If-Match": got.headers["etag"]}, json={}), 200)
    assert issued["status"] == "issued" and issued["issuedAt"]

    # A rejected application frees its share of the plan, and may be cancelled.
    second = await ok(await client.post(f"{API}/gift-applications", headers=world.admin, json={
        **body, "items": [{"item": "月饼礼盒", "quantity": 4, "unitValue": "188.00"}]}))
    await decide(client, second["approvalRequestId"], people.gifts[0], approve=False)
    freed = await ok(await client.get(f"{API}/gift-plans/{plan['id']}", headers=world.admin), 200)
    assert freed["committed"] == "1128.00"
    got = await client.get(f"{API}/gift-applications/{second['id']}", headers=world.admin)
    assert (await ok(await client.post(f"{API}/gift-applications/{second['id']}/cancel",
                                       headers={**world.admin, "If-Match": got.headers["etag"]},
                                       json={"reason": "改送其他礼品"}), 200))["status"] == "cancelled"
    by_plan = await ok(await client.get(f"{API}/gift-applications", headers=world.admin,
                                        params={"planId": plan["id"], "status": "issued"}), 200)
    assert [a["id"] for a in by_plan["items"]] == [applied["id"]]
    # A plan of another branch does not cover this project.
    other = await ok(await client.post("/api/v1/org/branches", headers=world.admin,
                                       json={"code": f"O{uuid.uuid4().hex[:6]}", "name": "广州分公司"}))
    elsewhere = await ok(await client.post(f"{API}/gift-plans", headers=world.admin, json={
        "nodeId": other["id"], "title": "x", "occasion": "x", "items": [{"item": "x", "unitValue": "1"}]}))
    uncovered = await client.post(f"{API}/gift-applications", headers=world.admin,
                                  json={**body, "planId": elsewhere["id"]})
    assert uncovered.status_code == 422 and uncovered.json()["errors"][0]["field"] == "planId"
    unknown = await client.post(f"{API}/gift-applications", headers=world.admin,
                                json={**body, "planId": str(uuid.uuid4())})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "planId"


# -------------------------------------------------------------------------------- calls


async def test_withdrawing_the_last_behaviour_consent_erases_needs_and_interests(
        client: Any, db: Any, world: World, people: Deciders) -> None:
    customer = await create(client, world, consenting(nodeId=world.project["id"]))
    url, tag = await approved_visit(client, world, people.cr_supervisor, {
        "customerId": customer["id"], "purpose": "回访购房意向", "plannedAt": "2026-05-06T10:00:00+08:00"})
    visit = await ok(await client.post(f"{url}/record", headers={**world.admin, "If-Match": tag},
                                       json={"needs": ["学区"], "objections": ["楼层太低"]}), 200)
    call = await ok(await client.post(f"{API}/calls", headers=world.admin, json={
        "direction": "outbound", "startedAt": "2026-05-06T11:00:00+08:00", "durationSeconds": 60,
        "subject": "新盘推介", "customerId": customer["id"],
        "outcome": {"kind": "interested", "interests": ["江景四房"]}}))
    consent = (await ok(await client.get(f"/api/v1/customers/{customer['id']}/consents", headers=world.admin),
                        200))["items"][0]

    await ok(await client.post(f"/api/v1/customers/consents/{consent['id']}/withdraw", headers=world.admin,
                               json={"channel": "phone"}), 200)

    seen = await client.get(f"{API}/visits/{visit['id']}", headers=world.admin)
    assert seen.json()["needs"] == [] and seen.json()["objections"] == []
    assert seen.headers["etag"] != f'"{visit["version"]}"'  # clients holding the old copy learn it changed
    assert (await ok(await client.get(f"{API}/calls/{call['id']}", headers=world.admin), 200))["interests"] == []
    erased = [r for r in await trail(db, world.slug, customer["id"]) if r.action == "customers.behaviour.erase"]
    assert len(erased) == 1 and erased[0].after == {"erased": {"visits.needs+objections": 1,
                                                               "calls.interests+objections": 1}}


async def test_calls_with_their_outcome_and_the_number_sealed(client: Any, db: Any, world: World) -> None:
    number = phone()
    inbound = await ok(await client.post(f"{API}/calls", headers=world.admin, json={
        "direction": "inbound", "startedAt": "2026-05-06T09:12:00+08:00", "durationSeconds": 185,
        "subject": "咨询车位销售", "outcome": {"kind": "resolved"}, "contactNote": "陈女士", "phone": f"+86{number}"}))
    group = (await client.get("/api/v1/org/group", headers=world.admin)).json()
    assert inbound["nodeId"] == group["id"] and inbound["phone"] == number[:3] + "****" + number[-4:]
    async with db.engine.connect() as conn:
        row = (await conn.execute(text(f'SELECT * FROM "t_{world.slug}".calls WHERE id = :id'),
                                  {"id": inbound["id"]})).mappings().one()
        audit_rows = (await conn.execute(text(f'SELECT after::text FROM "t_{world.slug}".audit_log '
                                              "WHERE entity_id = :id"), {"id": inbound["id"]})).all()
    dump = " ".join(str(v) for v in row.values()) + " ".join(r[0] for r in audit_rows)
    assert number not in dump and number.encode() not in bytes(row["phone_sealed"])

    customer = await create(client, world, person(units=[{"unitId": world.units[3]["id"]}]))
    interest = {"direction": "outbound", "startedAt": "2026-05-06T10:00:00+08:00", "durationSeconds": 240,
                "subject": "新盘推介", "customerId": customer["id"],
                "outcome": {"kind": "interested", "interests": ["滨江壹号 三房"]}}
    refused = await client.post(f"{API}/calls", headers=world.admin, json=interest)
    assert refused.status_code == 409 and refused.json()["type"] == PROBLEM + "consent-required"
    assert refused.json()["errors"][0]["field"] == "outcome.interests"
    plain = await ok(await client.post(f"{API}/calls", headers=world.admin, json={
        **interest, "outcome": {"kind": "interested"}}))
    assert plain["outcome"] == "interested" and plain["nodeId"] == world.project["id"]
    consented = await create(client, world, consenting())
    kept = await ok(await client.post(f"{API}/calls", headers=world.admin, json={
        **interest, "customerId": consented["id"]}))
    assert kept["interests"] == ["滨江壹号 三房"]
    failed = await ok(await client.post(f"{API}/calls", headers=world.admin, json={
        **interest, "durationSeconds": 0, "outcome": {"kind": "failed", "reason": "no_answer"}}))
    assert failed["outcome"] == "failed" and failed["failureReason"] == "no_answer"
    callback = await ok(await client.post(f"{API}/calls", headers=world.admin, json={
        **interest, "outcome": {"kind": "callback", "callbackAt": "2026-05-08T19:00:00+08:00"}}))
    assert callback["callbackAt"].startswith("2026-05-08T11:00:00")

    elsewhere = await client.post(f"{API}/calls", headers=world.admin, json={**interest, "nodeId": group["id"],
                                                                             "outcome": {"kind": "resolved"}})
    assert elsewhere.status_code == 422 and elsewhere.json()["errors"][0]["field"] == "nodeId"
    wrong = await client.post(f"{API}/calls", headers=world.admin, json={**interest, "outcome": {"kind": "maybe"}})
    assert wrong.status_code == 422
    listed = await ok(await client.get(f"{API}/calls", headers=world.admin,
                                       params={"customerId": customer["id"], "outcome": "failed"}), 200)
    assert [c["id"] for c in listed["items"]] == [failed["id"]]
    got = await client.get(f"{API}/calls/{inbound['id']}", headers=world.admin)
    assert got.status_code == 200 and got.headers["etag"] == '"1"'


async def test_a_node_holding_interactions_is_not_deleted(client: Any, world: World) -> None:
    branch = await ok(await client.post("/api/v1/org/branches", headers=world.admin,
                                        json={"code": f"X{uuid.uuid4().hex[:6]}", "name": "临时分公司"}))
    project = await ok(await client.post("/api/v1/org/projects", headers=world.admin, json={
        "branchId": branch["id"], "code": f"X{uuid.uuid4().hex[:6]}", "name": "临时项目"}))
    await ok(await client.post(f"{API}/calls", headers=world.admin, json={
        "direction": "outbound", "startedAt": "2026-05-06T10:00:00+08:00", "durationSeconds": 0, "subject": "推介",
        "outcome": {"kind": "failed", "reason": "busy"}, "nodeId": project["id"]}))
    url = f"/api/v1/org/projects/{project['id']}"
    got = await client.get(url, headers=world.admin)
    refused = await client.delete(url, headers={**world.admin, "If-Match": got.headers["etag"]})
    assert refused.status_code == 409 and "1 calls" in refused.json()["detail"]


async def test_the_demo_group_has_interactions_return_visits_and_grades(client: Any, db: Any, mint: Any,
                                                                       new_tenant: Any) -> None:
    # The demo's own seeding steps on a tenant of the test's: the demo tenant itself (its OAuth
    # clients are unique across tenants) is made once per database, by the customers' test.
    from sqlalchemy import select

    from app import demo
    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.tenants.models import Tenant

    slug = await new_tenant("iademo")
    actor = Actor(kind="operator", id="operator@test")
    async with db.platform_transaction() as session:
        session.info["actor"] = actor
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        owner = await create_account(session, tenant_id=tenant_id, kind=AccountKind.owner, username="owner",
                                     display_name="Owner", password=None, scopes=["owner:self"])
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = actor
        await demo._seed_tree(session)
        await demo._seed_customers(session, owner.id)
        await demo._seed_relations(session)
    auth = {"Authorization": f"Bearer {mint(tenant=slug)}"}
    [visit] = (await ok(await client.get(f"{API}/visits", headers=auth), 200))["items"]
    assert visit["status"] == "planned"  # the visiting domain applies for it, after this seeding step
    [call] = (await ok(await client.get(f"{API}/calls", headers=auth), 200))["items"]
    assert call["outcome"] == "callback"
    [plan] = (await ok(await client.get(f"{API}/gift-plans", headers=auth), 200))["items"]
    assert plan["budget"] == "37600.00"
    [survey] = (await ok(await client.get("/api/v1/surveys/plans", headers=auth), 200))["items"]
    detail = await ok(await client.get(f"/api/v1/surveys/plans/{survey['id']}", headers=auth), 200)
    assert detail["targets"]["total"] == 2 and detail["targets"]["completed"] == 1
    stats = await ok(await client.get("/api/v1/surveys/statistics", headers=auth), 200)
    assert [r["scores"]["overall"] for r in stats["rows"]] == ["4.00"]
    grades = await ok(await client.get("/api/v1/grading/grades", headers=auth), 200)
    assert grades["total"] == 5
