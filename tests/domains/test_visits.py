"""Visits to the letter of seed 000 §21–22, over the API as the group's people act.

§22: the customer relations specialist (a salesperson) plans a visit and applies for it; the
customer relations supervisor decides within their authority and refers it on to the customer
service manager beyond it; a rejected application is revised and applied for again; only an
approved visit is made; the report's expenses are reimbursed by finance, once.

§21: the specialist lays out the area's routes with their frequency (the grade's unless the
route sets one), plans the region's visits for a month, reads the plan against the visits
made and closes it with the written summary; the key customers (an account manager, grade A
or B) are listed with the day their next visit is due.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.core.audit import tenant_audit
from tests.domains.customers_helpers import PROBLEM, World, create, make_world, ok, person
from tests.domains.test_approvals import as_, make_account
from tests.domains.test_interactions import trail
from tests.domains.visits_helpers import approve_visit, supervisor
from tests.grants import grant

API = "/api/v1/interactions"
PLANNING = "/api/v1/visiting"


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=2, prefix="vi")


async def staff(db: Any, mint: Any, world: World, permissions: list[str]) -> dict[str, str]:
    """Someone of the branch holding ``permissions`` there."""
    subject = str(uuid.uuid4())
    await grant(db, world.slug, subject, permissions, uuid.UUID(world.branch["id"]))
    return {"Authorization": f"Bearer {mint(tenant=world.slug, subject=subject)}"}


async def move(client: Any, who: dict[str, str], url: str, action: str, body: dict[str, Any]) -> Any:
    etag = (await client.get(url, headers=who)).headers["etag"]
    return await client.post(f"{url}/{action}", headers={**who, "If-Match": etag}, json=body)


async def test_a_visit_applied_for_approved_made_reported_and_reimbursed(client: Any, db: Any, mint: Any,
                                                                         world: World) -> None:
    specialist = await staff(db, mint, world, ["interactions.read", "interactions.write"])
    cr_supervisor = await supervisor(db, mint, world)
    manager = await supervisor(db, mint, world, "cs_manager")
    customer = await create(client, world, person(name="陈业主", nodeId=world.project["id"]))

    planned = await client.post(f"{API}/visits", headers=specialist, json={
        "customerId": customer["id"], "purpose": "交付前拜访，了解装修需求", "plannedAt": "2026-06-10T10:00:00+08:00",
        "location": "客户家中"})
    visit = await ok(planned)
    url = planned.headers["location"]
    assert visit["status"] == "planned" and visit["approvalRequestId"] is None
    early = await move(client, specialist, url, "record", {})
    assert early.status_code == 409 and early.json()["type"] == PROBLEM + "conflict"
    assert f"visit {visit['number']} is planned" in early.json()["detail"]

    # ② the visit application, to the customer relations supervisor.
    applied = await ok(await move(client, specialist, url, "apply", {"note": "客户约定周三上午"}), 200)
    assert applied["status"] == "pending"
    request_url = f"/api/v1/approvals/requests/{applied['approvalRequestId']}"
    request = await ok(await client.get(request_url, headers=world.admin), 200)
    assert request["type"] == "visit_application" and request["subjectId"] == visit["id"]
    assert [(s["role"], s["when"]) for s in request["rounds"][0]["steps"]] == [
        ("cr_supervisor", None), ("cs_manager", "referred")]
    assert request["payload"]["customer"] == "陈业主" and request["payload"]["location"] == "客户家中"
    pending = await move(client, specialist, url, "record", {})
    assert pending.status_code == 409 and "is pending" in pending.json()["detail"]
    assert (await move(client, specialist, url, "apply", {})).status_code == 409

    # Rejected: revised and applied for again (the next round of the same request).
    await ok(await client.post(f"{request_url}/reject", headers=cr_supervisor,
                               json={"comment": "时间与交付检查冲突，请改期"}), 200)
    assert (await ok(await client.get(url, headers=specialist), 200))["status"] == "rejected"
    rejected = await move(client, specialist, url, "record", {})
    assert rejected.status_code == 409 and "is rejected" in rejected.json()["detail"]
    revised = await ok(await client.patch(url, headers={**specialist, "If-Match": (
        await client.get(url, headers=specialist)).headers["etag"]}, json={"plannedAt": "2026-06-12T10:00:00+08:00"}),
                       200)
    assert revised["status"] == "rejected" and revised["plannedAt"].startswith("2026-06-12")
    again = await ok(await move(client, specialist, url, "apply", {"note": "已改期至周五"}), 200)
    assert again["status"] == "pending" and again["approvalRequestId"] == applied["approvalRequestId"]

    # Beyond the supervisor's authority (权限内): referred on to the customer service manager.
    await ok(await client.post(f"{request_url}/approve", headers=cr_supervisor, json={"refer": True}), 200)
    assert (await ok(await client.get(url, headers=specialist), 200))["status"] == "pending"
    await ok(await client.post(f"{request_url}/approve", headers=manager, json={}), 200)
    approved = await ok(await client.get(url, headers=specialist), 200)
    assert approved["status"] == "approved"
    assert (await ok(await client.get(f"{API}/visits", headers=specialist,
                                      params={"status": "approved", "customerId": customer["id"]}), 200))[
        "total"] == 1

    # ④–⑧ the visit; ⑨ the report with its expenses.
    made = await ok(await move(client, specialist, url, "record", {
        "visitedAt": "2026-06-12T10:20:00+08:00", "gifts": [{"item": "品牌台历", "quantity": 1, "unitValue": "58.00"}],
        "nextAppointmentAt": "2026-07-12T10:00:00+08:00", "notes": "客户关心车位"}), 200)
    assert made["status"] == "visited" and made["followUpId"]
    follow = await ok(await client.get(f"{API}/visits/{made['followUpId']}", headers=specialist), 200)
    assert follow["status"] == "planned" and follow["approvalRequestId"] is None  # applied for in its turn

    finance = await staff(db, mint, world, ["interactions.read", "interactions.reimburse"])
    unreported = await move(client, finance, url, "reimburse", {})
    assert unreported.status_code == 409 and "is visited" in unreported.json()["detail"]
    reported = await ok(await move(client, specialist, url, "report", {
        "report": "客户计划七月装修，想了解车位。", "expenses": {"transport": "36.50", "gifts": "58.00"}}), 200)
    assert reported["status"] == "reported" and reported["expenses"]["total"] == "94.50"
    assert reported["reimbursedAt"] is None

    # ⑩ finance reimburses: its own permission, once.
    assert (await move(client, specialist, url, "reimburse", {})).status_code == 403
    paid = await ok(await move(client, finance, url, "reimburse", {"note": "报销单 BX-0612"}), 200)
    assert paid["reimbursedAmount"] == "94.50" and paid["reimbursedAt"] and paid["reimbursedBy"]
    twice = await move(client, finance, url, "reimburse", {})
    assert twice.status_code == 409 and "is reimbursed" in twice.json()["detail"]
    assert [r.action for r in await trail(db, world.slug, visit["id"])] == [
        "interactions.visit.plan", "interactions.visit.apply", "interactions.visit.update",
        "interactions.visit.apply", "interactions.visit.record", "interactions.visit.report",
        "interactions.visit.reimburse"]

    # A pending application is withdrawn before its visit is cancelled.
    pending_follow = await ok(await move(client, specialist, f"{API}/visits/{follow['id']}", "apply", {}), 200)
    refused = await move(client, specialist, f"{API}/visits/{follow['id']}", "cancel", {"reason": "客户出差"})
    assert refused.status_code == 409 and "withdraw" in refused.json()["detail"]
    assert pending_follow["status"] == "pending"


async def test_a_prospect_at_the_group_is_placed_before_a_visit_is_applied_for(client: Any, db: Any, mint: Any,
                                                                                world: World) -> None:
    prospect = await create(client, world, person(name="潜在客户"))  # at the group: no branch's chain
    planned = await client.post(f"{API}/visits", headers=world.admin, json={
        "customerId": prospect["id"], "purpose": "首次拜访", "plannedAt": "2026-06-10T10:00:00+08:00"})
    refused = await move(client, world.admin, planned.headers["location"], "apply", {})
    assert refused.status_code == 409 and "not under any branch" in refused.json()["detail"]


async def test_areas_routes_the_regional_plan_its_summary_and_key_customers(client: Any, db: Any, mint: Any,
                                                                            world: World) -> None:
    from tests.domains.test_grading import grade_all

    specialist = await staff(db, mint, world, ["interactions.read", "interactions.write"])
    approver = await supervisor(db, mint, world)
    near = await create(client, world, person(name="近郊业主", nodeId=world.project["id"]))
    far = await create(client, world, person(name="远郊业主", nodeId=world.project["id"]))
    elsewhere = await create(client, world, person(name="集团客户"))  # at the group, outside the area
    await grade_all(db, world.slug)

    body = {"nodeId": world.project["id"], "name": "滨海片区", "transport": "地铁2号线，步行10分钟",
            "routes": [{"name": "一号线路", "customerIds": [near["id"]]},
                       {"name": "二号线路", "customerIds": [far["id"]], "everyDays": 7}]}
    building = await client.post(f"{PLANNING}/areas", headers=specialist,
                                 json={**body, "nodeId": world.building["id"]})
    assert building.status_code == 422 and building.json()["errors"][0]["field"] == "nodeId"
    outside = await client.post(f"{PLANNING}/areas", headers=world.admin, json={
        **body, "routes": [{"name": "x", "customerIds": [elsewhere["id"]]}]})
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "routes.0.customerIds.0"
    created = await client.post(f"{PLANNING}/areas", headers=specialist, json=body)
    area = await ok(created)
    near_grade = (await ok(await client.get(f"/api/v1/grading/customers/{near['id']}", headers=world.admin),
                           200))["grade"]
    # The first route's frequency is the customer's grade's (grading's visitDays), the second's its own.
    assert area["routes"][0]["stops"][0]["everyDays"] == near_grade["visitEveryDays"]
    assert area["routes"][1]["stops"] == [{"customerId": far["id"], "grade": far_grade(area), "everyDays": 7}]

    created_plan = await client.post(f"{PLANNING}/plans", headers=specialist, json={
        "areaId": area["id"], "title": "2026年6月滨海片区拜访计划", "startsOn": "2026-06-01", "endsOn": "2026-06-30"})
    plan = await ok(created_plan)
    backwards = await client.post(f"{PLANNING}/plans", headers=specialist, json={
        "areaId": area["id"], "title": "x", "startsOn": "2026-06-30", "endsOn": "2026-06-01"})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "endsOn"

    # The specialist visits the far customer once in June and plans a second visit.
    made = await client.post(f"{API}/visits", headers=specialist, json={
        "customerId": far["id"], "purpose": "六月例行拜访", "plannedAt": "2026-06-05T10:00:00+08:00"})
    await approve_visit(client, world, made.headers["location"], approver)
    await ok(await move(client, specialist, made.headers["location"], "record",
                        {"visitedAt": "2026-06-05T10:30:00+08:00"}), 200)
    await ok(await client.post(f"{API}/visits", headers=specialist, json={
        "customerId": far["id"], "purpose": "六月第二次拜访", "plannedAt": "2026-06-19T10:00:00+08:00"}))
    await ok(await client.post(f"{API}/visits", headers=specialist, json={  # July: outside the period
        "customerId": far["id"], "purpose": "七月拜访", "plannedAt": "2026-07-03T10:00:00+08:00"}))

    summary = await ok(await client.get(f"{created_plan.headers['location']}/summary", headers=specialist), 200)
    lines = {line["customerId"]: line for line in summary["lines"]}
    assert lines[far["id"]] == {"routeId": area["routes"][1]["id"], "route": "二号线路", "customerId": far["id"],
                                "everyDays": 7, "due": 5, "planned": 1, "done": 1}  # 30 days / 7, rounded up
    near_every = near_grade["visitEveryDays"]
    near_due = -(-30 // near_every) if near_every else 0
    assert lines[near["id"]]["due"] == near_due and lines[near["id"]]["done"] == 0
    assert summary["totals"]["due"] == 5 + near_due and summary["totals"]["done"] == 1
    assert summary["totals"]["planned"] == 1

    # ⑦ the written summary closes the plan; its figures stay in the audit record.
    plan_url = created_plan.headers["location"]
    closed = await ok(await move(client, specialist, plan_url, "close", {
        "summary": "六月完成1次拜访，近郊业主未拜访，七月补上。"}), 200)
    assert closed["status"] == "closed" and closed["summary"].startswith("六月完成")
    late = await client.patch(plan_url, headers={**specialist, "If-Match": f'"{closed["version"]}"'},
                              json={"title": "改名"})
    assert late.status_code == 409
    async with db.tenant_session(f"t_{world.slug}") as session:
        record = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.action == "visiting.plan.close", tenant_audit.c.entity_id == plan["id"]))).one()
    assert record.after["figures"]["done"] == 1

    # ⑧ key customers: the near customer gets an account manager.
    account_manager = await make_account(db, world.org, "account_manager")
    grade_url = f"/api/v1/grading/customers/{near['id']}/account-manager"
    etag = (await client.get(f"/api/v1/grading/customers/{near['id']}", headers=world.admin)).headers["etag"]
    await ok(await client.put(grade_url, headers={**world.admin, "If-Match": etag},
                              json={"accountId": account_manager}), 200)
    keys = await ok(await client.get(f"{PLANNING}/key-customers", headers=specialist,
                                     params={"nodeId": world.project["id"]}), 200)
    by_id = {k["id"]: k for k in keys["items"]}
    assert near["id"] in by_id and by_id[near["id"]]["accountManagerId"] == account_manager
    assert by_id[near["id"]]["everyDays"] == near_grade["visitEveryDays"]
    assert by_id[near["id"]]["lastVisitedAt"] is None
    if far_grade(area) not in ("A", "B"):
        assert far["id"] not in by_id
    outsider = as_(mint, world.org, await make_account(db, world.org, "outsider"))
    assert (await ok(await client.get(f"{PLANNING}/key-customers", headers=outsider), 200))["total"] == 0


def far_grade(area: dict[str, Any]) -> str | None:
    grade: str | None = area["routes"][1]["stops"][0]["grade"]
    return grade


async def test_the_demo_tenant_has_its_area_plan_and_a_visit_under_application(client: Any, mint: Any,
                                                                                demo: Any) -> None:
    from tests.conftest import bearer

    staff = bearer(mint(tenant=demo.slug))
    [area] = (await ok(await client.get(f"{PLANNING}/areas", headers=staff), 200))["items"]
    detail = await ok(await client.get(f"{PLANNING}/areas/{area['id']}", headers=staff), 200)
    assert detail["routes"] and detail["routes"][0]["stops"]
    [plan] = (await ok(await client.get(f"{PLANNING}/plans", headers=staff), 200))["items"]
    assert plan["status"] == "open" and plan["areaId"] == area["id"]
    summary = await ok(await client.get(f"{PLANNING}/plans/{plan['id']}/summary", headers=staff), 200)
    assert len(summary["lines"]) == len(detail["routes"][0]["stops"])
    [visit] = (await ok(await client.get(f"{API}/visits", headers=staff), 200))["items"]
    assert visit["status"] == "pending"  # its application with the customer relations supervisor
