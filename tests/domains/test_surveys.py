"""Return visits over the API: the standard questionnaire and the group's own, plans whose
targets the filters choose, targets worked to a result, answers checked against their
questionnaire, and satisfaction statistics by project, branch and period (SQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.domains.customers_helpers import World, create, make_world, ok, person
from tests.domains.test_grading import grade_all
from tests.grants import grant

API = "/api/v1/surveys"


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=6, prefix="sv")


async def standard(client: Any, world: World) -> dict[str, Any]:
    listed = await ok(await client.get(f"{API}/questionnaires", headers=world.admin), 200)
    [seeded] = [q for q in listed["items"] if q["title"].startswith("客户满意度调查")]
    return await ok(await client.get(f"{API}/questionnaires/{seeded['id']}", headers=world.admin), 200)


def answers(questionnaire: dict[str, Any], product: int, service: int, price: int, overall: int,
            remark: str | None = None) -> list[dict[str, Any]]:
    scores = {"product_quality": product, "service": service, "price": price, "overall": overall}
    out: list[dict[str, Any]] = [{"questionId": q["id"], "score": scores[q["dimension"]]}
                                 for q in questionnaire["questions"] if q["kind"] == "scale"]
    if remark:
        out += [{"questionId": q["id"], "text": remark} for q in questionnaire["questions"] if q["kind"] == "text"]
    return out


async def test_questionnaires_fixed_once_used_and_retired(client: Any, world: World) -> None:
    seeded = await standard(client, world)
    assert [(q["kind"], q["dimension"]) for q in seeded["questions"]] == [
        ("scale", "product_quality"), ("scale", "service"), ("scale", "price"), ("scale", "overall"), ("text", None)]
    created = await client.post(f"{API}/questionnaires", headers=world.admin, json={
        "title": "交付满意度", "questions": [
            {"kind": "scale", "text": "交付准时吗？", "dimension": "service"},
            {"kind": "scale", "text": "房屋质量如何？", "dimension": "product_quality", "required": False}]})
    q = await ok(created)
    assert q["inUse"] is False and q["status"] == "active"
    changed = await ok(await client.patch(created.headers["location"], headers={**world.admin,
                                                                                "If-Match": created.headers["etag"]},
                                          json={"questions": [{"kind": "scale", "text": "总体满意度",
                                                               "dimension": "overall"}]}), 200)
    assert [x["text"] for x in changed["questions"]] == ["总体满意度"]

    customer = await create(client, world, person())
    await ok(await client.post(f"{API}/results", headers=world.admin, json={
        "customerId": customer["id"], "questionnaireId": q["id"], "method": "phone",
        "answers": [{"questionId": changed["questions"][0]["id"], "score": 4}]}))
    got = await client.get(created.headers["location"], headers=world.admin)
    assert got.json()["inUse"] is True
    fixed = await client.patch(created.headers["location"], headers={**world.admin, "If-Match": got.headers["etag"]},
                               json={"questions": [{"kind": "text", "text": "x"}]})
    assert fixed.status_code == 409 and fixed.json()["errors"][0]["field"] == "questions"
    retired = await ok(await client.patch(created.headers["location"],
                                          headers={**world.admin, "If-Match": got.headers["etag"]},
                                          json={"status": "retired"}), 200)
    assert retired["status"] == "retired"
    late = await client.post(f"{API}/results", headers=world.admin, json={
        "customerId": customer["id"], "questionnaireId": q["id"], "method": "phone",
        "answers": [{"questionId": changed["questions"][0]["id"], "score": 4}]})
    assert late.status_code == 409 and late.json()["errors"][0]["field"] == "questionnaireId"


async def test_answers_must_fit_their_questionnaire(client: Any, world: World) -> None:
    q = await standard(client, world)
    customer = await create(client, world, person())
    scale, text_q = q["questions"][0], q["questions"][4]
    bad = await client.post(f"{API}/results", headers=world.admin, json={
        "customerId": customer["id"], "questionnaireId": q["id"], "method": "visit",
        "answers": [{"questionId": scale["id"]}, {"questionId": text_q["id"], "score": 3},
                    {"questionId": str(uuid.uuid4()), "score": 5}, {"questionId": scale["id"], "score": 5}]})
    assert bad.status_code == 422
    fields = [e["field"] for e in bad.json()["errors"]]
    assert fields[:4] == ["answers.0.score", "answers.1", "answers.2.questionId", "answers.3.questionId"]
    assert fields.count("answers") == 3  # the service, price and overall questions are missing
    out_of_range = await client.post(f"{API}/results", headers=world.admin, json={
        "customerId": customer["id"], "questionnaireId": q["id"], "method": "visit",
        "answers": [{"questionId": scale["id"], "score": 6}]})
    assert out_of_range.status_code == 422
    result = await ok(await client.post(f"{API}/results", headers=world.admin, json={
        "customerId": customer["id"], "questionnaireId": q["id"], "method": "visit", "comment": "希望加快办证",
        "answers": answers(q, 4, 5, 3, 4, remark="物业响应很快")}))
    assert result["scores"] == {"productQuality": "4.00", "service": "5.00", "price": "3.00", "overall": "4.00"}
    assert [a["text"] for a in result["answers"]][-1] == "物业响应很快"
    mine = await ok(await client.get(f"{API}/results", headers=world.admin,
                                     params={"customerId": customer["id"]}), 200)
    assert [r["id"] for r in mine["items"]] == [result["id"]]


async def test_a_plan_chooses_its_targets_and_works_them_to_results(client: Any, db: Any, world: World) -> None:
    q = await standard(client, world)
    owners = [await create(client, world, person(name=f"业主{i}", units=[{"unitId": world.units[i]["id"],
                                                                       "amount": "2000000.00"}]))
              for i in range(3)]
    prospect = await create(client, world, person(name="意向客户", nodeId=world.branch["id"]))
    lost = await create(client, world, person(name="流失客户", status="lost", nodeId=world.branch["id"]))
    await grade_all(db, world.slug)

    plan_made = await client.post(f"{API}/plans", headers=world.admin, json={
        "nodeId": world.branch["id"], "title": "交付后三十天回访", "method": "phone", "dueOn": "2026-06-30",
        "questionnaireId": q["id"], "filters": {"hasUnits": True}})
    plan = await ok(plan_made)
    assert plan["number"].startswith("HF-") and plan["targets"]["total"] >= 3
    targets = await ok(await client.get(f"{API}/targets", headers=world.admin,
                                        params={"planId": plan["id"], "limit": 200}), 200)
    chosen = {t["customerId"] for t in targets["items"]}
    assert {o["id"] for o in owners} <= chosen and prospect["id"] not in chosen and lost["id"] not in chosen
    prospects = await ok(await client.post(f"{API}/plans", headers=world.admin, json={
        "nodeId": world.branch["id"], "title": "意向客户回访", "method": "wechat", "dueOn": "2026-06-30",
        "filters": {"hasUnits": False, "statuses": ["active", "lost"]}}))
    picked = await ok(await client.get(f"{API}/targets", headers=world.admin,
                                       params={"planId": prospects["id"], "limit": 200}), 200)
    assert {prospect["id"], lost["id"]} <= {t["customerId"] for t in picked["items"]}
    assert not {o["id"] for o in owners} & {t["customerId"] for t in picked["items"]}
    # Grades choose too: every owner here was graded (their deal is recent).
    graded = await ok(await client.post(f"{API}/plans", headers=world.admin, json={
        "nodeId": world.project["id"], "title": "E 级客户回访", "method": "visit", "dueOn": "2026-06-30",
        "filters": {"grades": ["A", "B"]}}))
    assert graded["targets"]["total"] == 0

    mine = {t["customerId"]: t for t in targets["items"]}
    first, second = mine[owners[0]["id"]], mine[owners[1]["id"]]
    missed = await ok(await client.patch(f"{API}/targets/{first['id']}", headers={
        **world.admin, "If-Match": f'"{first["version"]}"'}, json={"status": "unreachable", "note": "无人接听"}), 200)
    assert missed["attempts"] == 1 and missed["status"] == "unreachable"
    other_q = await ok(await client.post(f"{API}/questionnaires", headers=world.admin, json={
        "title": "另一份问卷", "questions": [{"kind": "scale", "text": "总体", "dimension": "overall"}]}))
    wrong = await client.post(f"{API}/results", headers=world.admin, json={
        "customerId": owners[0]["id"], "questionnaireId": other_q["id"], "method": "phone", "targetId": first["id"],
        "answers": [{"questionId": other_q["questions"][0]["id"], "score": 5}]})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "questionnaireId"
    not_theirs = await client.post(f"{API}/results", headers=world.admin, json={
        "customerId": owners[1]["id"], "questionnaireId": q["id"], "method": "phone", "targetId": first["id"],
        "answers": answers(q, 5, 5, 5, 5)})
    assert not_theirs.status_code == 422 and not_theirs.json()["errors"][0]["field"] == "targetId"
    body = {"customerId": owners[0]["id"], "questionnaireId": q["id"], "method": "phone", "targetId": first["id"],
            "answers": answers(q, 4, 4, 3, 5)}
    result = await ok(await client.post(f"{API}/results", headers=world.admin, json=body))
    assert result["planId"] == plan["id"] and result["targetId"] == first["id"]
    done = await ok(await client.get(f"{API}/targets/{first['id']}", headers=world.admin), 200)
    assert done["status"] == "completed" and done["resultId"] == result["id"] and done["completedAt"]
    assert (await client.post(f"{API}/results", headers=world.admin, json=body)).status_code == 409

    # Overdue: the due date moves to the past for what is still pending.
    got = await client.get(plan_made.headers["location"], headers=world.admin)
    moved = await ok(await client.patch(plan_made.headers["location"], headers={
        **world.admin, "If-Match": got.headers["etag"]}, json={"dueOn": "2020-01-31"}), 200)
    assert moved["targets"]["overdue"] == moved["targets"]["pending"] > 0
    late = await ok(await client.get(f"{API}/targets", headers=world.admin,
                                     params={"planId": plan["id"], "overdue": "true", "limit": 200}), 200)
    assert second["id"] in {t["id"] for t in late["items"]} and first["id"] not in {t["id"] for t in late["items"]}

    closed = await ok(await client.post(f"{plan_made.headers['location']}/close", headers={
        **world.admin, "If-Match": f'"{moved["version"]}"'}, json={"reason": "季度结束"}), 200)
    assert closed["status"] == "closed" and closed["targets"]["pending"] == 0
    assert closed["targets"]["completed"] == 1 and closed["targets"]["cancelled"] == closed["targets"]["total"] - 1
    cancelled = await ok(await client.get(f"{API}/targets/{second['id']}", headers=world.admin), 200)
    assert cancelled["status"] == "cancelled"
    refused = await client.patch(f"{API}/targets/{second['id']}", headers={
        **world.admin, "If-Match": f'"{cancelled["version"]}"'}, json={"status": "pending"})
    assert refused.status_code == 409
    # Customers surveyed lately are left out when asked.
    fresh = await ok(await client.post(f"{API}/plans", headers=world.admin, json={
        "nodeId": world.project["id"], "title": "再次回访", "method": "phone", "dueOn": "2026-07-31",
        "filters": {"hasUnits": True, "notSurveyedWithinDays": 30}}))
    again = await ok(await client.get(f"{API}/targets", headers=world.admin,
                                      params={"planId": fresh["id"], "limit": 200}), 200)
    assert owners[0]["id"] not in {t["customerId"] for t in again["items"]}
    assert owners[1]["id"] in {t["customerId"] for t in again["items"]}


async def test_statistics_by_project_branch_and_period(client: Any, db: Any, mint: Any, new_tenant: Any) -> None:
    import httpx

    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as c:
        w = await make_world(c, db, new_tenant, mint, units=4, prefix="svst")
    second_project = await ok(await client.post("/api/v1/org/projects", headers=w.admin, json={
        "branchId": w.branch["id"], "code": f"P{uuid.uuid4().hex[:6]}", "name": "翠湖苑"}))
    building = await ok(await client.post("/api/v1/org/buildings", headers=w.admin, json={
        "projectId": second_project["id"], "code": f"D{uuid.uuid4().hex[:6]}", "name": "1栋"}))
    unit = await ok(await client.post("/api/v1/org/units", headers=w.admin, json={
        "buildingId": building["id"], "number": "101", "floor": 1}))
    q = await standard(client, w)
    a1 = await create(client, w, person(units=[{"unitId": w.units[0]["id"]}]))
    a2 = await create(client, w, person(units=[{"unitId": w.units[1]["id"]}]))
    b1 = await create(client, w, person(units=[{"unitId": unit["id"]}]))

    async def result(customer: dict[str, Any], at: str, *scores: int) -> None:
        await ok(await client.post(f"{API}/results", headers=w.admin, json={
            "customerId": customer["id"], "questionnaireId": q["id"], "method": "phone", "respondedAt": at,
            "answers": answers(q, *scores)}))

    await result(a1, "2026-03-10T10:00:00+08:00", 4, 5, 3, 5)
    await result(a2, "2026-03-20T10:00:00+08:00", 2, 3, 2, 3)
    # 2026-04-01 00:30 in Shanghai is still March in UTC: the group's time zone decides.
    await result(a1, "2026-04-01T00:30:00+08:00", 5, 5, 4, 4)
    await result(b1, "2026-03-15T10:00:00+08:00", 3, 4, 4, 4)

    by_project = await ok(await client.get(f"{API}/statistics", headers=w.admin), 200)
    rows = {(r["nodeId"], r["period"]): r for r in by_project["rows"]}
    march = rows[(w.project["id"], "2026-03")]
    assert march["responses"] == 2 and march["scores"] == {"productQuality": "3.00", "service": "4.00",
                                                            "price": "2.50", "overall": "4.00"}
    assert march["satisfiedPercent"] == "50.0" and march["nodeCode"] == w.project["code"]
    assert rows[(w.project["id"], "2026-04")]["responses"] == 1
    assert rows[(second_project["id"], "2026-03")]["satisfiedPercent"] == "100.0"

    by_branch = await ok(await client.get(f"{API}/statistics", headers=w.admin,
                                          params={"groupBy": "branch", "period": "quarter"}), 200)
    assert [(r["nodeId"], r["period"], r["responses"]) for r in by_branch["rows"]] == [
        (w.branch["id"], "2026-Q1", 3), (w.branch["id"], "2026-Q2", 1)]
    year = await ok(await client.get(f"{API}/statistics", headers=w.admin,
                                     params={"groupBy": "group", "period": "year", "from": "2026-03-15",
                                             "to": "2026-04-01"}), 200)
    assert [(r["period"], r["responses"]) for r in year["rows"]] == [("2026", 2)]

    # A project clerk's statistics cover their project only.
    clerk = str(uuid.uuid4())
    await grant(db, w.slug, clerk, ["surveys.read"], uuid.UUID(second_project["id"]))
    theirs = await ok(await client.get(f"{API}/statistics", headers={
        "Authorization": f"Bearer {mint(tenant=w.slug, subject=clerk)}"}), 200)
    assert {r["nodeId"] for r in theirs["rows"]} == {second_project["id"]}
    nobody = await client.get(f"{API}/statistics", headers={
        "Authorization": f"Bearer {mint(tenant=w.slug, subject=str(uuid.uuid4()))}"})
    assert nobody.status_code == 403


async def test_questionnaires_are_defined_at_the_group(client: Any, db: Any, mint: Any, world: World) -> None:
    manager = str(uuid.uuid4())
    await grant(db, world.slug, manager, ["surveys.read", "surveys.write", "surveys.configure"],
                uuid.UUID(world.branch["id"]))
    as_manager = {"Authorization": f"Bearer {mint(tenant=world.slug, subject=manager)}"}
    refused = await client.post(f"{API}/questionnaires", headers=as_manager, json={
        "title": "分公司问卷", "questions": [{"kind": "text", "text": "建议"}]})
    assert refused.status_code == 403
    assert (await client.get(f"{API}/questionnaires", headers=as_manager)).status_code == 200
    due = (datetime.now(UTC) + timedelta(days=30)).date()
    plan = await ok(await client.post(f"{API}/plans", headers=as_manager, json={
        "nodeId": world.branch["id"], "title": "分公司回访", "method": "sms", "dueOn": due.isoformat()}))
    assert plan["dueOn"] == due.isoformat() and date.fromisoformat(plan["dueOn"]) > date(2020, 1, 1)
    elsewhere = await client.post(f"{API}/plans", headers=as_manager, json={
        "nodeId": str(world.org.root), "title": "集团回访", "method": "sms", "dueOn": due.isoformat()})
    assert elsewhere.status_code == 404 and elsewhere.json()["errors"][0]["field"] == "nodeId"


async def test_answers_meet_the_questions_as_they_are_after_a_concurrent_change(client: Any, db: Any,
                                                                               world: World) -> None:
    """A result recorded while the questionnaire's questions are being replaced waits for the
    change, then is checked against the new questions (422), not written against removed ones."""
    import asyncio

    from app.core.audit import SYSTEM
    from app.domains.access.authz import trusted
    from app.domains.surveys import services
    from app.domains.surveys.models import Dimension
    from app.domains.surveys.schemas import QuestionnaireUpdate, ScaleQuestion

    made = await ok(await client.post(f"{API}/questionnaires", headers=world.admin, json={
        "title": "并发修改", "questions": [{"kind": "scale", "text": "总体", "dimension": "overall"}]}))
    customer = await create(client, world, person())
    async with db.tenant_transaction(f"t_{world.slug}") as changing:
        changing.info["actor"] = SYSTEM
        q = await services.get_questionnaire(changing, trusted(), uuid.UUID(made["id"]), lock=True)
        await services.update_questionnaire(changing, trusted(), q, QuestionnaireUpdate(
            questions=[ScaleQuestion(text="服务", dimension=Dimension.service)]))
        recording = asyncio.create_task(client.post(f"{API}/results", headers=world.admin, json={
            "customerId": customer["id"], "questionnaireId": made["id"], "method": "phone",
            "answers": [{"questionId": made["questions"][0]["id"], "score": 5}]}))
        await asyncio.sleep(0.5)
        assert not recording.done()
    answer = await recording
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "answers.0.questionId"
