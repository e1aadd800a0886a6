"""In-sale orders to the letter of seed 001 §3.2 (售中服务), over the API as the people of the
order flow (§3.2.2) act: sales receives a customer's parking-space order on a Friday afternoon;
it is due for confirmation two working hours later in the group's calendar (Monday 10:00); the
scan flags it at 10:00 and tells the order-processing centre and the receiver, once; the centre
confirms it, late, and the preparation and finance departments are told; sales posts progress,
which reaches the customer by mail, then by text message once they state that preference, and
not at all on an order whose customer declined updates; the delivery is inspected and the
customer's in-sale feedback recorded. The beat task runs the scan through the real worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.auth.models import OutboxMessage
from app.core import clock
from app.core.audit import SYSTEM
from app.domains.service import orders, tasks
from app.domains.service.models import SaleOrder
from tests.domains.customers_helpers import World, create, make_world, ok, person
from tests.domains.test_approvals import as_, assign, make_account
from tests.worker.conftest import Worker, wait_for

API = "/api/v1/orders"
SH = ZoneInfo("Asia/Shanghai")


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=SH)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _if(headers: dict[str, str], body: dict[str, Any]) -> dict[str, str]:
    return {**headers, "If-Match": f'"{body["version"]}"'}


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=4, prefix="so")


async def _people(db: Any, mint: Any, world: World) -> dict[str, tuple[str, dict[str, str]]]:
    org, cast = world.org, {}
    for role, node in (("order_sales", org.project), ("order_centre", org.branch),
                       ("order_preparation", org.branch), ("order_finance", org.root)):
        account = await make_account(db, org, role)
        await assign(db, org, account, role, node)
        cast[role] = (account, as_(mint, org, account))
    return cast


async def _scan(db: Any, slug: str) -> dict[str, int]:
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        return await orders.scan(session)


async def _messages(db: Any, order_id: str) -> list[tuple[str, str, str]]:
    async with db.platform_session() as session:
        rows = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.data["orderId"].astext == order_id).order_by(OutboxMessage.created_at,
                                                                       OutboxMessage.id))).all()
    return [(m.data["event"], m.channel, m.recipient) for m in rows]


async def test_receive_confirm_late_progress_and_deliver(client: Any, db: Any, mint: Any, world: World,
                                                         monkeypatch: Any) -> None:
    cast = await _people(db, mint, world)
    sales_id, sales = cast["order_sales"]
    centre_id, centre = cast["order_centre"]
    prep_id, prep = cast["order_preparation"]
    finance_id, _ = cast["order_finance"]
    customer = await create(client, world, person(units=[{"unitId": world.units[0]["id"], "amount": "3280000.00"}]))

    def now(instant: datetime) -> None:
        monkeypatch.setattr(clock, "utcnow", lambda: instant.astimezone(UTC))

    # §3.2.2 (1): sales receives the order on Friday at 17:00.
    now(at("2024-09-20", "17:00"))
    order = await ok(await client.post(API, headers=sales, json={
        "customerId": customer["id"], "kind": "parking", "item": "地下车位 B2-118", "amount": "180000.00",
        "unitId": world.units[0]["id"]}))
    assert order["number"].startswith("DD-2024-") and order["status"] == "received"
    assert order["nodeId"] == world.project["id"] and order["receivedBy"] == sales_id
    # §3.2.1 (1): 2 working hours: Friday 17:00-18:00, the weekend off, Monday 09:00-10:00.
    assert order["confirmMinutes"] == 120 and order["confirmDueAt"] == iso(at("2024-09-23", "10:00"))
    assert order["overdue"] is False
    refused = await client.post(f"{API}/{order['id']}/confirm", headers=_if(sales, order), json={})
    assert refused.status_code == 403  # sales receives; the order-processing centre confirms
    early = await client.post(f"{API}/{order['id']}/delivery", headers=_if(prep, order),
                              json={"inspection": "accepted"})
    assert early.status_code == 409 and "received" in early.json()["detail"]

    # The scan: nothing due at 09:59 on Monday; at 10:00 it is flagged and told, once.
    now(at("2024-09-23", "09:59"))
    assert (await _scan(db, world.slug))["overdue"] == 0
    now(at("2024-09-23", "10:00"))
    assert await _scan(db, world.slug) == {"overdue": 1, "told": 2}
    assert (await _scan(db, world.slug))["overdue"] == 0
    assert sorted(r for e, _, r in await _messages(db, order["id"]) if e == "orders.overdue") == sorted(
        [centre_id, sales_id])
    listed = await ok(await client.get(API, headers=centre, params={"overdue": "true"}), 200)
    assert [o["id"] for o in listed["items"]] == [order["id"]]

    # §3.2.2 (2): the centre confirms, late; the departments of §3.2.2 (3)-(5) are told.
    now(at("2024-09-23", "10:30"))
    order = await ok(await client.get(f"{API}/{order['id']}", headers=centre), 200)
    assert order["overdue"] is True
    order = await ok(await client.post(f"{API}/{order['id']}/confirm", headers=_if(centre, order), json={
        "note": "车位已锁定", "expectedAt": iso(at("2024-10-15", "10:00"))}), 200)
    assert order["status"] == "confirmed" and order["confirmedBy"] == centre_id
    assert order["confirmedAt"] == iso(at("2024-09-23", "10:30")) and order["confirmedInTime"] is False
    assert {d["code"]: d["told"] for d in order["departments"]} == {"preparation": 1, "logistics": 0, "finance": 1}
    told = [r for e, _, r in await _messages(db, order["id"]) if e == "orders.confirmed"]
    assert sorted(told) == sorted([prep_id, finance_id])
    again = await client.post(f"{API}/{order['id']}/confirm", headers=_if(centre, order), json={})
    assert again.status_code == 409

    # §3.2.1 (2): progress reaches the customer, by mail (no stated preference) ...
    order = await ok(await client.post(f"{API}/{order['id']}/progress", headers=_if(sales, order), json={
        "milestone": "车位合同已备案", "note": "产权证办理中", "expectedAt": iso(at("2024-10-08", "10:00"))}), 200)
    assert order["status"] == "in_progress" and order["progress"][0]["sentVia"] == "email"
    # ... then by text message, the channel the customer asked for (care preferences).
    got = await client.get(f"/api/v1/care/preferences/{customer['id']}", headers=world.admin)
    await ok(await client.put(f"/api/v1/care/preferences/{customer['id']}", json={"channels": ["sms"]},
                              headers={**world.admin, "If-Match": got.headers["etag"]}), 200)
    order = await ok(await client.post(f"{API}/{order['id']}/progress", headers=_if(sales, order), json={
        "milestone": "产权证已出证"}), 200)
    assert [p["sentVia"] for p in order["progress"]] == ["email", "sms"]
    sent = [(c, r) for e, c, r in await _messages(db, order["id"]) if e == "orders.progress"]
    assert [c for c, _ in sent] == ["email", "sms"] and sent[0][1] == "wang@example.com"

    # §3.2.3: delivered and inspected with the customer, feedback collected afterwards, once.
    order = await ok(await client.post(f"{API}/{order['id']}/delivery", headers=_if(prep, order), json={
        "inspection": "accepted", "notes": "业主现场验收，车位标线完好"}), 200)
    assert order["status"] == "delivered" and order["deliveryConfirmedBy"] == prep_id
    assert order["inspection"] == "accepted" and order["feedback"] is None
    order = await ok(await client.post(f"{API}/{order['id']}/feedback", headers=_if(centre, order), json={
        "rating": 4, "comment": "办理及时，希望提前告知备案进度"}), 200)
    assert order["feedback"]["rating"] == 4
    twice = await client.post(f"{API}/{order['id']}/feedback", headers=_if(centre, order), json={"rating": 5})
    assert twice.status_code == 409
    cancel = await client.post(f"{API}/{order['id']}/cancel", headers=_if(centre, order), json={"reason": "x"})
    assert cancel.status_code == 409
    # The order is part of the customer's history.
    history = await ok(await client.get(f"/api/v1/customers/{customer['id']}/timeline", headers=world.admin,
                                        params={"kind": "order"}), 200)
    assert [(e["id"], e["status"]) for e in history["items"]] == [(order["id"], "delivered")]


async def test_in_time_declined_updates_and_feedback_at_delivery(client: Any, db: Any, mint: Any,
                                                                 world: World) -> None:
    cast = await _people(db, mint, world)
    _, sales = cast["order_sales"]
    _, centre = cast["order_centre"]
    _, prep = cast["order_preparation"]
    customer = await create(client, world, person(units=[{"unitId": world.units[1]["id"], "amount": "2100000.00"}]))
    order = await ok(await client.post(API, headers=sales, json={
        "customerId": customer["id"], "kind": "fit_out", "item": "精装升级包", "progressUpdates": False}))
    order = await ok(await client.post(f"{API}/{order['id']}/confirm", headers=_if(centre, order), json={}), 200)
    assert order["confirmedInTime"] is True
    order = await ok(await client.post(f"{API}/{order['id']}/progress", headers=_if(sales, order), json={
        "milestone": "材料进场"}), 200)
    assert order["progress"][0]["sentVia"] == "declined"  # recorded, not sent: the customer asked for none
    assert not [e for e, _, _ in await _messages(db, order["id"]) if e == "orders.progress"]
    order = await ok(await client.post(f"{API}/{order['id']}/delivery", headers=_if(prep, order), json={
        "inspection": "defects", "notes": "橱柜门板划痕，安排更换",
        "feedback": {"rating": 2, "comment": "安装师傅不够细心"}}), 200)
    assert order["inspection"] == "defects" and order["feedback"]["rating"] == 2
    future = await client.post(API, headers=sales, json={
        "customerId": customer["id"], "kind": "service", "item": "x",
        "receivedAt": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "receivedAt"


async def test_settings_name_their_clause_and_take_effect(client: Any, db: Any, mint: Any, world: World) -> None:
    got = await client.get(f"{API}/settings", headers=world.admin)
    body = got.json()
    assert body["confirmWorkingMinutes"] == 120 and "001 §3.2.1" in body["source"]
    assert [d["role"] for d in body["departments"]] == ["order_preparation", "order_logistics", "order_finance"]
    unknown = await client.put(f"{API}/settings", headers={**world.admin, "If-Match": got.headers["etag"]}, json={
        "confirmWorkingMinutes": 60, "departments": [{"code": "x", "name": "x", "role": "nobody_has_it"}]})
    assert unknown.status_code == 409 and unknown.json()["errors"][0]["field"] == "departments[0].role"
    put = await client.put(f"{API}/settings", headers={**world.admin, "If-Match": got.headers["etag"]}, json={
        "confirmWorkingMinutes": 60, "departments": [{"code": "finance", "name": "财务部门",
                                                      "role": "order_finance"}]})
    assert put.status_code == 200, put.text
    customer = await create(client, world, person(units=[{"unitId": world.units[2]["id"], "amount": "1.00"}]))
    order = await ok(await client.post(API, headers=world.admin, json={
        "customerId": customer["id"], "kind": "service", "item": "车位租赁"}))
    assert order["confirmMinutes"] == 60
    back = await client.put(f"{API}/settings", headers={**world.admin, "If-Match": put.headers["etag"]},
                            json={**body, "departments": [
                                {k: d[k] for k in ("code", "name", "role")} for d in body["departments"]]})
    assert back.status_code == 200


async def test_the_overdue_scan_runs_through_the_worker(client: Any, worker: Worker, db: Any, mint: Any,
                                                        world: World) -> None:
    customer = await create(client, world, person(units=[{"unitId": world.units[3]["id"], "amount": "1.00"}]))
    received = datetime.now(UTC) - timedelta(days=10)
    order = await ok(await client.post(API, headers=world.admin, json={
        "customerId": customer["id"], "kind": "unit", "item": "认购 1号楼 101", "receivedAt": received.isoformat()}))
    assert order["overdue"] is True
    tasks.overdue_scan.apply_async()

    async def flagged() -> bool:
        async with db.tenant_session(f"t_{world.slug}") as session:
            row = await session.get(SaleOrder, uuid.UUID(order["id"]))
            return row is not None and row.overdue_notified_at is not None

    assert await wait_for(worker, flagged, "the overdue scan")
