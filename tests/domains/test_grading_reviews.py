"""The grade summary table over the API (account manager, score, coefficient, monthly sales,
credit fulfilment rate, grade, limit, value tier; filters and sorts computed in SQL, inside
the caller's subtree), account managers, and credit reviews: an abnormality investigated,
a serious one lowering the grade through its approval chain, registered in the grade
history, holding through later computations, and told to the customer through the outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.audit import SYSTEM, tenant_audit
from tests.conftest import subject_of
from tests.domains.customers_helpers import World, create, make_world, ok, person
from tests.domains.test_approvals import make_account
from tests.domains.test_grading import deciders, grade_all, use_rfm
from tests.grants import grant

API = "/api/v1/grading"
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        world = await make_world(c, db, new_tenant, mint, units=12, prefix="grr")
        await use_rfm(c, world)
        return world


def _day(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()


def _deal(world: World, unit: int, amount: str, **dates: int) -> dict[str, Any]:
    """A deal on unit ``unit`` of the world: a contract unless only ``subscribed`` is given."""
    body: dict[str, Any] = {"unitId": world.units[unit]["id"], "amount": amount,
                            "stage": "contract" if "contracted" in dates else "subscription"}
    if "subscribed" in dates:
        body["subscribedOn"] = _day(dates["subscribed"])
    if "contracted" in dates:
        body["contractedOn"] = _day(dates["contracted"])
    return body


async def _rows(client: Any, world: World, **params: Any) -> dict[str, dict[str, Any]]:
    table = await ok(await client.get(f"{API}/grades", headers=world.admin, params={"limit": 200, **params}), 200)
    return {r["id"]: r for r in table["items"]}


async def test_the_grade_summary_table(client: Any, db: Any, mint: Any, world: World) -> None:
    # Signed in time (10 days after subscribing), one subscription overdue for its contract,
    # one still within its signing days: half of the two that fell due were kept.
    buyer = await create(client, world, person(name="按时签约业主", units=[
        _deal(world, 0, "2400000.00", subscribed=110, contracted=100),
        _deal(world, 1, "1200000.00", subscribed=200),
        _deal(world, 2, "600000.00", subscribed=5)]))
    old = await create(client, world, person(name="老业主", units=[_deal(world, 3, "900000.00", contracted=1000)]))
    prospect = await create(client, world, person(name="意向客户"))
    await grade_all(db, world.slug)
    rules = (await ok(await client.get(f"{API}/rules", headers=world.admin), 200))["rules"]

    rows = await _rows(client, world)
    b, o, p = rows[buyer["id"]], rows[old["id"]], rows[prospect["id"]]
    # 4.2M of deals in the 24-month window: 175,000.00 a month; the old deal is outside it.
    assert b["monthlySales"] == "175000.00" and o["monthlySales"] == "0.00" and p["monthlySales"] == "0.00"
    assert b["fulfilmentRate"] == "50.00" and o["fulfilmentRate"] == "100.00" and p["fulfilmentRate"] is None
    for row in (b, o, p):
        coefficient = Decimal(rules["coefficients"][row["grade"]]).quantize(CENT)
        assert Decimal(row["coefficient"]) == coefficient
        assert Decimal(row["suggestedLimit"]) == (Decimal(row["monthlySales"]) * coefficient).quantize(CENT)
        assert row["creditLimit"] is None and row["accountManagerId"] is None
    assert b["tier"] == rules["tiers"][b["grade"]] and o["tier"] == rules["tiers"][o["grade"]]
    assert p["tier"] == "potential" and p["treatment"].startswith("Promotions")
    detail = await ok(await client.get(f"{API}/customers/{buyer['id']}", headers=world.admin), 200)
    assert detail["grade"]["monthlySales"] == "175000.00" and detail["grade"]["tier"] == b["tier"]

    # Filters and sorts, in SQL.
    assert set(await _rows(client, world, tier="potential")) >= {prospect["id"]}
    assert buyer["id"] not in await _rows(client, world, tier="potential")
    ordered = (await ok(await client.get(f"{API}/grades", headers=world.admin,
                                         params={"limit": 200, "sort": "-monthlySales"}), 200))["items"]
    assert [r["id"] for r in ordered].index(buyer["id"]) < [r["id"] for r in ordered].index(old["id"])
    by_rate = [r["fulfilmentRate"] for r in (await ok(await client.get(
        f"{API}/grades", headers=world.admin, params={"limit": 200, "sort": "fulfilmentRate"}), 200))["items"]]
    rated = [Decimal(v) for v in by_rate if v is not None]
    assert rated == sorted(rated)
    assert (await client.get(f"{API}/grades", headers=world.admin, params={"sort": "monetary"})).status_code == 422

    # The approved credit limit beside the suggested one, sortable.
    sales_manager, vp, gm, group_gm = await deciders(db, mint, world, [
        ("sales_admin_manager", world.org.branch), ("sales_vp", world.org.root), ("sales_gm", world.org.root),
        ("group_gm", world.org.root)])
    change = await ok(await client.post(f"{API}/customers/{old['id']}/credit-changes", headers=world.admin,
                                        json={"requestedLimit": "300000", "reason": "年度授信"}))
    for who in (sales_manager, vp, gm, group_gm):
        await ok(await client.post(f"/api/v1/approvals/requests/{change['approvalRequestId']}/approve",
                                   headers=who, json={}), 200)
    first = (await ok(await client.get(f"{API}/grades", headers=world.admin,
                                       params={"sort": "-creditLimit,customerNumber", "limit": 1}), 200))["items"]
    assert first[0]["id"] == old["id"] and first[0]["creditLimit"] == "300000.00"

    # New coefficients and tiers apply at the next computation.
    current = await client.get(f"{API}/rules", headers=world.admin)
    changed = {**current.json()["rules"], "coefficients": {"A": "2", "B": "2", "C": "2", "D": "2", "E": "2"},
               "tiers": {g: "mid" for g in "ABCDE"}}
    await ok(await client.put(f"{API}/rules", headers={**world.admin, "If-Match": current.headers["etag"]},
                              json=changed), 200)
    await grade_all(db, world.slug)
    b = (await _rows(client, world))[buyer["id"]]
    assert b["coefficient"] == "2.00" and b["suggestedLimit"] == "350000.00" and b["tier"] == "mid"
    restored = await client.get(f"{API}/rules", headers=world.admin)
    await ok(await client.put(f"{API}/rules", headers={**world.admin, "If-Match": restored.headers["etag"]},
                              json=rules), 200)

    # Within the caller's subtree only.
    other = await ok(await client.post("/api/v1/org/branches", headers=world.admin,
                                       json={"code": f"GRO{uuid.uuid4().hex[:6]}", "name": "另一分公司"}))
    elsewhere = str(uuid.uuid4())
    await grant(db, world.slug, elsewhere, ["grading.read"], uuid.UUID(other["id"]))
    seen = await ok(await client.get(f"{API}/grades", headers={
        "Authorization": f"Bearer {mint(tenant=world.slug, subject=elsewhere)}"}), 200)
    assert seen["total"] == 0 and seen["items"] == []


async def test_bands_must_fall_from_a_to_d(client: Any, world: World) -> None:
    got = await client.get(f"{API}/rules", headers=world.admin)
    rules = got.json()["rules"]
    for bands in ({"A": "60", "B": "80", "C": "70", "D": "50"}, {"A": "90", "B": "80", "C": "80", "D": "60"}):
        refused = await client.put(f"{API}/rules", headers={**world.admin, "If-Match": got.headers["etag"]},
                                   json={**rules, "bands": bands})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "bands", refused.text
    bad_tier = await client.put(f"{API}/rules", headers={**world.admin, "If-Match": got.headers["etag"]},
                                json={**rules, "tiers": {**rules["tiers"], "A": "potential"}})
    assert bad_tier.status_code == 422 and bad_tier.json()["errors"][0]["field"] == "tiers.A"


async def test_account_managers(client: Any, db: Any, mint: Any, world: World) -> None:
    customer = await create(client, world, person(units=[_deal(world, 4, "3000000.00", contracted=20)]))
    url = f"{API}/customers/{customer['id']}/account-manager"
    manager = await make_account(db, world.org, "account_manager")
    ungraded = await client.put(url, headers={**world.admin, "If-Match": '"0"'}, json={"accountId": manager})
    assert ungraded.status_code == 409 and "recompute" in ungraded.json()["detail"]
    await grade_all(db, world.slug)
    got = await client.get(f"{API}/customers/{customer['id']}", headers=world.admin)
    assert (await client.put(url, headers=world.admin, json={"accountId": manager})).status_code == 428
    unknown = await client.put(url, headers={**world.admin, "If-Match": got.headers["etag"]},
                               json={"accountId": str(uuid.uuid4())})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "accountId"
    set_ = await client.put(url, headers={**world.admin, "If-Match": got.headers["etag"]},
                            json={"accountId": manager, "reason": "高价值客户专属客户经理"})
    assert set_.status_code == 200 and set_.json()["accountManagerId"] == manager
    assert set_.headers["etag"] != got.headers["etag"]
    stale = await client.put(url, headers={**world.admin, "If-Match": got.headers["etag"]}, json={"accountId": None})
    assert stale.status_code == 412
    async with db.tenant_session(f"t_{world.slug}") as session:
        [record] = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.action == "grading.account_manager.set", tenant_audit.c.entity_id == customer["id"]))).all()
    assert record.after == {"accountManagerId": manager} and record.reason == "高价值客户专属客户经理"

    # A computation keeps the assignment; the table filters by it.
    await grade_all(db, world.slug)
    assert (await _rows(client, world, accountManagerId=manager)).keys() == {customer["id"]}
    assert customer["id"] not in await _rows(client, world, hasAccountManager="false")
    assert customer["id"] in await _rows(client, world, hasAccountManager="true")

    reader = str(uuid.uuid4())
    await grant(db, world.slug, reader, ["grading.read"])
    as_reader = {"Authorization": f"Bearer {mint(tenant=world.slug, subject=reader)}"}
    refused = await client.put(url, headers={**as_reader, "If-Match": set_.headers["etag"]}, json={"accountId": None})
    assert refused.status_code == 403


async def _grade_of(client: Any, world: World, customer: dict[str, Any]) -> dict[str, Any]:
    return (await ok(await client.get(f"{API}/customers/{customer['id']}", headers=world.admin), 200))["grade"]


async def _review(client: Any, world: World, customer: dict[str, Any], what: str) -> tuple[dict[str, Any], str]:
    opened = await client.post(f"{API}/credit-reviews", headers=world.admin,
                               json={"customerId": customer["id"], "abnormality": what})
    return await ok(opened), opened.headers["location"]


async def _conclude(client: Any, world: World, location: str, conclusion: dict[str, Any]) -> Any:
    etag = (await client.get(location, headers=world.admin)).headers["etag"]
    return await client.post(f"{location}/conclude", headers={**world.admin, "If-Match": etag},
                             json={"conclusion": conclusion})


async def test_a_serious_abnormality_lowers_the_grade_and_the_customer_is_told(
        client: Any, db: Any, mint: Any, world: World) -> None:
    from app.auth.models import OutboxMessage

    info_supervisor, service_manager = await deciders(db, mint, world, [("customer_info_supervisor", world.org.branch),
                                                          ("cs_manager", world.org.branch)])
    # A fresh 5M deal: R 5, F 2, M 5 → 79.17, grade C by the default rules.
    customer = await create(client, world, person(name="信用异常业主", email="credit.review@example.com",
                                                  units=[_deal(world, 5, "5000000.00", contracted=1)]))
    await grade_all(db, world.slug)
    assert (await _grade_of(client, world, customer))["grade"] == "C"

    review, location = await _review(client, world, customer, "认购后逾期90天未签约，定金未补足")
    assert review["number"].startswith("YC-") and review["status"] == "investigating"
    assert review["nodeId"] == world.project["id"]
    assert (await client.post(f"{location}/conclude", headers=world.admin, json={"conclusion": {
        "kind": "not_serious", "findings": "x"}})).status_code == 428
    for grade in ("A", "C"):
        higher = await _conclude(client, world, location, {"kind": "serious", "findings": "x", "grade": grade})
        assert higher.status_code == 409 and higher.json()["errors"][0]["field"] == "conclusion.grade"
    submitted = await ok(await _conclude(client, world, location, {
        "kind": "serious", "findings": "核实属实：客户资金链紧张", "grade": "E", "holdsMonths": 6}), 200)
    assert submitted["status"] == "pending" and submitted["grade"] == "E" and submitted["previousGrade"] == "C"
    assert submitted["holdsUntil"] > _day(-170)
    request = await ok(await client.get(f"/api/v1/approvals/requests/{submitted['approvalRequestId']}",
                                        headers=world.admin), 200)
    assert request["type"] == "credit_grade_change" and request["payload"]["grade"] == "E"
    # Seed 000 §20: the customer-information supervisor and the customer service manager decide.
    assert [s["name"] for s in request["rounds"][0]["steps"]] == ["Customer information supervisor",
                                                                  "Customer service department manager"]
    assert (await _conclude(client, world, location, {"kind": "not_serious", "findings": "x"})).status_code == 409

    await ok(await client.post(f"/api/v1/approvals/requests/{submitted['approvalRequestId']}/approve",
                               headers=info_supervisor, json={}), 200)
    assert (await _grade_of(client, world, customer))["grade"] == "C"  # not before the last approval
    await ok(await client.post(f"/api/v1/approvals/requests/{submitted['approvalRequestId']}/approve",
                               headers=service_manager, json={}), 200)

    applied = await ok(await client.get(location, headers=world.admin), 200)
    assert applied["status"] == "approved" and applied["appliedAt"] and applied["notifiedVia"] == "email"
    grade = await _grade_of(client, world, customer)
    assert grade["grade"] == "E" and grade["reviewId"] == review["id"] and grade["tier"] == "low"
    history = (await ok(await client.get(f"{API}/customers/{customer['id']}/history", headers=world.admin),
                        200))["items"]
    assert (history[0]["grade"], history[0]["previousGrade"], history[0]["reviewId"]) == ("E", "C", review["id"])
    async with db.tenant_session(f"t_{world.slug}") as session:
        [record] = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.action == "grading.credit_grade.set", tenant_audit.c.entity_id == customer["id"]))).all()
    assert record.actor_id == subject_of(service_manager) and record.after["grade"] == "E"
    async with db.platform_session() as session:
        [message] = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.data["reviewId"].astext == review["id"]))).all()
    assert message.channel == "email" and message.recipient == "credit.review@example.com"
    assert "E" in message.body and message.data["holdsUntil"] == applied["holdsUntil"]

    # The grade holds through later computations, with no change recorded again.
    await grade_all(db, world.slug)
    assert (await _grade_of(client, world, customer))["grade"] == "E"
    again = await ok(await client.get(f"{API}/customers/{customer['id']}/history", headers=world.admin), 200)
    assert again["total"] == len(history)
    listed = await ok(await client.get(f"{API}/credit-reviews", headers=world.admin,
                                       params={"customerId": customer["id"], "status": "approved"}), 200)
    assert [r["id"] for r in listed["items"]] == [review["id"]]


async def test_a_review_dismissed_or_concluded_again(client: Any, db: Any, mint: Any, world: World) -> None:
    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor

    info_supervisor, service_manager = await deciders(db, mint, world, [("customer_info_supervisor", world.org.branch),
                                                          ("cs_manager", world.org.branch)])
    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        owner = await create_account(session, tenant_id=world.org.tenant_id, kind=AccountKind.owner,
                                     username=f"owner-{uuid.uuid4().hex[:8]}", display_name="业主", password=None,
                                     scopes=["owner:self"])
    customer = await create(client, world, person(accountId=str(owner.id),
                                                  units=[_deal(world, 6, "5000000.00", contracted=1)]))
    await grade_all(db, world.slug)

    review, location = await _review(client, world, customer, "银行反馈月供逾期一期")
    dismissed = await ok(await _conclude(client, world, location, {
        "kind": "not_serious", "findings": "系银行扣款失败，客户已补缴"}), 200)
    assert dismissed["status"] == "dismissed" and dismissed["approvalRequestId"] is None
    assert (await _conclude(client, world, location, {"kind": "not_serious", "findings": "x"})).status_code == 409
    assert (await _grade_of(client, world, customer))["grade"] == "C"

    # Rejected, then concluded again: a new request.
    review, location = await _review(client, world, customer, "连续三期月供逾期")
    first = await ok(await _conclude(client, world, location, {"kind": "serious", "findings": "属实",
                                                               "grade": "D"}), 200)
    await ok(await client.post(f"/api/v1/approvals/requests/{first['approvalRequestId']}/reject",
                               headers=info_supervisor, json={"comment": "证据不足"}), 200)
    assert (await ok(await client.get(location, headers=world.admin), 200))["status"] == "rejected"
    second = await ok(await _conclude(client, world, location, {"kind": "serious", "findings": "补充银行流水",
                                                                "grade": "E"}), 200)
    assert second["status"] == "pending" and second["approvalRequestId"] != first["approvalRequestId"]
    assert (await _grade_of(client, world, customer))["grade"] == "C"
    for who in (info_supervisor, service_manager):
        await ok(await client.post(f"/api/v1/approvals/requests/{second['approvalRequestId']}/approve",
                                   headers=who, json={}), 200)
    done = await ok(await client.get(location, headers=world.admin), 200)
    assert done["status"] == "approved" and done["notifiedVia"] == "inbox"
    assert (await _grade_of(client, world, customer))["grade"] == "E"

    unknown = await client.post(f"{API}/credit-reviews", headers=world.admin,
                                json={"customerId": str(uuid.uuid4()), "abnormality": "x"})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "customerId"
    reader = str(uuid.uuid4())
    await grant(db, world.slug, reader, ["grading.read", "customers.read"])
    as_reader = {"Authorization": f"Bearer {mint(tenant=world.slug, subject=reader)}"}
    assert (await client.post(f"{API}/credit-reviews", headers=as_reader, json={
        "customerId": customer["id"], "abnormality": "x"})).status_code == 403


async def test_an_approved_credit_change_applies_once(client: Any, db: Any, mint: Any, world: World) -> None:
    from app.domains.approvals.models import ApprovalRequest
    from app.domains.grading import services

    sales_manager, vp, gm, group_gm = await deciders(db, mint, world, [
        ("sales_admin_manager", world.org.branch), ("sales_vp", world.org.root), ("sales_gm", world.org.root),
        ("group_gm", world.org.root)])
    customer = await create(client, world, person(units=[_deal(world, 7, "800000.00", contracted=30)]))
    pending = await ok(await client.post(f"{API}/customers/{customer['id']}/credit-changes", headers=world.admin,
                                         json={"requestedLimit": "200000", "reason": "调整申请"}))

    for who in (sales_manager, vp, gm, group_gm):
        await ok(await client.post(f"/api/v1/approvals/requests/{pending['approvalRequestId']}/approve",
                                   headers=who, json={}), 200)
    # Called back twice (a redelivered callback), the change applies once.
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        session.info["actor"] = SYSTEM
        request = await session.get(ApprovalRequest, uuid.UUID(pending["approvalRequestId"]))
        await services._on_credit_approved(session, request)
    async with db.tenant_session(f"t_{world.slug}") as session:
        applied = await session.scalar(select(func.count()).select_from(tenant_audit).where(
            tenant_audit.c.action == "grading.credit_limit.set", tenant_audit.c.entity_id == customer["id"]))
    assert applied == 1
    view = await ok(await client.get(f"{API}/customers/{customer['id']}", headers=world.admin), 200)
    assert view["creditLimit"] == "200000.00"


async def test_return_visits_by_value_tier(client: Any, db: Any, world: World) -> None:
    prospect = await create(client, world, person(name="潜在客户", nodeId=world.project["id"]))
    owner = await create(client, world, person(name="中端业主", units=[_deal(world, 8, "100000.00", contracted=400)]))
    await grade_all(db, world.slug)
    plan = await ok(await client.post("/api/v1/surveys/plans", headers=world.admin, json={
        "nodeId": world.project["id"], "title": "潜在客户关怀", "method": "phone", "dueOn": _day(-30),
        "filters": {"tiers": ["potential"]}}))
    assert plan["filters"]["tiers"] == ["potential"]
    targets = await ok(await client.get("/api/v1/surveys/targets", headers=world.admin,
                                        params={"planId": plan["id"], "limit": 200}), 200)
    chosen = {t["customerId"] for t in targets["items"]}
    assert prospect["id"] in chosen and owner["id"] not in chosen


async def test_an_approval_during_a_computation_waits_for_it(client: Any, db: Any, mint: Any, world: World) -> None:
    import asyncio

    from app.domains.grading.services import recompute

    info_supervisor, service_manager = await deciders(db, mint, world, [("customer_info_supervisor", world.org.branch),
                                                          ("cs_manager", world.org.branch)])
    other = await create(client, world, person())
    await grade_all(db, world.slug)
    # Not graded yet: the computation below inserts their first grade (which checks the customer row).
    customer = await create(client, world, person(units=[_deal(world, 9, "5000000.00", contracted=1)]))
    review, location = await _review(client, world, customer, "担保人失联")
    submitted = await ok(await _conclude(client, world, location, {"kind": "serious", "findings": "属实",
                                                                   "grade": "D"}), 200)
    await ok(await client.post(f"/api/v1/approvals/requests/{submitted['approvalRequestId']}/approve",
                               headers=info_supervisor, json={}), 200)
    async with db.tenant_transaction(f"t_{world.slug}") as running:
        running.info["actor"] = SYSTEM
        await recompute(running, customer_id=uuid.UUID(other["id"]))  # holds the grading lock
        approval = asyncio.create_task(client.post(
            f"/api/v1/approvals/requests/{submitted['approvalRequestId']}/approve", headers=service_manager, json={}))
        await asyncio.sleep(0.5)
        assert not approval.done()  # waiting for the computation
        # The computation writes the customer's grade meanwhile: the approval holds no lock on them.
        await recompute(running)
    answer = await approval
    assert answer.status_code == 200, answer.text
    assert (await _grade_of(client, world, customer))["grade"] == "D"
    history = (await ok(await client.get(f"{API}/customers/{customer['id']}/history", headers=world.admin),
                        200))["items"]
    assert [(h["grade"], h["reviewId"]) for h in history] == [("D", review["id"]), ("C", None)]


async def test_dates_at_the_calendars_ends_do_not_stop_the_computation(client: Any, db: Any, world: World) -> None:
    # 0001-01-01 and 9999-12-31 are stored as -infinity and infinity; a day near either end
    # has no date 30 days beyond it.
    late = await create(client, world, person(units=[{"unitId": world.units[10]["id"], "stage": "subscription",
                                                      "subscribedOn": "9999-12-20", "amount": "1.00"}]))
    edges = await create(client, world, person(units=[{"unitId": world.units[11]["id"], "stage": "contract",
                                                       "subscribedOn": "0001-01-01", "contractedOn": "9999-12-31"}]))
    await grade_all(db, world.slug)
    assert (await _grade_of(client, world, late))["fulfilmentRate"] is None  # not due yet
    assert (await _grade_of(client, world, edges))["fulfilmentRate"] == "100.00"
