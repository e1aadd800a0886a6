"""Club activities over the API, from plan to evaluation: the plan through approval (revise
until approved), publication by tier and project, registration from the owner's app over
capacity onto the waitlist and the automatic promotion when a place is given back, QR check-in
that cannot be forged or reused, the record and the evaluation with a satisfaction survey
through the surveys domain."""

from __future__ import annotations

from typing import Any

import pytest

from tests.routes import _create  # first: it loads the catalogue modules

# isort: split
from tests.catalogue.club import BASE, MINE, _branch_of, activity_body, manager, new_club, ok
from tests.catalogue.complaints import owner, tenant_ctx
from tests.catalogue.relations import standard_answers
from tests.routes import Ctx


@pytest.fixture(scope="module")
async def ctx(app: Any, db: Any, new_tenant: Any, mint: Any) -> Ctx:
    import httpx

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    return await tenant_ctx(client, db, new_tenant, mint, "clubact")


async def _move(ctx: Ctx, url: str, action: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    who = headers or ctx.auth
    etag = (await ctx.client.get(url, headers=who)).headers["etag"]
    return await ctx.client.post(f"{url}/{action}", headers={**who, "If-Match": etag}, json=body)


async def test_an_activity_from_plan_to_evaluation(ctx: Ctx) -> None:
    club, _ = await new_club(ctx)
    # Four owners, each of a project of their own (the first's is the venue).
    owners = [await owner(ctx) for _ in range(4)]
    project = owners[0][1]["units"][0]["projectId"]
    members = []
    for auth, _, _ in owners:
        members.append(await ok(await ctx.client.post(f"{MINE}/memberships", headers=auth,
                                                      json={"clubId": club["id"]}), 201))
    approver = await manager(ctx, await _branch_of(ctx, project))

    # The plan, for every member's project but the last's.
    projects = [o[1]["units"][0]["projectId"] for o in owners[:3]]
    created = await ctx.client.post(f"{BASE}/activities", headers=ctx.auth, json=activity_body(
        club["id"], project, capacity=2, projectIds=projects, tiers=["member", "gold"]))
    activity = await ok(created, 201)
    url = created.headers["location"]
    assert activity["number"].startswith("HD-") and activity["status"] == "draft"
    assert activity["budgetTotal"] == "3000.00"
    unknown = await ctx.client.post(f"{BASE}/activities", headers=ctx.auth, json=activity_body(
        club["id"], project, tiers=["diamond"]))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "tiers.0"
    backwards = await ctx.client.post(f"{BASE}/activities", headers=ctx.auth, json=activity_body(
        club["id"], project, endsAt="2030-04-30T10:00:00+08:00"))
    assert backwards.status_code == 422
    # Not published before it is approved.
    assert (await _move(ctx, url, "publish")).status_code == 409
    submitted = await ok(await _move(ctx, url, "submit", {}))
    assert submitted["status"] == "pending"
    request_id = submitted["approvalRequestId"]
    await ok(await ctx.client.post(f"/api/v1/approvals/requests/{request_id}/reject", headers=approver,
                                   json={"comment": "预算请细化"}))
    revised = await ok(await ctx.client.patch(url, headers={
        **ctx.auth, "If-Match": (await ctx.client.get(url, headers=ctx.auth)).headers["etag"]}, json={"budget": [
            {"item": "场地", "amount": "1500.00"}, {"item": "物料", "amount": "800.00"},
            {"item": "摄影", "amount": "500.00"}]}))
    assert revised["budgetTotal"] == "2800.00"
    await ok(await _move(ctx, url, "submit", {"note": "已细化"}))
    await ok(await ctx.client.post(f"/api/v1/approvals/requests/{request_id}/approve", headers=approver, json={}))
    published = await ok(await _move(ctx, url, "publish"))
    assert published["status"] == "published"

    # Offered to the members of the named projects only.
    me, other = owners[0][0], owners[3][0]
    offered = await ok(await ctx.client.get(f"{MINE}/activities", headers=me))
    assert [a["id"] for a in offered["items"]] == [activity["id"]] and offered["items"][0]["placesLeft"] == 2
    assert (await ok(await ctx.client.get(f"{MINE}/activities", headers=other)))["total"] == 0
    refused = await ctx.client.post(f"{MINE}/activities/{activity['id']}/registrations", headers=other)
    assert refused.status_code == 404

    # Two places, three owners: the third waits.
    regs = []
    for auth, _, _ in owners[:3]:
        regs.append(await ok(await ctx.client.post(f"{MINE}/activities/{activity['id']}/registrations",
                                                   headers=auth), 201))
    assert [r["status"] for r in regs] == ["registered", "registered", "waitlisted"]
    assert regs[2]["waitlistPosition"] == 1 and regs[2]["checkInToken"] is None
    assert regs[0]["checkInToken"]
    again = await ctx.client.post(f"{MINE}/activities/{activity['id']}/registrations", headers=me)
    assert again.status_code == 409
    counted = await ok(await ctx.client.get(url, headers=ctx.auth))
    assert (counted["registered"], counted["waitlisted"]) == (2, 1)

    # The second owner gives the place back: the waiting one takes it at once.
    second = f"{MINE}/registrations/{regs[1]['id']}"
    await ok(await _move(ctx, second, "cancel", None, owners[1][0]))
    promoted = await ok(await ctx.client.get(f"{MINE}/registrations/{regs[2]['id']}", headers=owners[2][0]))
    assert promoted["status"] == "registered" and promoted["promotedAt"] and promoted["checkInToken"]
    # One's registration is nobody else's.
    assert (await ctx.client.get(second, headers=me)).status_code == 404

    # Check-in at the door: a forged code, another's code changed by one character, then the real one, once.
    token = regs[0]["checkInToken"]
    for forged in ("nonsense", f"{regs[1]['id']}.{token.split('.')[1]}", token[:-1] + ("a" if token[-1] != "a"
                                                                                         else "b")):
        bad = await ctx.client.post(f"{url}/check-ins", headers=ctx.auth, json={"token": forged})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "token"
    checked = await ok(await ctx.client.post(f"{url}/check-ins", headers=ctx.auth, json={"token": token}))
    assert checked["status"] == "checked_in" and checked["checkedInAt"]
    reused = await ctx.client.post(f"{url}/check-ins", headers=ctx.auth, json={"token": token})
    assert reused.status_code == 409 and "used already" in reused.json()["detail"]
    await ok(await ctx.client.post(f"{url}/check-ins", headers=ctx.auth, json={"token": promoted["checkInToken"]}))
    # A cancelled place's code is no use.
    cancelled = await ctx.client.post(f"{url}/check-ins", headers=ctx.auth, json={
        "token": (await ok(await ctx.client.get(f"{BASE}/registrations/{regs[1]['id']}",
                                                headers=ctx.auth)))["id"] + ".x"})
    assert cancelled.status_code == 422

    # The record, then the satisfaction survey through the surveys domain, then the evaluation.
    assert (await _move(ctx, url, "evaluation", {"referrals": 1, "purchases": 1})).status_code == 409
    held = await ok(await _move(ctx, url, "record", {"summary": "两组家庭参加，反响热烈", "actual": [
        {"item": "场地", "amount": "1500.00"}, {"item": "物料", "amount": "900.00"}]}))
    assert held["status"] == "held" and held["actualCost"] == "2400.00"
    questionnaire, answers = await standard_answers(ctx)
    for _, customer, _ in (owners[0], owners[2], owners[1]):  # the last did not come: not counted
        await _create(ctx, "/api/v1/surveys/results", {"customerId": customer["id"], "questionnaireId": questionnaire,
                                                       "method": "visit", "answers": answers, "comment": "很好",
                                                       "respondedAt": "2030-05-02T10:00:00+08:00"})
    evaluated = await ok(await _move(ctx, url, "evaluation", {
        "referrals": 3, "purchases": 1, "salesValue": "2400000.00", "questionnaireId": questionnaire}))
    assert evaluated["participants"] == 2 and evaluated["registered"] == 2 and evaluated["attendanceRate"] == 1.0
    assert evaluated["costPerParticipant"] == "1200.00" and evaluated["conversionRate"] == 0.5
    assert evaluated["benefitCostRatio"] == 1000.0 and evaluated["satisfactionResponses"] == 2
    assert evaluated["satisfaction"] == 100.0  # every overall score a 4
    got = await ok(await ctx.client.get(f"{url}/evaluation", headers=ctx.auth))
    assert got == evaluated
    assert (await ok(await ctx.client.get(url, headers=ctx.auth)))["status"] == "evaluated"


async def test_staff_register_and_cancel_promotes(ctx: Ctx) -> None:
    club, _ = await new_club(ctx)
    auth, customer, _ = await owner(ctx)
    project = customer["units"][0]["projectId"]
    approver = await manager(ctx, await _branch_of(ctx, project))
    _, other, _ = await owner(ctx)
    a, url = await _create(ctx, f"{BASE}/activities", activity_body(club["id"], project, capacity=1, submit=True))
    await ok(await ctx.client.post(f"/api/v1/approvals/requests/{a['approvalRequestId']}/approve", headers=approver,
                                   json={}))
    await ok(await _move(ctx, url, "publish"))
    m1, _ = await _create(ctx, f"{BASE}/members", {"clubId": club["id"], "customerId": customer["id"]})
    m2, _ = await _create(ctx, f"{BASE}/members", {"clubId": club["id"], "customerId": other["id"]})
    r1, r1_url = await _create(ctx, f"{url}/registrations", {"memberId": m1["id"]})
    r2, _ = await _create(ctx, f"{url}/registrations", {"memberId": m2["id"]})
    assert (r1["status"], r2["status"]) == ("registered", "waitlisted")
    assert r1["checkInToken"] is None  # the code is the owner's to show
    listed = await ok(await ctx.client.get(f"{url}/registrations", headers=ctx.auth, params={"status": "waitlisted"}))
    assert [r["id"] for r in listed["items"]] == [r2["id"]]
    await ok(await _move(ctx, r1_url, "cancel"))
    after = await ok(await ctx.client.get(f"{BASE}/registrations/{r2['id']}", headers=ctx.auth))
    assert after["status"] == "registered"
    # The activity is cancelled: nothing more to register for.
    await ok(await _move(ctx, url, "cancel", {"reason": "天气原因"}))
    late = await ctx.client.post(f"{url}/registrations", headers=ctx.auth, json={"memberId": m1["id"]})
    assert late.status_code == 409
