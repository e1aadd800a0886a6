"""Grading and credit over the API: the group's rules (checked whole, versioned), grades
recomputed by a job with progress and by the daily beat task through a real worker, contacts
counting only with the customer's behaviour consent, the grade history, and credit limits
changed only through their four-level approval chain."""

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
from tests.domains.test_approvals import as_, assign, make_account
from tests.domains.visits_helpers import approved_visit, supervisor
from tests.grants import grant
from tests.worker.conftest import Worker, finished_job, wait_for

API = "/api/v1/grading"


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=7, prefix="gr")


async def grade_all(db: Any, slug: str) -> dict[str, Any]:
    # Imported here, not at the top: the app registers its permissions in its own import
    # order, which the served document's role schema follows (tests/quality/test_fuzz.py).
    from app.domains.grading.services import recompute

    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        return await recompute(session)


async def use_rfm(client: Any, world: World) -> None:
    """The group's choice of the RFM method, with nothing outside the scale (E from 0): what
    these tests were written for. Seed 002's default is tested in test_grading_letter.py."""
    got = await client.get(f"{API}/rules", headers=world.admin)
    rules = got.json()["rules"]
    if rules["method"] != "rfm":
        await ok(await client.put(f"{API}/rules", headers={**world.admin, "If-Match": got.headers["etag"]},
                                  json={**rules, "method": "rfm", "bands": {**rules["bands"], "E": "0"}}), 200)


async def _visit(client: Any, world: World, approver: dict[str, str], customer: dict[str, Any], at: str) -> None:
    url, tag = await approved_visit(client, world, approver, {"customerId": customer["id"], "purpose": "回访",
                                                              "plannedAt": at})
    await ok(await client.post(f"{url}/record", json={"visitedAt": at}, headers={**world.admin, "If-Match": tag}), 200)


async def test_rules_are_checked_whole_and_versioned(client: Any, db: Any, mint: Any, world: World) -> None:
    got = await client.get(f"{API}/rules", headers=world.admin)
    current = await ok(got, 200)
    assert got.headers["etag"] == '"0"' and current["isDefault"] is True
    assert current["rules"]["bands"] == {"A": "90", "B": "80", "C": "70", "D": "60", "E": "50"}
    assert current["rules"]["method"] == "sales"
    rules = current["rules"]
    assert (await client.put(f"{API}/rules", headers=world.admin, json=rules)).status_code == 428
    # Cut points in any order are kept ascending; weights are relative.
    shuffled = {**rules, "rfm": {**rules["rfm"], "frequency": [8, 1, 4, 2], "monetary": ["5000000", "500000.00",
                                                                                          "2000000", "1000000"]},
                "weights": {"recency": 5, "frequency": 5, "monetary": 8, "satisfaction": 2}}
    saved = await ok(await client.put(f"{API}/rules", headers={**world.admin, "If-Match": '"0"'}, json=shuffled), 200)
    assert saved["rules"]["rfm"]["frequency"] == [1, 2, 4, 8]
    assert saved["rules"]["rfm"]["monetary"] == ["500000.00", "1000000", "2000000", "5000000"]
    assert saved["version"] == 1
    branch_manager = str(uuid.uuid4())
    await grant(db, world.slug, branch_manager, ["grading.read", "grading.configure"], uuid.UUID(world.branch["id"]))
    as_branch = {"Authorization": f"Bearer {mint(tenant=world.slug, subject=branch_manager)}"}
    assert (await client.put(f"{API}/rules", headers={**as_branch, "If-Match": '"1"'},
                             json=rules)).status_code == 403
    stale = await client.put(f"{API}/rules", headers={**world.admin, "If-Match": '"0"'}, json=rules)
    assert stale.status_code == 412
    restored = await client.put(f"{API}/rules", headers={**world.admin, "If-Match": '"1"'}, json=rules)
    assert restored.status_code == 200 and restored.headers["etag"] == '"2"'
    assert restored.json()["rules"] == rules and restored.json()["isDefault"] is False


async def test_scores_follow_the_rules_and_contacts_need_consent(client: Any, db: Any, mint: Any,
                                                                 world: World) -> None:
    await use_rfm(client, world)
    approver = await supervisor(db, mint, world)
    await supervisor(db, mint, world, "cs_manager")  # the chain's referred step needs a holder too
    today = datetime.now(UTC)
    # A deal 335 days ago (recency 2 on its own), visits over the last fortnight (recency 5).
    deal = {"unitId": world.units[0]["id"], "amount": "2200000.00", "stage": "contract",
            "contractedOn": (today - timedelta(days=335)).date().isoformat()}
    plain = await create(client, world, person(name="普通业主", units=[deal]))
    consenting = await create(client, world, person(
        name="常联系业主", units=[{**deal, "unitId": world.units[1]["id"]}],
        consents=[{"kind": "behaviour", "purpose": "服务改进", "channel": "paper"}]))
    for target in (plain, consenting):
        for days in (16, 11, 5, 4):
            await _visit(client, world, approver, target, (today - timedelta(days=days)).isoformat())
    await grade_all(db, world.slug)

    def view(customer: dict[str, Any]) -> Any:
        return client.get(f"{API}/customers/{customer['id']}", headers=world.admin)

    without = (await ok(await view(plain), 200))["grade"]
    with_ = (await ok(await view(consenting), 200))["grade"]
    # The deal alone for the one without consent: R by its date, F 1, M 2.2M.
    assert without["frequency"] == 1 and with_["frequency"] == 5
    assert without["rfm"] == "224" and with_["rfm"] == "544"
    assert Decimal(with_["score"]) > Decimal(without["score"])
    expected = (25 * 4 * 25 + 25 * 3 * 25 + 40 * 3 * 25) / Decimal(90)
    assert Decimal(with_["score"]) == expected.quantize(Decimal("0.01"))
    assert with_["grade"] == "B"  # 81.94: B from 80
    assert with_["rulesVersion"] == (await ok(await client.get(f"{API}/rules", headers=world.admin), 200))["version"]

    table = await ok(await client.get(f"{API}/grades", headers=world.admin, params={"sort": "-score"}), 200)
    rows = {r["id"]: r for r in table["items"]}
    assert rows[consenting["id"]]["grade"] == "B" and rows[consenting["id"]]["customerNumber"] == consenting["number"]
    only_b = await ok(await client.get(f"{API}/grades", headers=world.admin, params={"grade": "B"}), 200)
    assert consenting["id"] in {r["id"] for r in only_b["items"]}
    assert plain["id"] not in {r["id"] for r in only_b["items"]}


async def test_a_recomputation_job_with_progress_and_the_grade_history(client: Any, db: Any, worker: Worker,
                                                                       world: World) -> None:
    await use_rfm(client, world)
    customer = await create(client, world, person(units=[{"unitId": world.units[2]["id"], "amount": "900000.00"}]))
    started = await client.post(f"{API}/recomputations", headers=world.admin, json={"nodeId": world.project["id"]})
    assert started.status_code == 202, started.text
    job = await finished_job(db, worker, world.slug, uuid.UUID(started.json()["id"]))
    assert job.status.value == "succeeded", job.error
    assert job.progress == 100 and job.total == job.done == job.result["customers"] >= 1
    polled = await ok(await client.get(started.headers["location"], headers=world.admin), 200)
    assert polled["result"]["grades"]["E"] + polled["result"]["grades"]["D"] >= 1
    first = await ok(await client.get(f"{API}/customers/{customer['id']}/history", headers=world.admin), 200)
    assert [(h["grade"], h["previousGrade"], h["jobId"]) for h in first["items"]] == [
        (first["items"][0]["grade"], None, started.json()["id"])]

    # Nothing changed: a second run adds no history. New bands: a change, recorded.
    await grade_all(db, world.slug)
    assert (await ok(await client.get(f"{API}/customers/{customer['id']}/history", headers=world.admin),
                     200))["total"] == 1
    rules = await client.get(f"{API}/rules", headers=world.admin)
    lenient = {**rules.json()["rules"], "bands": {"A": "40", "B": "30", "C": "20", "D": "10", "E": "0"}}
    assert (await client.put(f"{API}/rules", headers={**world.admin, "If-Match": rules.headers["etag"]},
                             json=lenient)).status_code == 200
    await grade_all(db, world.slug)
    history = await ok(await client.get(f"{API}/customers/{customer['id']}/history", headers=world.admin), 200)
    assert history["total"] == 2 and history["items"][0]["grade"] == "A"
    assert history["items"][0]["previousGrade"] == first["items"][0]["grade"]
    view = await client.get(f"{API}/customers/{customer['id']}", headers=world.admin)
    assert view.json()["grade"]["grade"] == "A" and view.headers["etag"] == '"2"'
    next_tag = f'"{int(rules.headers["etag"][1:-1]) + 1}"'
    assert (await client.put(f"{API}/rules", headers={**world.admin, "If-Match": next_tag},
                             json=rules.json()["rules"])).status_code == 200
    unknown = await client.post(f"{API}/recomputations", headers=world.admin, json={"nodeId": str(uuid.uuid4())})
    assert unknown.status_code == 404


async def test_the_daily_beat_grades_every_tenant(client: Any, db: Any, worker: Worker, world: World) -> None:
    customer = await create(client, world, person(units=[{"unitId": world.units[3]["id"]}]))
    from app.domains.grading import tasks
    from app.domains.grading.models import CustomerGrade, GradeChange

    tasks.recompute_all.apply_async()

    async def graded() -> bool:
        async with db.tenant_session(f"t_{world.slug}") as session:
            return await session.get(CustomerGrade, uuid.UUID(customer["id"])) is not None

    assert await wait_for(worker, graded, "the daily grading")
    async with db.tenant_session(f"t_{world.slug}") as session:
        runs = await session.scalar(select(func.count()).select_from(tenant_audit).where(
            tenant_audit.c.action == "grading.recompute", tenant_audit.c.actor_id == "system"))
        assert runs and runs >= 1
        assert await session.scalar(select(func.count()).select_from(GradeChange).where(
            GradeChange.customer_id == uuid.UUID(customer["id"]), GradeChange.job_id.is_(None))) == 1


async def deciders(db: Any, mint: Any, world: World, chain: list[tuple[str, uuid.UUID]]) -> list[dict[str, str]]:
    """Auth headers of one new account per step of ``chain``, holding its role at its node."""
    people = []
    for role, node in chain:
        account = await make_account(db, world.org, role)
        await assign(db, world.org, account, role, node)
        people.append(as_(mint, world.org, account))
    return people


async def _credit_deciders(db: Any, mint: Any, world: World) -> list[dict[str, str]]:
    return await deciders(db, mint, world, [("sales_admin_manager", world.org.branch), ("sales_vp", world.org.root),
                                            ("sales_gm", world.org.root), ("group_gm", world.org.root)])


async def test_credit_limits_change_through_four_approvals(client: Any, db: Any, mint: Any, world: World) -> None:
    deciders = await _credit_deciders(db, mint, world)
    customer = await create(client, world, person(units=[{"unitId": world.units[4]["id"]}]))
    url = f"{API}/customers/{customer['id']}/credit-changes"
    body = {"requestedLimit": "500000.00", "reason": "年度采购框架协议"}
    applied = await client.post(url, headers={**world.admin, "Idempotency-Key": "credit-1"}, json=body)
    change = await ok(applied)
    again = await client.post(url, headers={**world.admin, "Idempotency-Key": "credit-1"}, json=body)
    assert again.json()["id"] == change["id"]
    assert change["number"].startswith("XY-") and change["status"] == "pending" and change["previousLimit"] is None
    request = await ok(await client.get(f"/api/v1/approvals/requests/{change['approvalRequestId']}",
                                        headers=world.admin), 200)
    assert [s["name"] for s in request["rounds"][0]["steps"]] == ["Sales management manager", "Sales VP",
                                                                 "Sales GM", "Group GM"]
    second = await client.post(url, headers=world.admin, json={**body, "requestedLimit": "600000.00"})
    assert second.status_code == 409
    view = await ok(await client.get(f"{API}/customers/{customer['id']}", headers=world.admin), 200)
    assert view["creditLimit"] is None and view["pendingCreditChangeId"] == change["id"]

    for i, who in enumerate(deciders):
        await ok(await client.post(f"/api/v1/approvals/requests/{change['approvalRequestId']}/approve",
                                   headers=who, json={}), 200)
        if i < 3:
            mid = await ok(await client.get(f"{API}/customers/{customer['id']}", headers=world.admin), 200)
            assert mid["creditLimit"] is None
    view = await ok(await client.get(f"{API}/customers/{customer['id']}", headers=world.admin), 200)
    assert view["creditLimit"] == "500000.00" and view["pendingCreditChangeId"] is None
    done = await ok(await client.get(applied.headers["location"], headers=world.admin), 200)
    assert done["status"] == "approved" and done["appliedAt"]
    async with db.tenant_session(f"t_{world.slug}") as session:
        [record] = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.action == "grading.credit_limit.set", tenant_audit.c.entity_id == customer["id"]))).all()
    assert record.actor_id == subject_of(deciders[-1]) and record.after["creditLimit"] == "500000.00"

    same = await client.post(url, headers=world.admin, json=body)
    assert same.status_code == 409 and same.json()["errors"][0]["field"] == "requestedLimit"
    lower = await ok(await client.post(url, headers=world.admin, json={"requestedLimit": "200000", "reason": "逾期"}))
    assert lower["previousLimit"] == "500000.00"
    await ok(await client.post(f"/api/v1/approvals/requests/{lower['approvalRequestId']}/reject",
                               headers=deciders[0], json={"comment": "无逾期记录"}), 200)
    view = await ok(await client.get(f"{API}/customers/{customer['id']}", headers=world.admin), 200)
    assert view["creditLimit"] == "500000.00"
    listed = await ok(await client.get(f"{API}/credit-changes", headers=world.admin,
                                       params={"customerId": customer["id"], "status": "rejected"}), 200)
    assert [c["id"] for c in listed["items"]] == [lower["id"]]
    grades = await ok(await client.get(f"{API}/grades", headers=world.admin, params={"limit": 200}), 200)
    assert all("creditLimit" in r for r in grades["items"])

    outsider = str(uuid.uuid4())
    await grant(db, world.slug, outsider, ["grading.read"])
    refused = await client.post(url, headers={"Authorization": f"Bearer {mint(tenant=world.slug, subject=outsider)}"},
                                json={"requestedLimit": "1", "reason": "x"})
    assert refused.status_code == 403
    assert (await client.post(f"{API}/customers/{uuid.uuid4()}/credit-changes", headers=world.admin,
                              json=body)).status_code == 404


async def test_two_computations_at_once_record_a_change_once(client: Any, db: Any, world: World) -> None:
    import asyncio

    from app.domains.grading.models import GradeChange
    from app.domains.grading.services import recompute

    customer = await create(client, world, person(units=[{"unitId": world.units[5]["id"]}]))
    async with db.tenant_transaction(f"t_{world.slug}") as first:
        first.info["actor"] = SYSTEM
        await recompute(first)
        # The second waits on the first's lock until it commits, then finds nothing changed.
        second = asyncio.create_task(grade_all(db, world.slug))
        await asyncio.sleep(0.5)
        assert not second.done()
    assert (await second)["changed"] == 0
    async with db.tenant_session(f"t_{world.slug}") as session:
        assert await session.scalar(select(func.count()).select_from(GradeChange).where(
            GradeChange.customer_id == uuid.UUID(customer["id"]))) == 1


async def test_the_payment_period_is_set_with_the_limit_and_the_customer_told(
        client: Any, db: Any, mint: Any, world: World) -> None:
    """Seed 000 §19 ⑥–⑦: the customer service department sets the credit limit and the payment
    period (账期) together, through approval; the customer is told when either changes."""
    from app.auth.models import OutboxMessage

    deciders = await _credit_deciders(db, mint, world)
    customer = await create(client, world, person(units=[{"unitId": world.units[6]["id"]}],
                                                  email="terms@example.com"))
    url = f"{API}/customers/{customer['id']}/credit-changes"

    async def through(body: dict[str, Any]) -> dict[str, Any]:
        change = await ok(await client.post(url, headers=world.admin, json=body))
        for who in deciders:
            await ok(await client.post(f"/api/v1/approvals/requests/{change['approvalRequestId']}/approve",
                                       headers=who, json={}), 200)
        return await ok(await client.get(f"{API}/credit-changes/{change['id']}", headers=world.admin), 200)

    first = await through({"requestedLimit": "200000.00", "paymentDays": 30, "reason": "首次授信"})
    assert (first["previousPaymentDays"], first["requestedPaymentDays"], first["notifiedVia"]) == (None, 30, "email")
    # Only the period changes: the same limit, a longer period.
    longer = await through({"requestedLimit": "200000.00", "paymentDays": 60, "reason": "延长账期"})
    assert (longer["previousLimit"], longer["previousPaymentDays"], longer["requestedPaymentDays"]) == (
        "200000.00", 30, 60)
    # Only the limit changes: the period stays.
    higher = await through({"requestedLimit": "300000.00", "reason": "提高额度"})
    assert (higher["previousPaymentDays"], higher["requestedPaymentDays"]) == (60, 60)
    # Neither changes: nothing to decide.
    same = await client.post(url, headers=world.admin, json={"requestedLimit": "300000.00", "paymentDays": 60,
                                                             "reason": "x"})
    assert same.status_code == 409 and {e["field"] for e in same.json()["errors"]} == {"requestedLimit",
                                                                                        "paymentDays"}
    bad = await client.post(url, headers=world.admin, json={"requestedLimit": "1.00", "paymentDays": 400,
                                                            "reason": "x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "paymentDays"
    async with db.platform_session() as session:
        told = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.data["customerId"].astext == customer["id"],
            OutboxMessage.data["event"].astext == "grading.credit_terms.changed"))).all()
    assert sorted((m.data["creditLimit"], m.data["paymentDays"]) for m in told) == [
        ("200000.00", 30), ("200000.00", 60), ("300000.00", 60)]
    assert all(m.recipient == "terms@example.com" and m.channel == "email" for m in told)
    async with db.tenant_session(f"t_{world.slug}") as session:
        records = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.action == "grading.credit_limit.set", tenant_audit.c.entity_id == customer["id"])
            .order_by(tenant_audit.c.occurred_at))).all()
    assert [(r.before["paymentDays"], r.after["paymentDays"]) for r in records] == [(None, 30), (30, 60), (60, 60)]


async def test_a_credit_investigation_through_an_agency(client: Any, db: Any, mint: Any, world: World) -> None:
    """Seed 000 §16 (信用调查): the method and content asked of an agency, its report, and the
    countermeasures decided on it; at the customer's node."""
    customer = await create(client, world, person(units=[{"unitId": world.units[6]["id"], "role": "co_owner"}]))
    url = f"{API}/credit-investigations"
    asked = await client.post(url, headers={**world.admin, "Idempotency-Key": "inv-1"}, json={
        "customerId": customer["id"], "agency": "某征信有限公司", "method": "企业征信报告与实地走访",
        "content": "付款记录、涉诉情况、资产状况"})
    made = await ok(asked)
    assert made["number"].startswith("DC-") and made["status"] == "requested" and made["report"] is None
    assert made["nodeId"] == customer["nodeId"]
    report = {"report": "近两年无逾期，有一起合同纠纷已结案。",
              "countermeasures": "维持现有额度，账期不延长，半年后复查。"}
    assert (await client.post(f"{url}/{made['id']}/report", headers=world.admin, json=report)).status_code == 428
    done = await ok(await client.post(f"{url}/{made['id']}/report", json=report,
                                      headers={**world.admin, "If-Match": asked.headers["etag"]}), 200)
    assert done["status"] == "reported" and done["countermeasures"] == report["countermeasures"] and done["reportedAt"]
    got = await client.get(f"{url}/{made['id']}", headers=world.admin)
    again = await client.post(f"{url}/{made['id']}/report", json=report,
                              headers={**world.admin, "If-Match": got.headers["etag"]})
    assert again.status_code == 409 and "requested" in again.json()["detail"]
    listed = await ok(await client.get(url, headers=world.admin, params={"customerId": customer["id"]}), 200)
    assert [i["id"] for i in listed["items"]] == [made["id"]]
    # A reader without grading.review cannot ask for one.
    reader = str(uuid.uuid4())
    await grant(db, world.slug, reader, ["grading.read", "customers.read"])
    refused = await client.post(url, headers={"Authorization": f"Bearer {mint(tenant=world.slug, subject=reader)}"},
                                json={"customerId": customer["id"], "agency": "x", "method": "x", "content": "x"})
    assert refused.status_code == 403, refused.text
    async with db.tenant_session(f"t_{world.slug}") as session:
        actions = (await session.execute(select(tenant_audit.c.action).where(
            tenant_audit.c.entity_id == made["id"]).order_by(tenant_audit.c.occurred_at))).scalars().all()
    assert actions == ["grading.credit_investigation.request", "grading.credit_investigation.report"]
