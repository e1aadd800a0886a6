"""Route-catalogue entries of the visit planning routes (see tests/catalogue/__init__.py), and
the subtree matrix's part for them: areas and regional plans sit at a branch or project, key
customers at their own node."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.routes import Ctx, Factory, Made, _create, _new_customer

BASE = "/api/v1/visiting"
AREAS, PLANS, KEYS = f"{BASE}/areas", f"{BASE}/plans", f"{BASE}/key-customers"
AREA, PLAN = f"{AREAS}/{{area_id:uuid}}", f"{PLANS}/{{plan_id:uuid}}"


def _area_body(ctx: Ctx, customer: dict[str, Any]) -> dict[str, Any]:
    return {"nodeId": customer["nodeId"], "name": f"A-only area {ctx.mark}", "transport": f"A's metro {ctx.mark}",
            "routes": [{"name": f"A-only route {ctx.mark}", "customerIds": [customer["id"]], "everyDays": 14}]}


async def new_area(ctx: Ctx) -> tuple[dict[str, Any], str]:
    customer, _, _ = await _new_customer(ctx)
    return await _create(ctx, AREAS, _area_body(ctx, customer))


def _plan_body(ctx: Ctx, area_id: str) -> dict[str, Any]:
    return {"areaId": area_id, "title": f"A-only plan {ctx.mark}", "startsOn": "2026-06-01", "endsOn": "2026-06-30"}


async def _areas(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": _area_body(ctx, customer)})


async def _area(ctx: Ctx) -> Made:
    a, location = await new_area(ctx)
    return Made(params={"area_id": a["id"]}, values=[a["id"], a["name"], a["transport"]], url=location,
                bodies={"PATCH": {"name": f"Renamed {ctx.mark}"}})


async def _plans(ctx: Ctx) -> Made:
    a, _ = await new_area(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": _plan_body(ctx, a["id"])})


def _plan(post: dict[str, Any] | None = None) -> Factory:
    async def make(ctx: Ctx) -> Made:
        a, _ = await new_area(ctx)
        p, location = await _create(ctx, PLANS, _plan_body(ctx, a["id"]))
        bodies: dict[str, Any] = {"PATCH": {"title": f"Renamed {ctx.mark}"}}
        if post is not None:
            bodies["POST"] = post
        return Made(params={"plan_id": p["id"]}, values=[p["id"], p["title"]], url=location, bodies=bodies)

    return make


async def _keys(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


FACTORIES: dict[str, Factory] = {
    AREAS: _areas,
    AREA: _area,
    PLANS: _plans,
    PLAN: _plan(),
    f"{PLAN}/summary": _plan(),
    f"{PLAN}/close": _plan({"summary": "A-only summary: every stop visited."}),
    KEYS: _keys,
}


# ------------------------------------------------------------------------- subtree matrix


def _truth(model_name: str, value: str) -> Any:
    def truth() -> Select[Any]:
        from app.domains.org.models import OrgNode
        from app.domains.visiting import models

        model = getattr(models, model_name)
        return (select(model.id, OrgNode.path, getattr(model, value), model.version)
                .join(OrgNode, OrgNode.id == model.node_id))

    return truth


def _customers() -> Select[Any]:
    from app.domains.customers.models import Customer
    from app.domains.org.models import OrgNode

    return select(Customer.id, OrgNode.path, Customer.name, Customer.version).join(
        OrgNode, OrgNode.id == Customer.node_id)


async def _populate(seed: WorldSeed) -> None:
    """Per project an area whose route is the project's customers, and its June plan."""
    listed = await seed.client.get("/api/v1/customers", headers=seed.admin, params={"limit": 200})
    assert listed.status_code == 200, listed.text
    for project in seed.projects:
        customers = [c["id"] for c in listed.json()["items"] if c["nodeId"] == project["id"]]
        made = await seed.client.post(AREAS, headers=seed.admin, json={
            "nodeId": project["id"], "name": f"{project['name']}片区",
            "routes": [{"name": "一号线路", "customerIds": customers}] if customers else []})
        assert made.status_code == 201, made.text
        plan = await seed.client.post(PLANS, headers=seed.admin, json={
            "areaId": made.json()["id"], "title": f"{project['name']}六月拜访计划", "startsOn": "2026-06-01",
            "endsOn": "2026-06-30"})
        assert plan.status_code == 201, plan.text


SUBTREE = SubtreeSpec(
    kinds={"visit_area": Kind("interactions.read", _truth("VisitArea", "name")),
           "regional_visit_plan": Kind("interactions.read", _truth("RegionalVisitPlan", "title")),
           # A key customer as the key-customer visit plan shows them.
           "key_customer": Kind("interactions.read", _customers)},
    lists={AREAS: "visit_area", PLANS: "regional_visit_plan"},
    # Key customers only: those with an account manager or of grade A or B.
    subset_lists={KEYS: "key_customer"},
    details={AREA: "visit_area", PLAN: "regional_visit_plan", f"{PLAN}/summary": "regional_visit_plan",
             f"{PLAN}/close": "regional_visit_plan"},
    read_urls={"visit_area": f"{AREAS}/{{}}", "regional_visit_plan": f"{PLANS}/{{}}"},
    write_bodies={(AREA, "PATCH"): lambda w, u: {"name": "changed"},
                  (PLAN, "PATCH"): lambda w, u: {"title": "changed"},
                  (f"{PLAN}/close", "POST"): lambda w, u: {"summary": "closed"}},
    creates={AREAS: ("project", lambda n: {"nodeId": str(n), "name": "x"}, "interactions.write"),
             PLANS: ("visit_area", lambda n: {"areaId": str(n), "title": "x", "startsOn": "2026-06-01",
                                              "endsOn": "2026-06-30"}, "interactions.write")},
    populate=_populate,
)
