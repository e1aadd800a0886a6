"""Call-centre quality to the letter of seed 000 §12 (呼叫中心运行流程), over the API as the call
centre works: two agents (呼叫中心专员) take and log calls; the supervisor (呼叫中心主管)
evaluates them against the seeded scorecard, whose criteria name their clauses (§9, §11)
(⑥ 服务质量评估); each agent reads their own evaluations and no one else's; the supervisor reads
each agent's performance over the month (⑦ 专员绩效管理); the customer service manager changes
the scorecard, and past evaluations keep the criteria they were scored on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domains.customers_helpers import World, make_world, ok
from tests.domains.test_approvals import as_, assign, make_account

API = "/api/v1/call-quality"
CALLS = "/api/v1/interactions/calls"


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=1, prefix="cq")


def marks(rating: int = 4, **given: int) -> list[dict[str, Any]]:
    codes = ("greeting", "needs", "resolution", "transfer", "feedback", "logging")
    return [{"code": c, "rating": given.get(c, rating)} for c in codes]


async def _call(client: Any, agent: dict[str, str], project: str, subject: str, started: str) -> dict[str, Any]:
    return await ok(await client.post(CALLS, headers=agent, json={  # type: ignore[no-any-return]
        "direction": "inbound", "startedAt": started, "durationSeconds": 240, "nodeId": project, "subject": subject,
        "outcome": {"kind": "resolved"}}))


async def test_evaluate_calls_and_read_agent_performance(client: Any, db: Any, mint: Any, world: World) -> None:
    org, project = world.org, world.project["id"]
    cast = {}
    for name, role, node in (("li", "call_agent", org.project), ("zhao", "call_agent", org.project),
                             ("supervisor", "call_supervisor", org.branch),
                             ("manager", "call_centre_manager", org.root)):
        account = await make_account(db, org, name)
        await assign(db, org, account, role, node)
        cast[name] = (account, as_(mint, org, account))
    li_id, li = cast["li"]
    zhao_id, zhao = cast["zhao"]
    sup_id, sup = cast["supervisor"]
    _, manager = cast["manager"]

    card = await ok(await client.get(f"{API}/scorecard", headers=sup), 200)
    assert sum(c["weight"] for c in card["criteria"]) == 100
    assert {c["code"]: c["source"].split(" ")[1] for c in card["criteria"]}["greeting"] == "§9"
    assert all(c["source"].startswith("000 §") for c in card["criteria"])

    first = await _call(client, li, project, "咨询交付时间", "2026-03-02T10:00:00+08:00")
    second = await _call(client, li, project, "报修漏水", "2026-03-05T15:00:00+08:00")
    third = await _call(client, zhao, project, "咨询车位", "2026-03-06T09:30:00+08:00")
    outside = await _call(client, zhao, project, "上月来电", "2026-02-20T09:30:00+08:00")

    # ⑥: the supervisor evaluates, each criterion once, 0-5; the total is the weighted share.
    own = await client.post(f"{API}/evaluations", headers=li, json={"callId": first["id"], "marks": marks()})
    assert own.status_code == 403  # an agent evaluates no calls, their own least of all
    partial = await client.post(f"{API}/evaluations", headers=sup, json={
        "callId": first["id"], "marks": marks()[:2]})
    assert partial.status_code == 422 and "missing" in partial.json()["errors"][0]["message"]
    bogus = await client.post(f"{API}/evaluations", headers=sup, json={
        "callId": first["id"], "marks": [*marks(), {"code": "smile", "rating": 5}]})
    assert bogus.status_code == 422 and bogus.json()["errors"][0]["field"] == "marks[6].code"
    e1 = await ok(await client.post(f"{API}/evaluations", headers=sup, json={
        "callId": first["id"], "marks": marks(5), "comment": "问候规范，答复清楚"}))
    assert e1["total"] == "100.00" and e1["agentId"] == li_id and e1["evaluatorId"] == sup_id
    # feedback (15) at 2 of 5 and logging (20) at 3 of 5: 100 - 15 × 3/5 - 20 × 2/5 = 83.
    e2 = await ok(await client.post(f"{API}/evaluations", headers=sup, json={
        "callId": second["id"], "marks": marks(5, feedback=2, logging=3), "comment": "未告知回复时间"}))
    assert e2["total"] == "83.00"
    assert {s["code"]: s["rating"] for s in e2["scores"]}["feedback"] == 2
    twice = await client.post(f"{API}/evaluations", headers=sup, json={"callId": second["id"], "marks": marks()})
    assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "callId"
    e3 = await ok(await client.post(f"{API}/evaluations", headers=sup, json={
        "callId": third["id"], "marks": marks(3)}))
    assert e3["total"] == "60.00"
    await ok(await client.post(f"{API}/evaluations", headers=sup, json={"callId": outside["id"], "marks": marks(1)}))

    # Agents read their own evaluations, not each other's.
    mine = await ok(await client.get(f"{API}/evaluations", headers=li, params={"mine": "true"}), 200)
    assert sorted(e["id"] for e in mine["items"]) == sorted([e1["id"], e2["id"]])
    seen = await ok(await client.get(f"{API}/evaluations", headers=li), 200)
    assert {e["agentId"] for e in seen["items"]} == {li_id}
    assert (await client.get(f"{API}/evaluations/{e2['id']}", headers=li)).status_code == 200
    assert (await client.get(f"{API}/evaluations/{e3['id']}", headers=li)).status_code == 404
    assert (await client.get(f"{API}/performance", headers=li)).status_code == 403

    # ⑦: the month of March, per agent.
    report = await ok(await client.get(f"{API}/performance", headers=sup, params={
        "from": "2026-03-01T00:00:00+08:00", "to": "2026-04-01T00:00:00+08:00"}), 200)
    by_agent = {a["agentId"]: a for a in report["agents"]}
    assert by_agent[li_id] == {"agentId": li_id, "callsHandled": 2, "callsEvaluated": 2, "averageScore": "91.50",
                               "lowestScore": "83.00", "highestScore": "100.00"}
    assert by_agent[zhao_id]["callsHandled"] == 1 and by_agent[zhao_id]["averageScore"] == "60.00"
    backwards = await client.get(f"{API}/performance", headers=sup, params={
        "from": "2026-04-01T00:00:00+08:00", "to": "2026-03-01T00:00:00+08:00"})
    assert backwards.status_code == 422

    # The manager sets the scorecard; past evaluations keep their criteria.
    refused = await client.put(f"{API}/scorecard", headers={**sup, "If-Match": '"0"'}, json={"criteria": [
        {"code": "greeting", "name": "问候", "weight": 1}]})
    assert refused.status_code == 403
    changed = await client.put(f"{API}/scorecard", headers={**manager, "If-Match": '"0"'}, json={"criteria": [
        {"code": "greeting", "name": "问候客户", "weight": 30, "source": "000 §9 ④"},
        {"code": "resolution", "name": "问题解决", "weight": 70, "source": "000 §9 ⑥"}]})
    assert changed.status_code == 200, changed.text
    fourth = await _call(client, zhao, project, "投诉噪音", "2026-03-09T11:00:00+08:00")
    # A supervisor who takes calls too does not score their own.
    await assign(db, org, sup_id, "call_agent", org.project)
    own_call = await _call(client, as_(mint, org, sup_id), project, "代班接听", "2026-03-09T12:00:00+08:00")
    self_scored = await client.post(f"{API}/evaluations", headers=sup, json={
        "callId": own_call["id"], "marks": [{"code": "greeting", "rating": 5}, {"code": "resolution", "rating": 5}]})
    assert self_scored.status_code == 403 and "own call" in self_scored.json()["detail"]
    e4 = await ok(await client.post(f"{API}/evaluations", headers=sup, json={
        "callId": fourth["id"], "marks": [{"code": "greeting", "rating": 5}, {"code": "resolution", "rating": 0}]}))
    assert e4["total"] == "30.00" and len(e4["scores"]) == 2
    assert len((await ok(await client.get(f"{API}/evaluations/{e2['id']}", headers=sup), 200))["scores"]) == 6
