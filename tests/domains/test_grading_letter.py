"""Grading to the letter of seed 002, over the API as the group's people act: customers graded
on their monthly average sales against the previous period and their on-time credit
fulfilment rate (the default rule); grade E from 50 to 60 and below it unrated, saying why;
what each grade gets, read by the inquiry and complaint queues (A first) and as the grade's
visit frequency; the grade summary table prepared (编制) and signed off through its chain:
checked (复核), reviewed (审核), approved (审批)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.core.audit import tenant_audit
from tests.conftest import subject_of
from tests.domains.customers_helpers import World, create, make_world, ok, person
from tests.domains.test_grading import deciders, grade_all

API = "/api/v1/grading"


def _day(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()


def _deals(world: World, first: int, now: str, *, subscribed: int, contracted: int | None) -> list[dict[str, Any]]:
    """A contract of 1,000,000 in the previous 24-month window (900 days ago), and one of
    ``now`` in this window: a contract when ``contracted`` is given, else a subscription."""
    current: dict[str, Any] = {"unitId": world.units[first + 1]["id"], "amount": now, "subscribedOn": _day(subscribed),
                               "stage": "contract" if contracted else "subscription"}
    if contracted:
        current["contractedOn"] = _day(contracted)
    return [{"unitId": world.units[first]["id"], "amount": "1000000.00", "stage": "contract",
             "contractedOn": _day(900)}, current]


@pytest.fixture(scope="module")
async def graded(app: Any, db: Any, new_tenant: Any, mint: Any) -> tuple[World, dict[str, dict[str, Any]]]:
    """Four customers of a project, graded by the default rules:

    - growing: 1.3M now against 1M before (130%: 100), signed in time (100%): 100, A;
    - steady: 1M against 1M (100%: 75), signed in time: 87.5, B;
    - slipping: 0.9M (90%: 50), the new contract signed 50 days after subscribing (50%): 50, E;
    - falling: a 0.6M subscription 60 days unsigned (60%: 0; 50%): 25, below the scale.
    """
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        world = await make_world(c, db, new_tenant, mint, units=8, prefix="grl")
        people = {
            "growing": _deals(world, 0, "1300000.00", subscribed=110, contracted=100),
            "steady": _deals(world, 2, "1000000.00", subscribed=110, contracted=100),
            "slipping": _deals(world, 4, "900000.00", subscribed=150, contracted=100),
            "falling": _deals(world, 6, "600000.00", subscribed=60, contracted=None),
        }
        customers = {key: await create(c, world, person(name=f"{key}业主", units=units))
                     for key, units in people.items()}
        await grade_all(db, world.slug)
        return world, customers


async def _grading(client: Any, world: World, customer: dict[str, Any]) -> dict[str, Any]:
    return (await ok(await client.get(f"{API}/customers/{customer['id']}", headers=world.admin), 200))["grade"]


async def test_grades_on_sales_against_the_previous_period_and_credit_fulfilment(
        client: Any, graded: tuple[World, dict[str, dict[str, Any]]]) -> None:
    world, customers = graded
    rules = (await ok(await client.get(f"{API}/rules", headers=world.admin), 200))["rules"]
    assert rules["method"] == "sales" and rules["bands"]["E"] == "50"
    growing = await _grading(client, world, customers["growing"])
    assert (growing["method"], growing["score"], growing["grade"], growing["standing"]) == ("sales", "100.00", "A",
                                                                                            "graded")
    assert growing["monthlySales"] == "54166.67" and growing["previousMonthlySales"] == "41666.67"
    assert growing["salesGrowth"] == "130.00" and growing["fulfilmentRate"] == "100.00"
    assert growing["policy"] == "VIP policy" and growing["priority"] == 1 and growing["visitEveryDays"] == 30
    steady = await _grading(client, world, customers["steady"])
    assert (steady["score"], steady["grade"], steady["policy"], steady["priority"]) == (
        "87.50", "B", "VIP-like service, without the VIP policy", 2)
    slipping = await _grading(client, world, customers["slipping"])
    assert (slipping["score"], slipping["grade"], slipping["fulfilmentRate"], slipping["standing"]) == (
        "50.00", "E", "50.00", "graded")
    assert slipping["visitEveryDays"] is None  # E: eliminate, no routine visits


async def test_below_grade_e_the_customer_is_unrated_and_told_why(
        client: Any, graded: tuple[World, dict[str, dict[str, Any]]]) -> None:
    world, customers = graded
    falling = await _grading(client, world, customers["falling"])
    assert (falling["score"], falling["grade"], falling["standing"]) == ("25.00", None, "unrated")
    assert "below 50" in falling["standingReason"] and falling["priority"] == 6
    assert falling["coefficient"] == "0.00" and falling["policy"].startswith("Outside the scale")
    unrated = await ok(await client.get(f"{API}/grades", headers=world.admin, params={"standing": "unrated"}), 200)
    assert [(r["id"], r["grade"]) for r in unrated["items"]] == [(customers["falling"]["id"], None)]
    only_e = await ok(await client.get(f"{API}/grades", headers=world.admin, params={"grade": "E"}), 200)
    assert [r["id"] for r in only_e["items"]] == [customers["slipping"]["id"]]


async def test_the_queues_serve_the_better_grades_first(
        client: Any, graded: tuple[World, dict[str, dict[str, Any]]]) -> None:
    world, customers = graded
    project = world.project["id"]
    order = ["falling", "slipping", "steady", "growing"]  # received worst first
    inquiries = [await ok(await client.post("/api/v1/inquiries", headers=world.admin, json={
        "channel": "hotline", "projectId": project, "customerId": customers[key]["id"], "subject": f"{key}咨询",
        "description": "交房时间", "promisedReplyAt": "2030-05-02T10:00:00+08:00", "contactNote": "业主本人"}))
        for key in order]
    queue = await ok(await client.get("/api/v1/inquiries", headers=world.admin,
                                      params={"projectId": project, "sort": "priority,promisedReplyAt"}), 200)
    assert [i["id"] for i in queue["items"]] == [i["id"] for i in reversed(inquiries)]
    categories = await ok(await client.get("/api/v1/complaints/categories", headers=world.admin,
                                           params={"limit": 200}), 200)
    category = categories["items"][0]["id"]
    complaints = [await ok(await client.post("/api/v1/complaints", headers=world.admin, json={
        "channel": "hotline", "projectId": project, "categoryId": category, "customerId": customers[key]["id"],
        "subject": f"{key}投诉", "description": "渗水", "contactNote": "业主本人"})) for key in order]
    queue = await ok(await client.get("/api/v1/complaints", headers=world.admin,
                                      params={"projectId": project, "sort": "priority,-receivedAt"}), 200)
    assert [c["id"] for c in queue["items"]] == [c["id"] for c in reversed(complaints)]


async def test_the_grade_summary_table_is_signed_off(
        client: Any, db: Any, mint: Any, graded: tuple[World, dict[str, dict[str, Any]]]) -> None:
    world, customers = graded
    root = world.org.root
    checker, reviewer, approver = await deciders(db, mint, world, [
        ("sales_admin_manager", root), ("sales_gm", root), ("group_gm", root)])
    prepared = await client.post(f"{API}/summaries", headers=world.admin,
                                 json={"title": "2026年12月客户等级管理汇总表"})
    summary = await ok(prepared)
    assert summary["number"].startswith("DJ-") and summary["status"] == "pending" and summary["signedAt"] is None
    assert summary["counts"] == {"A": 1, "B": 1, "C": 0, "D": 0, "E": 1, "unrated": 1}
    lines = {line["customerNumber"]: line for line in summary["lines"]}
    assert lines[customers["growing"]["number"]]["grade"] == "A"
    assert lines[customers["falling"]["number"]]["grade"] is None
    request = await ok(await client.get(f"/api/v1/approvals/requests/{summary['approvalRequestId']}",
                                        headers=world.admin), 200)
    assert request["type"] == "grade_summary"
    assert [s["name"] for s in request["rounds"][0]["steps"]] == [
        "Checked (复核): sales management manager", "Reviewed (审核): sales GM", "Approved (审批): group GM"]
    for who in (checker, reviewer):
        await ok(await client.post(f"/api/v1/approvals/requests/{summary['approvalRequestId']}/approve",
                                   headers=who, json={}), 200)
        mid = await ok(await client.get(prepared.headers["location"], headers=world.admin), 200)
        assert mid["status"] == "pending" and mid["signedAt"] is None
    await ok(await client.post(f"/api/v1/approvals/requests/{summary['approvalRequestId']}/approve",
                               headers=approver, json={}), 200)
    signed = await ok(await client.get(prepared.headers["location"], headers=world.admin), 200)
    assert signed["status"] == "approved" and signed["signedAt"] and signed["lines"] == summary["lines"]
    async with db.tenant_session(f"t_{world.slug}") as session:
        [record] = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.action == "grading.grade_summary.sign",
            tenant_audit.c.entity_id == summary["id"]))).all()
    assert record.actor_id == subject_of(approver)
    listed = await ok(await client.get(f"{API}/summaries", headers=world.admin, params={"status": "approved"}), 200)
    assert [s["id"] for s in listed["items"]] == [summary["id"]]
    nowhere = await client.post(f"{API}/summaries", headers=world.admin,
                                json={"title": "x", "nodeId": str(uuid.uuid4())})
    assert nowhere.status_code == 404
