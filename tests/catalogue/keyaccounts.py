"""Route-catalogue entries of key accounts (see tests/catalogue/__init__.py): improvement
actions, big-customer strategies and return visits, after-sales service plans; and the
subtree matrix's part. Every record sits at its customer's, plan's or result's node."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.catalogue.relations import deciders
from tests.routes import Ctx, Factory, Made, _create, _new_customer, _staff_account, shared

BASE = "/api/v1/keyaccounts"
GRADING = "/api/v1/grading"
SURVEYS = "/api/v1/surveys"
IMPROVEMENT = f"{BASE}/improvements/{{action_id:uuid}}"
STRATEGY = f"{BASE}/strategies/{{strategy_id:uuid}}"
VISIT = f"{BASE}/visits/{{visit_id:uuid}}"
PLAN = f"{BASE}/service-plans/{{plan_id:uuid}}"


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json()


async def staff(ctx: Ctx) -> str:
    """A staff account of the tenant (an owner, a specialist, an account manager)."""
    return await shared(ctx, "keyaccounts-staff", lambda: _staff_account(ctx))


async def branch_of(ctx: Ctx, project_id: str) -> str:
    return str((await ok(await ctx.client.get(f"/api/v1/org/projects/{project_id}", headers=ctx.auth)))["parentId"])


async def make_key(ctx: Ctx, customer_id: str, auth: dict[str, str] | None = None) -> None:
    """The customer graded (in-process) and given an account manager: a big customer."""
    from app.core.audit import SYSTEM
    from app.domains.grading.services import recompute

    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        await recompute(session, customer_id=uuid.UUID(customer_id))
    url = f"{GRADING}/customers/{customer_id}"
    headers = auth or ctx.auth
    etag = (await ctx.client.get(url, headers=headers)).headers["etag"]
    await ok(await ctx.client.put(f"{url}/account-manager", headers={**headers, "If-Match": etag},
                                  json={"accountId": await staff(ctx), "reason": "大客户"}))


async def key_customer(ctx: Ctx) -> dict[str, Any]:
    c, _, _ = await _new_customer(ctx)
    await make_key(ctx, c["id"])
    return c


def action_body(plan_id: str, owner: str, **extra: Any) -> dict[str, Any]:
    return {"source": "plan", "sourceId": plan_id, "finding": "维修响应慢", "action": "报修24小时内上门",
            "ownerId": owner, "dueOn": "2030-06-30", **extra}


async def survey_plan(ctx: Ctx, node_id: str, title: str | None = None) -> dict[str, Any]:
    p, _ = await _create(ctx, f"{SURVEYS}/plans", {"nodeId": node_id, "title": title or f"回访 {ctx.mark}",
                                                   "method": "phone", "dueOn": "2030-06-30"})
    return p


def strategy_body(customer_id: str, **extra: Any) -> dict[str, Any]:
    return {"customerId": customer_id, "title": "大客户年度战略", "goals": "满意度4.5以上",
            "strategy": "专属客户经理，季度上门回访", "startsOn": "2030-01-01", "endsOn": "2030-12-31", **extra}


def plan_body(node_id: str, **extra: Any) -> dict[str, Any]:
    return {"nodeId": node_id, "kind": "routine", "title": "交付首年报修服务", "issue": "门窗与防水报修集中",
            "content": "报修24小时上门", "trialEndsOn": "2030-03-31", **extra}


# ---------------------------------------------------------------------------- factories


async def _improvements(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    p = await survey_plan(ctx, c["nodeId"])
    return Made(params={}, values=[], url=None, bodies={"POST": action_body(p["id"], await staff(ctx))})


async def new_action(ctx: Ctx, state: str) -> tuple[dict[str, Any], str]:
    """An improvement action: a ``draft`` or ``in_progress`` (approved)."""
    c, _, _ = await _new_customer(ctx)
    p = await survey_plan(ctx, c["nodeId"])
    branch = await branch_of(ctx, c["nodeId"])
    people = await deciders(ctx, [("key_account_supervisor", branch), ("key_account_manager", branch)])
    a, location = await _create(ctx, f"{BASE}/improvements", action_body(
        p["id"], await staff(ctx), finding=f"A-only finding {ctx.mark}", submit=state != "draft"))
    if state != "draft":
        for who in people:
            await ok(await ctx.client.post(f"/api/v1/approvals/requests/{a['approvalRequestId']}/approve",
                                           headers=who, json={}))
        a = await ok(await ctx.client.get(location, headers=ctx.auth))
    return a, location


def _action(state: str, post: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        a, location = await new_action(ctx, state)
        return Made(params={"action_id": a["id"]}, values=[a["id"], a["number"], a["finding"]], url=location,
                    bodies={"PATCH": {"dueOn": "2030-07-31"}, "POST": post})

    return make


async def _strategies(ctx: Ctx) -> Made:
    c = await key_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": strategy_body(c["id"])})


def _strategy(state: str, post: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        c = await key_customer(ctx)
        branch = await branch_of(ctx, c["nodeId"])
        people = await deciders(ctx, [("cs_manager", branch), ("general_manager", branch)])
        s, location = await _create(ctx, f"{BASE}/strategies", strategy_body(
            c["id"], title=f"A-only strategy {ctx.mark}", submit=state != "draft"))
        if state != "draft":
            for who in people:
                await ok(await ctx.client.post(f"/api/v1/approvals/requests/{s['approvalRequestId']}/approve",
                                               headers=who, json={}))
        return Made(params={"strategy_id": s["id"]}, values=[s["id"], s["number"], s["title"]], url=location,
                    bodies={"PATCH": {"goals": "转介绍2户"}, "POST": post})

    return make


def visit_body(customer_id: str, visitor: str, **extra: Any) -> dict[str, Any]:
    return {"customerId": customer_id, "purpose": "季度上门回访", "scheduledOn": "2030-03-15", "visitorId": visitor,
            **extra}


REPORT = {"visitedOn": "2030-03-15", "findings": "房屋使用正常", "customerFeedback": "满意",
          "companions": [{"name": "张工", "department": "工程部"}]}


async def _visits(ctx: Ctx) -> Made:
    c = await key_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": visit_body(c["id"], await staff(ctx))})


def _visit(post: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        c = await key_customer(ctx)
        await deciders(ctx, [("cs_manager", await branch_of(ctx, c["nodeId"]))])
        v, location = await _create(ctx, f"{BASE}/visits", visit_body(c["id"], await staff(ctx),
                                                                      purpose=f"A-only purpose {ctx.mark}"))
        return Made(params={"visit_id": v["id"]}, values=[v["id"], v["number"], v["purpose"]], url=location,
                    bodies={"POST": post})

    return make


async def _plans(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": plan_body(c["nodeId"])})


def _plan(state: str, post: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        c, _, _ = await _new_customer(ctx)
        people = await deciders(ctx, [("after_sales_manager", await branch_of(ctx, c["nodeId"]))])
        p, location = await _create(ctx, f"{BASE}/service-plans", plan_body(
            c["nodeId"], title=f"A-only plan {ctx.mark}", submit=state != "draft"))
        if state != "draft":
            await ok(await ctx.client.post(f"/api/v1/approvals/requests/{p['approvalRequestId']}/approve",
                                           headers=people[0], json={}))
        return Made(params={"plan_id": p["id"]}, values=[p["id"], p["number"], p["title"]], url=location,
                    bodies={"PATCH": {"content": "报修12小时上门"}, "POST": post})

    return make


FACTORIES: dict[str, Factory] = {
    f"{BASE}/improvements": _improvements,
    IMPROVEMENT: _action("draft", {}),
    f"{IMPROVEMENT}/submit": _action("draft", {"note": "catalogue"}),
    f"{IMPROVEMENT}/complete": _action("in_progress", {"outcome": "响应时间降至12小时"}),
    f"{IMPROVEMENT}/cancel": _action("draft", {"reason": "catalogue"}),
    f"{BASE}/strategies": _strategies,
    STRATEGY: _strategy("draft", {}),
    f"{STRATEGY}/submit": _strategy("draft", {"note": "catalogue"}),
    f"{STRATEGY}/review": _strategy("in_force", {"review": "目标达成"}),
    f"{BASE}/visits": _visits,
    VISIT: _visit({}),
    f"{VISIT}/report": _visit(REPORT),
    f"{VISIT}/cancel": _visit({"reason": "catalogue"}),
    f"{BASE}/service-plans": _plans,
    PLAN: _plan("draft", {}),
    f"{PLAN}/submit": _plan("draft", {"note": "catalogue"}),
    f"{PLAN}/evaluation": _plan("trial", {"evaluation": "客户反映良好", "adopt": True}),
}


# --------------------------------------------------------------------------- the subtree


def _at_node(model: Any, value: Any) -> Callable[[], Select[Any]]:
    from app.domains.org.models import OrgNode

    return lambda: select(model.id, OrgNode.path, value, model.version).join(OrgNode, OrgNode.id == model.node_id)


def _kinds() -> dict[str, Kind]:
    from app.domains.keyaccounts.models import AfterSalesPlan, KeyAccountStrategy, KeyAccountVisit, SurveyImprovement

    return {
        "survey_improvement": Kind("keyaccounts.read", _at_node(SurveyImprovement, SurveyImprovement.finding)),
        "key_account_strategy": Kind("keyaccounts.read", _at_node(KeyAccountStrategy, KeyAccountStrategy.title)),
        "key_account_visit": Kind("keyaccounts.read", _at_node(KeyAccountVisit, KeyAccountVisit.purpose)),
        "after_sales_plan": Kind("keyaccounts.read", _at_node(AfterSalesPlan, AfterSalesPlan.title)),
    }


def _write_bodies() -> dict[tuple[str, str], Callable[[Any, Any], Any]]:
    return {
        (IMPROVEMENT, "PATCH"): lambda w, u: {"dueOn": "2031-01-01"},
        (f"{IMPROVEMENT}/submit", "POST"): lambda w, u: {},
        (f"{IMPROVEMENT}/complete", "POST"): lambda w, u: {"outcome": "changed"},
        (f"{IMPROVEMENT}/cancel", "POST"): lambda w, u: {"reason": "changed"},
        (STRATEGY, "PATCH"): lambda w, u: {"goals": "changed"},
        (f"{STRATEGY}/submit", "POST"): lambda w, u: {},
        (f"{STRATEGY}/review", "POST"): lambda w, u: {"review": "changed"},
        (f"{VISIT}/report", "POST"): lambda w, u: REPORT,
        (f"{VISIT}/cancel", "POST"): lambda w, u: {"reason": "changed"},
        (PLAN, "PATCH"): lambda w, u: {"content": "changed"},
        (f"{PLAN}/submit", "POST"): lambda w, u: {},
        (f"{PLAN}/evaluation", "POST"): lambda w, u: {"evaluation": "changed", "adopt": True},
    }


def _creates() -> dict[str, tuple[str, Callable[[uuid.UUID], dict[str, Any]], str]]:
    return {f"{BASE}/service-plans": ("project", lambda n: plan_body(str(n)), "keyaccounts.write")}


async def _populate(seed: WorldSeed) -> None:
    """Per project, about its owner made a big customer: a draft improvement action from a
    return-visit plan there, a draft strategy, a visit notice; and a draft after-sales plan."""
    ctx = Ctx(client=seed.client, db=seed.db, tenant=seed.slug, subject="subtree-admin", auth=seed.admin,
              mark="subtree")
    customers = (await ok(await ctx.client.get("/api/v1/customers", params={"limit": 200},
                                               headers=ctx.auth)))["items"]
    for project in seed.projects:
        owner = next(c for c in customers if c["nodeId"] == project["id"])
        name = project["name"]
        await make_key(ctx, owner["id"])
        p = await survey_plan(ctx, project["id"], f"{name}大客户满意度调查")
        await _create(ctx, f"{BASE}/improvements", action_body(p["id"], await staff(ctx), finding=f"{name}的发现"))
        await _create(ctx, f"{BASE}/strategies", strategy_body(owner["id"], title=f"{name}大客户战略"))
        await _create(ctx, f"{BASE}/visits", visit_body(owner["id"], await staff(ctx), purpose=f"{name}上门回访"))
        await _create(ctx, f"{BASE}/service-plans", plan_body(project["id"], title=f"{name}售后服务计划"))


SUBTREE = SubtreeSpec(
    kinds=_kinds(),
    lists={f"{BASE}/improvements": "survey_improvement", f"{BASE}/strategies": "key_account_strategy",
           f"{BASE}/visits": "key_account_visit", f"{BASE}/service-plans": "after_sales_plan"},
    details={
        **{f"{IMPROVEMENT}{tail}": "survey_improvement" for tail in ("", "/submit", "/complete", "/cancel")},
        **{f"{STRATEGY}{tail}": "key_account_strategy" for tail in ("", "/submit", "/review")},
        **{f"{VISIT}{tail}": "key_account_visit" for tail in ("", "/report", "/cancel")},
        **{f"{PLAN}{tail}": "after_sales_plan" for tail in ("", "/submit", "/evaluation")},
    },
    read_urls={"survey_improvement": f"{BASE}/improvements/{{}}", "key_account_strategy": f"{BASE}/strategies/{{}}",
               "key_account_visit": f"{BASE}/visits/{{}}", "after_sales_plan": f"{BASE}/service-plans/{{}}"},
    write_bodies=_write_bodies(),
    creates=_creates(),
    populate=_populate,
)
