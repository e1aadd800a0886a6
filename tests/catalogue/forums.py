"""Route-catalogue entries of customer forums and their improvement actions (see
tests/catalogue/__init__.py); and the subtree matrix's part."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.catalogue.club import _branch_of, manager, ok
from tests.routes import Ctx, Factory, Made, _create, _new_customer, _new_project, _staff_account

BASE = "/api/v1/forums"
WHEN = "2030-03-20T14:30:00+08:00"
DUE = "2030-06-30"


def forum_body(node_id: str, **extra: Any) -> dict[str, Any]:
    return {"nodeId": node_id, "title": f"交付前业主座谈会 {uuid.uuid4().hex[:6]}", "kind": "ad_hoc",
            "scope": "thematic", "theme": "交付标准", "purpose": "了解业主对交付标准的关注点", "plannedAt": WHEN,
            "format": "圆桌座谈", "venue": "售楼处会议室", "participants": "业主代表10人、项目经理、客服经理",
            "budget": "3000.00", **extra}


async def new_forum(ctx: Ctx, state: str = "draft", project_id: str | None = None,
                    guests: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """A forum at a project (a new one unless named): a ``draft``, ``approved`` with two
    customers invited (new ones unless named), or ``held`` (the first came). Also the invited."""
    if project_id is None:
        project_id = (await _new_project(ctx))[0]["id"]
    who = await manager(ctx, await _branch_of(ctx, project_id))
    f, location = await _create(ctx, BASE, forum_body(project_id, submit=state != "draft"))
    if state == "draft":
        return f, location, []
    await ok(await ctx.client.post(f"/api/v1/approvals/requests/{f['approvalRequestId']}/approve", headers=who,
                                   json={}))
    guests = guests or [(await _new_customer(ctx))[0] for _ in range(2)]
    etag = (await ctx.client.get(location, headers=ctx.auth)).headers["etag"]
    await ok(await ctx.client.post(f"{location}/invitations", headers={**ctx.auth, "If-Match": etag},
                                   json={"customerIds": [g["id"] for g in guests]}))
    if state == "held":
        etag = (await ctx.client.get(location, headers=ctx.auth)).headers["etag"]
        await ok(await ctx.client.post(f"{location}/minutes", headers={**ctx.auth, "If-Match": etag}, json={
            "heldAt": WHEN, "minutes": "业主关注入户门质量与园林绿化", "attended": [guests[0]["id"]]}))
    return await ok(await ctx.client.get(location, headers=ctx.auth)), location, guests


async def new_action(ctx: Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    """An open improvement action of a held forum; and its finding."""
    f, location, _ = await new_forum(ctx, "held")
    owner = await _staff_account(ctx)
    finding, _ = await _create(ctx, f"{location}/findings", {
        "category": "product", "description": f"入户门隔音差 {ctx.mark}",
        "actions": [{"title": f"更换入户门密封条 {ctx.mark}", "ownerId": owner, "dueOn": DUE}]})
    return finding["actions"][0], finding


async def _forums(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": forum_body(project["id"])})


def _forum(state: str, post: Callable[[list[dict[str, Any]]], dict[str, Any]] | None) -> Factory:
    async def make(ctx: Ctx) -> Made:
        f, location, guests = await new_forum(ctx, state)
        extra = {"POST": post(guests)} if post is not None else {}
        return Made(params={"forum_id": f["id"]}, values=[f["id"], f["number"], f["title"]], url=location,
                    bodies={"PATCH": {"venue": f"会所 {ctx.mark}"}, **extra})

    return make


async def _invitations(ctx: Ctx) -> Made:
    f, location, _ = await new_forum(ctx)
    c, _, _ = await _new_customer(ctx)
    return Made(params={"forum_id": f["id"]}, values=[f["id"], f["number"]], url=location,
                bodies={"POST": {"customerIds": [c["id"]]}})


async def _findings(ctx: Ctx) -> Made:
    f, location, _ = await new_forum(ctx, "held")
    owner = await _staff_account(ctx)
    return Made(params={"forum_id": f["id"]}, values=[f["id"], f["number"]], url=location, bodies={"POST": {
        "category": "service", "description": f"报修响应慢 {ctx.mark}",
        "actions": [{"title": "报修两小时内响应", "ownerId": owner, "dueOn": DUE}]}})


async def _actions(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


def _action(post: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        a, finding = await new_action(ctx)
        return Made(params={"action_id": a["id"]}, values=[a["id"], a["title"], finding["description"]],
                    url=f"{BASE}/actions/{a['id']}", bodies={"PATCH": {"progress": "已联系供应商"}, "POST": post})

    return make


FORUM = f"{BASE}/{{forum_id:uuid}}"
ACTION = f"{BASE}/actions/{{action_id:uuid}}"
FACTORIES: dict[str, Factory] = {
    BASE: _forums,
    FORUM: _forum("draft", None),
    f"{FORUM}/submit": _forum("draft", lambda g: {}),
    f"{FORUM}/invitations": _invitations,
    f"{FORUM}/minutes": _forum("approved", lambda g: {"heldAt": WHEN, "minutes": "纪要", "attended": [g[0]["id"]]}),
    f"{FORUM}/findings": _findings,
    f"{FORUM}/close": _forum("held", lambda g: {"analysis": "业主最关注交付质量"}),
    f"{FORUM}/cancel": _forum("draft", lambda g: {"reason": "catalogue"}),
    f"{BASE}/actions": _actions,
    ACTION: _action({}),
    f"{ACTION}/complete": _action({"result": "已更换"}),
    f"{ACTION}/drop": _action({"reason": "不再需要"}),
}


def _kinds() -> dict[str, Kind]:
    from app.domains.forums.models import Forum, ImprovementAction
    from app.domains.org.models import OrgNode

    def at_node(model: Any, value: Any) -> Callable[[], Select[Any]]:
        return lambda: select(model.id, OrgNode.path, value, model.version).join(OrgNode, OrgNode.id == model.node_id)

    return {"forum": Kind("forums.read", at_node(Forum, Forum.title)),
            "forum_action": Kind("forums.read", at_node(ImprovementAction, ImprovementAction.title))}


async def _populate(seed: WorldSeed) -> None:
    """Per project a held forum with a finding and its action."""
    ctx = Ctx(client=seed.client, db=seed.db, tenant=seed.slug, subject="subtree-admin", auth=seed.admin,
              mark="subtree")
    owner = await _staff_account(ctx)
    customers = (await ok(await ctx.client.get("/api/v1/customers", params={"limit": 200},
                                               headers=ctx.auth)))["items"]
    for project in seed.projects:
        guest = next(c for c in customers if c["nodeId"] == project["id"])
        f, location, _ = await new_forum(ctx, "held", project["id"], [guest])
        await _create(ctx, f"{location}/findings", {"category": "service", "description": f"{project['name']}的意见",
                                                    "actions": [{"title": f"{project['name']}改进", "ownerId": owner,
                                                                 "dueOn": DUE}]})


SUBTREE = SubtreeSpec(
    kinds=_kinds(),
    lists={BASE: "forum", f"{BASE}/actions": "forum_action"},
    details={**{f"{FORUM}{tail}": "forum" for tail in ("", "/submit", "/invitations", "/minutes", "/findings",
                                                       "/close", "/cancel")},
             **{f"{ACTION}{tail}": "forum_action" for tail in ("", "/complete", "/drop")}},
    read_urls={"forum": f"{BASE}/{{}}", "forum_action": f"{BASE}/actions/{{}}"},
    write_bodies={
        (FORUM, "PATCH"): lambda w, u: {"venue": "changed"},
        (f"{FORUM}/submit", "POST"): lambda w, u: {},
        (f"{FORUM}/invitations", "POST"): lambda w, u: {"customerIds": [str(uuid.uuid4())]},
        (f"{FORUM}/minutes", "POST"): lambda w, u: {"heldAt": WHEN, "minutes": "x"},
        (f"{FORUM}/findings", "POST"): lambda w, u: {"category": "service", "description": "x"},
        (f"{FORUM}/close", "POST"): lambda w, u: {"analysis": "x"},
        (f"{FORUM}/cancel", "POST"): lambda w, u: {"reason": "changed"},
        (ACTION, "PATCH"): lambda w, u: {"progress": "changed"},
        (f"{ACTION}/complete", "POST"): lambda w, u: {"result": "changed"},
        (f"{ACTION}/drop", "POST"): lambda w, u: {"reason": "changed"},
    },
    creates={BASE: ("project", lambda n: forum_body(str(n)), "forums.write")},
    populate=_populate,
)
