"""Return visits followed through and big customers looked after, walked over the API as the
people of the seeds would (seed 000 Ch 4 §11–14, Ch 5 §12–13; seed 001 §3.3.3):

- a big-customer satisfaction survey's finding becomes an improvement plan, reviewed by the
  big-customer supervisor and approved by the big-customer manager, tracked to done; the
  daily scan flags it when overdue and tells its owner once;
- a big customer's strategy, reviewed by the customer-service manager and approved by the GM;
- an on-site return visit: the notice, the specialist's written report, its review, and the
  archived report in the customer's history;
- after-sales service plans: routine before the after-sales manager, non-routine before senior
  management too; tried out, then adopted or sent back."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.models import OutboxMessage
from app.core import clock
from app.core.audit import SYSTEM, tenant_audit
from app.domains.keyaccounts import tasks
from app.domains.keyaccounts.models import SurveyImprovement
from app.domains.keyaccounts.services import improvements
from tests.routes import Ctx, _new_customer, _staff_account, _token_of  # first: it loads the route catalogue

# isort: split
from tests.catalogue.complaints import tenant_ctx
from tests.catalogue.keyaccounts import branch_of, make_key
from tests.catalogue.relations import deciders, standard_answers
from tests.grants import grant
from tests.worker.conftest import Worker, wait_for

BASE = "/api/v1/keyaccounts"
SURVEYS = "/api/v1/surveys"
APPROVALS = "/api/v1/approvals"
WORK = ["keyaccounts:read", "keyaccounts:write", "surveys:read", "surveys:write", "customers:read", "grading:read"]
PERMISSIONS = ["keyaccounts.read", "keyaccounts.write", "surveys.read", "surveys.write", "customers.read"]


@pytest.fixture(scope="module")
async def ctx(app: Any, db: Any, new_tenant: Any, mint: Any) -> Ctx:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await tenant_ctx(c, db, new_tenant, mint, "kac", subject="keyaccounts-test")


def with_client(ctx: Ctx, client: Any) -> Ctx:
    return Ctx(client=client, db=ctx.db, tenant=ctx.tenant, subject=ctx.subject, auth=ctx.auth, mark=ctx.mark)


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


async def staff_member(ctx: Ctx, node_id: str) -> tuple[str, dict[str, str]]:
    """A staff account working at ``node_id`` (a big-customer supervisor or specialist), and
    their token headers."""
    account = await _staff_account(ctx)
    await grant(ctx.db, ctx.tenant, account, PERMISSIONS, uuid.UUID(node_id))
    return account, await _token_of(ctx, account, WORK)


async def act(ctx: Ctx, url: str, move_: str, who: dict[str, str], body: dict[str, Any]) -> Any:
    """POST ``url/move_`` as ``who`` under the record's current ETag."""
    etag = (await ctx.client.get(url, headers=ctx.auth)).headers["etag"]
    return await ctx.client.post(f"{url}/{move_}", headers={**who, "If-Match": etag}, json=body)


async def decide(ctx: Ctx, request_id: str, who: dict[str, str], verdict: str = "approve",
                 comment: str | None = None) -> dict[str, Any]:
    body = {"comment": comment} if comment else {}
    return dict(await ok(await ctx.client.post(f"{APPROVALS}/requests/{request_id}/{verdict}", headers=who,
                                               json=body)))


async def trail(ctx: Ctx, entity_id: str) -> list[str]:
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        return list((await session.scalars(select(tenant_audit.c.action).where(
            tenant_audit.c.entity_id == entity_id).order_by(tenant_audit.c.occurred_at, tenant_audit.c.id))).all())


async def test_the_seeded_chains_name_the_seeds_people(client: Any, ctx: Ctx) -> None:
    async def roles(request_type: str) -> list[tuple[str, str]]:
        chain = await ok(await client.get(f"{APPROVALS}/chains/{request_type}", headers=ctx.auth))
        return [(s["role"], s["at"]) for s in chain["steps"]]

    # 000 Ch 4 §11 ③: supervisor reviews, manager approves; §14 ①: CS manager reviews, GM approves;
    # §13 ⑥: the CS manager reviews the report; Ch 5 §12–13: routine vs non-routine.
    assert await roles("improvement_plan") == [("key_account_supervisor", "branch"),
                                               ("key_account_manager", "branch")]
    assert await roles("key_account_strategy") == [("cs_manager", "branch"), ("general_manager", "branch")]
    assert await roles("key_account_visit_report") == [("cs_manager", "branch")]
    assert await roles("after_sales_plan") == [("after_sales_manager", "branch")]
    assert await roles("after_sales_plan_non_routine") == [("after_sales_manager", "branch"),
                                                           ("senior_management", "branch")]


async def test_a_survey_finding_becomes_an_improvement_plan_tracked_to_done(
        client: Any, ctx: Ctx, db: Any, monkeypatch: Any) -> None:
    c = with_client(ctx, client)
    customer, _, _ = await _new_customer(c)
    await make_key(c, customer["id"])
    project = customer["nodeId"]
    branch = await branch_of(c, project)
    specialist_id, specialist = await staff_member(c, branch)
    supervisor, manager = await deciders(c, [("key_account_supervisor", branch), ("key_account_manager", branch)])

    # The big-customer satisfaction survey (§11 ①): a plan over the big customers, one answered.
    plan = await ok(await client.post(f"{SURVEYS}/plans", headers=specialist, json={
        "nodeId": project, "title": "大客户满意度调查", "method": "visit", "dueOn": "2030-06-30",
        "filters": {"grades": ["A", "B", "C", "D", "E"]}}), 201)
    [target] = (await ok(await client.get(f"{SURVEYS}/targets", headers=specialist,
                                          params={"planId": plan["id"]})))["items"]
    questionnaire, answers = await standard_answers(c)
    result = await ok(await client.post(f"{SURVEYS}/results", headers=specialist, json={
        "customerId": customer["id"], "questionnaireId": questionnaire, "method": "visit", "answers": answers,
        "targetId": target["id"], "comment": "报修响应慢"}), 201)

    # ③ the improvement plan, raised from the result: one source, a staff owner, the finding and action.
    today = clock.utcnow().astimezone(UTC).date()
    body = {"source": "result", "sourceId": result["id"], "finding": "报修平均3天才响应",
            "action": "报修24小时内上门并回访", "ownerId": specialist_id,
            "dueOn": (today + timedelta(days=10)).isoformat()}
    wrong = await client.post(f"{BASE}/improvements", headers=specialist, json={**body, "source": "plan"})
    assert wrong.status_code == 404 and wrong.json()["errors"][0]["field"] == "sourceId"
    nobody = await client.post(f"{BASE}/improvements", headers=specialist, json={**body, "ownerId": str(uuid.uuid4())})
    assert nobody.status_code == 404 and nobody.json()["errors"][0]["field"] == "ownerId"
    created = await client.post(f"{BASE}/improvements", headers=specialist, json=body)
    action = await ok(created, 201)
    url = created.headers["location"]
    assert (action["status"], action["planId"], action["customerId"]) == ("draft", plan["id"], customer["id"])
    early = await act(c, url, "complete", specialist, {"outcome": "x"})
    assert early.status_code == 409 and "in_progress" in early.json()["detail"]

    submitted = await ok(await act(c, url, "submit", specialist, {"note": "请审核改进方案"}))
    assert submitted["status"] == "pending"
    # The supervisor sends it back; revised, it goes round again.
    await decide(c, submitted["approvalRequestId"], supervisor, "reject", "责任人需明确时限")
    assert (await ok(await client.get(url, headers=specialist)))["status"] == "rejected"
    etag = (await client.get(url, headers=specialist)).headers["etag"]
    await ok(await client.patch(url, headers={**specialist, "If-Match": etag},
                                json={"action": "报修24小时内上门，48小时内修复并回访"}))
    again = await ok(await act(c, url, "submit", specialist, {"note": "已修改"}))
    assert again["status"] == "pending" and again["approvalRequestId"] == submitted["approvalRequestId"]
    await decide(c, again["approvalRequestId"], supervisor)
    assert (await ok(await client.get(url, headers=specialist)))["status"] == "pending"  # the manager's turn
    await decide(c, again["approvalRequestId"], manager)
    started = await ok(await client.get(url, headers=specialist))
    assert started["status"] == "in_progress" and started["startedAt"] and started["overdue"] is False
    listed = await ok(await client.get(f"{BASE}/improvements", headers=specialist,
                                       params={"planId": plan["id"], "status": "in_progress"}))
    assert [a["id"] for a in listed["items"]] == [action["id"]]

    # ④ tracking: past its due day it is overdue; the daily scan flags it and tells the owner once.
    late = datetime.combine(today + timedelta(days=12), datetime.min.time(), UTC) + timedelta(hours=4)
    monkeypatch.setattr(clock, "utcnow", lambda: late)
    overdue = await ok(await client.get(f"{BASE}/improvements", headers=specialist, params={"overdue": "true"}))
    assert action["id"] in {a["id"] for a in overdue["items"]}
    for _ in range(2):
        async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = SYSTEM
            await improvements.overdue_scan(session)
    flagged = await ok(await client.get(url, headers=specialist))
    assert flagged["overdue"] is True and flagged["overdueSince"] == late.date().isoformat()
    async with db.platform_session() as session:
        told = (await session.execute(select(OutboxMessage.recipient, OutboxMessage.channel).where(
            OutboxMessage.data["actionId"].astext == action["id"]))).all()
    assert [tuple(t) for t in told] == [(specialist_id, "inbox")]

    done = await ok(await act(c, url, "complete", specialist, {"outcome": "响应时间降至12小时，回访满意"}))
    assert done["status"] == "done" and done["overdue"] is False and done["outcome"].startswith("响应时间")
    assert await trail(c, action["id"]) == [
        "keyaccounts.improvement.create", "keyaccounts.improvement.submit", "keyaccounts.improvement.update",
        "keyaccounts.improvement.submit", "keyaccounts.improvement.start", "keyaccounts.improvement.overdue",
        "keyaccounts.improvement.complete"]

    # A plan's statistics are a source too (no customer of its own).
    from_plan = await ok(await client.post(f"{BASE}/improvements", headers=specialist, json={
        "source": "plan", "sourceId": plan["id"], "finding": "整体满意度低于4分", "action": "调整维修考核",
        "ownerId": specialist_id, "dueOn": "2030-12-31"}), 201)
    assert from_plan["customerId"] is None and from_plan["resultId"] is None


async def test_a_big_customers_strategy_is_approved_by_the_gm(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    ordinary, _, _ = await _new_customer(c)
    branch = await branch_of(c, ordinary["nodeId"])
    _, supervisor = await staff_member(c, branch)
    body = {"customerId": ordinary["id"], "title": "年度维护战略", "goals": "满意度4.5以上，转介绍2户",
            "strategy": "专属客户经理；季度上门回访；顾问式销售", "startsOn": "2030-01-01", "endsOn": "2030-12-31"}
    refused = await client.post(f"{BASE}/strategies", headers=supervisor, json=body)
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "customerId"

    await make_key(c, ordinary["id"])  # an account manager assigned: a big customer now
    backwards = await client.post(f"{BASE}/strategies", headers=supervisor, json={**body, "endsOn": "2029-12-31"})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "endsOn"
    cs_manager, gm = await deciders(c, [("cs_manager", branch), ("general_manager", branch)])
    created = await client.post(f"{BASE}/strategies", headers=supervisor, json={**body, "submit": True})
    strategy = await ok(created, 201)
    url = created.headers["location"]
    assert strategy["status"] == "pending"
    request = await ok(await client.get(f"{APPROVALS}/requests/{strategy['approvalRequestId']}", headers=ctx.auth))
    assert request["type"] == "key_account_strategy" and request["subjectId"] == strategy["id"]
    await decide(c, strategy["approvalRequestId"], cs_manager)
    await decide(c, strategy["approvalRequestId"], gm, "reject", "目标需量化")
    etag = (await client.get(url, headers=supervisor)).headers["etag"]
    await ok(await client.patch(url, headers={**supervisor, "If-Match": etag}, json={"goals": "满意度4.6，转介绍3户"}))
    await ok(await act(c, url, "submit", supervisor, {"note": "目标已量化"}))
    await decide(c, strategy["approvalRequestId"], cs_manager)
    await decide(c, strategy["approvalRequestId"], gm)
    in_force = await ok(await client.get(url, headers=supervisor))
    assert in_force["status"] == "in_force" and in_force["approvedAt"] and in_force["goals"] == "满意度4.6，转介绍3户"
    stale = await client.patch(url, headers={**supervisor, "If-Match": etag}, json={"goals": "x"})
    assert stale.status_code == 412
    fresh = (await client.get(url, headers=supervisor)).headers["etag"]
    frozen = await client.patch(url, headers={**supervisor, "If-Match": fresh}, json={"goals": "x"})
    assert frozen.status_code == 409
    # ⑦ the service review at the end of the period.
    reviewed = await ok(await act(c, url, "review", supervisor, {"review": "满意度4.7，转介绍4户，目标达成"}))
    assert reviewed["status"] == "reviewed" and reviewed["reviewedAt"]
    mine = await ok(await client.get(f"{BASE}/strategies", headers=supervisor, params={"customerId": ordinary["id"]}))
    assert [s["id"] for s in mine["items"]] == [strategy["id"]]


async def test_an_on_site_return_visit_is_reported_approved_and_archived(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    customer, customer_url, _ = await _new_customer(c)
    await make_key(c, customer["id"])
    branch = await branch_of(c, customer["nodeId"])
    _, supervisor = await staff_member(c, branch)
    specialist_id, specialist = await staff_member(c, branch)
    [cs_manager] = await deciders(c, [("cs_manager", branch)])

    # ①② the supervisor issues the notice and assigns the specialist.
    created = await client.post(f"{BASE}/visits", headers=supervisor, json={
        "customerId": customer["id"], "purpose": "交付后季度上门回访", "scheduledOn": "2030-03-15",
        "visitorId": specialist_id})
    visit = await ok(created, 201)
    url = created.headers["location"]
    assert visit["status"] == "notified" and visit["visitorId"] == specialist_id
    assigned = await ok(await client.get(f"{BASE}/visits", headers=specialist, params={"visitorId": specialist_id}))
    assert [v["id"] for v in assigned["items"]] == [visit["id"]]

    # ③–⑥ the visit, the departments' material, the written report to review.
    report = {"visitedOn": "2030-03-15", "findings": "阳台渗水已修复，门窗密封需复查",
              "customerFeedback": "对维修速度满意，希望增加社区活动", "serviceQuality": "工程部：渗水工单2天闭环",
              "companions": [{"name": "张工", "department": "工程部"}]}
    reported = await ok(await act(c, url, "report", specialist, report))
    assert reported["status"] == "pending" and reported["companions"] == [{"name": "张工", "department": "工程部"}]
    timeline = f"{customer_url}/timeline"
    before = await ok(await client.get(timeline, headers=ctx.auth, params={"kind": "key_account_visit"}))
    assert before["items"] == []
    refused = await act(c, url, "cancel", supervisor, {"reason": "x"})
    assert refused.status_code == 409

    # ⑦ reviewed, approved: archived, and in the customer's history.
    await decide(c, reported["approvalRequestId"], cs_manager)
    archived = await ok(await client.get(url, headers=specialist))
    assert archived["status"] == "archived" and archived["archivedAt"]
    history = await ok(await client.get(timeline, headers=ctx.auth, params={"kind": "key_account_visit"}))
    assert [(e["kind"], e["id"], e["status"]) for e in history["items"]] == [
        ("key_account_visit", visit["id"], "archived")]
    assert await trail(c, visit["id"]) == ["keyaccounts.visit.notify", "keyaccounts.visit.report",
                                           "keyaccounts.visit.archive"]

    # Not a big customer: no return-visit notice (outside the supervisor's branch: not even found).
    ordinary, _, _ = await _new_customer(c)
    unseen = await client.post(f"{BASE}/visits", headers=supervisor, json={
        "customerId": ordinary["id"], "purpose": "回访", "scheduledOn": "2030-03-15", "visitorId": specialist_id})
    assert unseen.status_code == 404 and unseen.json()["errors"][0]["field"] == "customerId"
    not_key = await client.post(f"{BASE}/visits", headers=ctx.auth, json={
        "customerId": ordinary["id"], "purpose": "回访", "scheduledOn": "2030-03-15", "visitorId": specialist_id})
    assert not_key.status_code == 409


async def test_after_sales_plans_routine_and_non_routine_through_trial(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    customer, _, _ = await _new_customer(c)
    project = customer["nodeId"]
    branch = await branch_of(c, project)
    _, after_sales = await staff_member(c, branch)
    manager, senior = await deciders(c, [("after_sales_manager", branch), ("senior_management", branch)])
    body = {"nodeId": project, "kind": "routine", "title": "交付首年报修服务", "issue": "首年报修集中在门窗与防水",
            "content": "报修24小时上门；防水一次修复并三日回访", "trialEndsOn": "2030-03-31", "submit": True}

    # A routine plan: the after-sales manager decides; then the trial.
    created = await client.post(f"{BASE}/service-plans", headers=after_sales, json=body)
    routine = await ok(created, 201)
    url = created.headers["location"]
    first_request = routine["approvalRequestId"]
    await decide(c, first_request, manager)
    on_trial = await ok(await client.get(url, headers=after_sales))
    assert on_trial["status"] == "trial" and on_trial["trialStartedAt"]
    # The customers' response is poor: back to a draft, revised, approved anew, then adopted.
    back = await ok(await act(c, url, "evaluation", after_sales,
                              {"evaluation": "客户反映上门时间不便", "adopt": False}))
    assert back["status"] == "draft" and back["approvalRequestId"] is None
    etag = (await client.get(url, headers=after_sales)).headers["etag"]
    await ok(await client.patch(url, headers={**after_sales, "If-Match": etag},
                                json={"content": "报修24小时上门，可预约晚间时段"}))
    resubmitted = await ok(await act(c, url, "submit", after_sales, {}))
    assert resubmitted["approvalRequestId"] != first_request
    await decide(c, resubmitted["approvalRequestId"], manager)
    adopted = await ok(await act(c, url, "evaluation", after_sales, {"evaluation": "客户满意", "adopt": True}))
    assert adopted["status"] == "in_force" and adopted["inForceAt"]
    again = await act(c, url, "evaluation", after_sales, {"evaluation": "x", "adopt": True})
    assert again.status_code == 409

    # A non-routine plan goes before senior management too.
    created = await client.post(f"{BASE}/service-plans", headers=after_sales, json={
        **body, "kind": "non_routine", "title": "批量渗水专项维修", "customerId": customer["id"]})
    special = await ok(created, 201)
    request = await ok(await client.get(f"{APPROVALS}/requests/{special['approvalRequestId']}", headers=ctx.auth))
    assert request["type"] == "after_sales_plan_non_routine"
    await decide(c, special["approvalRequestId"], manager)
    assert (await ok(await client.get(created.headers["location"], headers=after_sales)))["status"] == "pending"
    await decide(c, special["approvalRequestId"], senior)
    assert (await ok(await client.get(created.headers["location"], headers=after_sales)))["status"] == "trial"
    listed = await ok(await client.get(f"{BASE}/service-plans", headers=after_sales,
                                       params={"kind": "non_routine", "customerId": customer["id"]}))
    assert [p["id"] for p in listed["items"]] == [special["id"]]
    group = await client.post(f"{BASE}/service-plans", headers=ctx.auth, json={
        **body, "nodeId": (await ok(await client.get("/api/v1/org/group", headers=ctx.auth)))["id"]})
    assert group.status_code == 422 and group.json()["errors"][0]["field"] == "nodeId"
    assert date.fromisoformat(adopted["trialEndsOn"]) == date(2030, 3, 31)


async def test_the_overdue_scan_runs_through_the_worker(client: Any, worker: Worker, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    customer, _, _ = await _new_customer(c)
    branch = await branch_of(c, customer["nodeId"])
    owner_id, owner = await staff_member(c, branch)
    people = await deciders(c, [("key_account_supervisor", branch), ("key_account_manager", branch)])
    plan = await ok(await client.post(f"{SURVEYS}/plans", headers=owner, json={
        "nodeId": customer["nodeId"], "title": "季度回访", "method": "phone", "dueOn": "2030-06-30"}), 201)
    yesterday = (clock.utcnow().astimezone(UTC).date() - timedelta(days=2)).isoformat()
    action = await ok(await client.post(f"{BASE}/improvements", headers=owner, json={
        "source": "plan", "sourceId": plan["id"], "finding": "回访接通率低", "action": "增加晚间回访时段",
        "ownerId": owner_id, "dueOn": yesterday, "submit": True}), 201)
    for who in people:
        await decide(c, action["approvalRequestId"], who)
    tasks.improvements_overdue.apply_async()

    async def flagged() -> bool:
        async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
            row = await session.get(SurveyImprovement, uuid.UUID(action["id"]))
            return row is not None and row.overdue_since is not None

    assert await wait_for(worker, flagged, "the overdue scan")
