"""Route-catalogue entries of customer information (see tests/catalogue/__init__.py): quarterly
reviews, prospect screenings and developments, information needs, items and provisions; and
the subtree matrix's part for them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.catalogue.relations import _branch_of, _etag, _ok, approve, deciders
from tests.routes import Ctx, Factory, Made, _create, _new_project, _person

BASE = "/api/v1/customer-information"
PAST = "2020-06-30"
DEVELOPMENT_CHAIN = ("development_supervisor", "cs_manager")  # seed 000 §17


def _if(ctx: Ctx, etag: str) -> dict[str, str]:
    return {**ctx.auth, "If-Match": etag}


async def prospect(ctx: Ctx, node_id: str, **extra: Any) -> dict[str, Any]:
    """A customer without units at a node, whose validity ended in 2020."""
    body = _person(ctx, nodeId=node_id, validUntil=PAST, **extra)
    return (await _create(ctx, "/api/v1/customers", body))[0]


# --------------------------------------------------------------------------- reviews


async def review_at(ctx: Ctx, *, worked: bool = False) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """A fresh project with one expired prospect, and its review listing them (worked: renewed)."""
    project, _ = await _new_project(ctx)
    await prospect(ctx, project["id"], name=f"盘点客户{ctx.mark}")
    review, location = await _create(ctx, f"{BASE}/reviews", {"nodeId": project["id"]})
    [item] = (await _ok(await ctx.client.get(f"{BASE}/review-items", params={"reviewId": review["id"]},
                                             headers=ctx.auth)))["items"]
    if worked:
        item = await _ok(await ctx.client.post(f"{BASE}/review-items/{item['id']}/work", json={
            "outcome": "confirmed", "validUntil": "2099-12-31"}, headers=_if(ctx, f'"{item["version"]}"')))
    return review, location, item


async def _reviews(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {"nodeId": project["id"]}})


def _review(*, worked: bool) -> Factory:
    async def make(ctx: Ctx) -> Made:
        review, location, item = await review_at(ctx, worked=worked)
        return Made(params={"review_id": review["id"]}, values=[review["id"], review["number"], item["customerName"]],
                    url=location, bodies={"POST": {"note": f"catalogue {ctx.mark}"}})

    return make


async def _review_items(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


async def _review_item(ctx: Ctx) -> Made:
    _, _, item = await review_at(ctx)
    return Made(params={"item_id": item["id"]}, values=[item["id"], item["customerName"]],
                url=f"{BASE}/review-items/{item['id']}",
                bodies={"POST": {"outcome": "confirmed", "validUntil": "2099-12-31"}})


# ---------------------------------------------------------------------- developments


async def screening_at(ctx: Ctx, project_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    customer = await prospect(ctx, project_id)
    screening, _ = await _create(ctx, f"{BASE}/screenings", {
        "nodeId": project_id, "title": f"A-only screening {ctx.mark}", "scope": f"A's scope {ctx.mark}",
        "entries": [{"customerId": customer["id"], "qualified": True, "reason": f"A's reason {ctx.mark}"}]})
    return screening, customer


async def development_deciders(ctx: Ctx, project_id: str) -> list[dict[str, str]]:
    branch = await _branch_of(ctx, project_id)
    return await deciders(ctx, [(role, branch) for role in DEVELOPMENT_CHAIN])


async def development_body(ctx: Ctx) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """A qualified prospect's application, and the chain's deciders (named when it is made)."""
    project, _ = await _new_project(ctx)
    people = await development_deciders(ctx, project["id"])
    screening, customer = await screening_at(ctx, project["id"])
    return {"screeningId": screening["id"], "customerId": customer["id"], "plan": f"A-only plan {ctx.mark}"}, people


async def _screenings(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    customer = await prospect(ctx, project["id"])
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "nodeId": project["id"], "title": "x", "scope": "x",
        "entries": [{"customerId": customer["id"], "qualified": True, "reason": "x"}]}})


async def _screening(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    s, customer = await screening_at(ctx, project["id"])
    return Made(params={"screening_id": s["id"]}, values=[s["id"], s["title"], s["scope"]],
                url=f"{BASE}/screenings/{s['id']}")


async def _developments(ctx: Ctx) -> Made:
    body, _ = await development_body(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": body})


def _development(*, approved: bool, post: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        body, people = await development_body(ctx)
        d, location = await _create(ctx, f"{BASE}/developments", body)
        if approved:
            await approve(ctx, d["approvalRequestId"], people)
        return Made(params={"development_id": d["id"]}, values=[d["id"], d["number"], d["plan"]], url=location,
                    bodies={"POST": post})

    return make


# -------------------------------------------------------------------------- information


def need_body(node_id: str, ctx: Ctx) -> dict[str, Any]:
    return {"nodeId": node_id, "department": "工程部", "topic": "housing",
            "description": f"A-only need {ctx.mark}"}


def item_body(node_id: str, ctx: Ctx) -> dict[str, Any]:
    return {"nodeId": node_id, "topic": "housing", "channel": "visit", "content": f"A-only feedback {ctx.mark}"}


async def classified_item(ctx: Ctx, node_id: str) -> dict[str, Any]:
    item, location = await _create(ctx, f"{BASE}/items", item_body(node_id, ctx))
    item = await _ok(await ctx.client.post(f"{location}/review", json={"accepted": True},
                                           headers=_if(ctx, f'"{item["version"]}"')))
    return dict(await _ok(await ctx.client.post(f"{location}/classify", json={"topic": "housing"},
                                                headers=_if(ctx, f'"{item["version"]}"'))))


async def _needs(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": need_body(project["id"], ctx)})


def _need(post: str | None = None) -> Factory:
    async def make(ctx: Ctx) -> Made:
        project, _ = await _new_project(ctx)
        need, location = await _create(ctx, f"{BASE}/needs", need_body(project["id"], ctx))
        bodies: dict[str, Any] = {"PATCH": {"description": f"changed {ctx.mark}"}}
        if post == "provision":
            item = await classified_item(ctx, project["id"])
            bodies["POST"] = {"itemIds": [item["id"]], "note": f"A-only note {ctx.mark}"}
        return Made(params={"need_id": need["id"]}, values=[need["id"], need["description"]], url=location,
                    bodies=bodies)

    return make


async def _provision(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    need, location = await _create(ctx, f"{BASE}/needs", need_body(project["id"], ctx))
    item = await classified_item(ctx, project["id"])
    p, _ = await _create(ctx, f"{location}/provisions", {"itemIds": [item["id"]], "note": f"A-only note {ctx.mark}"})
    return Made(params={"provision_id": p["id"]}, values=[p["id"], item["content"], p["note"]],
                url=f"{BASE}/provisions/{p['id']}")


async def _items(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": item_body(project["id"], ctx)})


async def _summary(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


def _item(stage: str, post: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        project, _ = await _new_project(ctx)
        item, location = await _create(ctx, f"{BASE}/items", item_body(project["id"], ctx))
        if stage == "accepted":
            item = await _ok(await ctx.client.post(f"{location}/review", json={"accepted": True},
                                                   headers=_if(ctx, await _etag(ctx, location))))
        return Made(params={"item_id": item["id"]}, values=[item["id"], item["number"], item["content"]],
                    url=location, bodies={"POST": post})

    return make


FACTORIES: dict[str, Factory] = {
    f"{BASE}/reviews": _reviews,
    f"{BASE}/reviews/{{review_id:uuid}}": _review(worked=False),
    f"{BASE}/reviews/{{review_id:uuid}}/close": _review(worked=True),
    f"{BASE}/review-items": _review_items,
    f"{BASE}/review-items/{{item_id:uuid}}": _review_item,
    f"{BASE}/review-items/{{item_id:uuid}}/work": _review_item,
    f"{BASE}/screenings": _screenings,
    f"{BASE}/screenings/{{screening_id:uuid}}": _screening,
    f"{BASE}/developments": _developments,
    f"{BASE}/developments/{{development_id:uuid}}": _development(approved=False, post={}),
    f"{BASE}/developments/{{development_id:uuid}}/reports": _development(approved=True, post={
        "periodEnd": "2099-11-30", "progress": "catalogue"}),
    f"{BASE}/developments/{{development_id:uuid}}/close": _development(approved=True, post={
        "result": "won", "note": "catalogue"}),
    f"{BASE}/needs": _needs,
    f"{BASE}/needs/{{need_id:uuid}}": _need(),
    f"{BASE}/needs/{{need_id:uuid}}/provisions": _need("provision"),
    f"{BASE}/provisions/{{provision_id:uuid}}": _provision,
    f"{BASE}/items": _items,
    f"{BASE}/items/summary": _summary,
    f"{BASE}/items/{{item_id:uuid}}": _item("collected", {}),
    f"{BASE}/items/{{item_id:uuid}}/review": _item("collected", {"accepted": True, "note": "catalogue"}),
    f"{BASE}/items/{{item_id:uuid}}/classify": _item("accepted", {"topic": "housing", "tags": ["catalogue"]}),
}


# ------------------------------------------------------------------------ subtree matrix


def _at_node(model: Any, value: Any) -> Callable[[], Select[Any]]:
    def truth() -> Select[Any]:
        from app.domains.org.models import OrgNode

        return select(model.id, OrgNode.path, value, model.version).join(OrgNode, OrgNode.id == model.node_id)

    return truth


def _kinds() -> dict[str, Kind]:
    from app.domains.custinfo.models import (
        CustomerReview,
        CustomerReviewItem,
        Development,
        InformationItem,
        InformationNeed,
        InformationProvision,
        ProspectScreening,
    )
    from app.domains.customers.models import Customer
    from app.domains.org.models import OrgNode

    def review_items() -> Select[Any]:
        # An item shows its customer's name: that must not leak.
        return (select(CustomerReviewItem.id, OrgNode.path, Customer.name, CustomerReviewItem.version)
                .join(OrgNode, OrgNode.id == CustomerReviewItem.node_id)
                .join(Customer, Customer.id == CustomerReviewItem.customer_id))

    read = "custinfo.read"
    return {
        "customer_review": Kind(read, _at_node(CustomerReview, CustomerReview.number)),
        "review_item": Kind(read, review_items),
        "prospect_screening": Kind(read, _at_node(ProspectScreening, ProspectScreening.title)),
        "development": Kind(read, _at_node(Development, Development.plan)),
        "information_need": Kind(read, _at_node(InformationNeed, InformationNeed.description)),
        "information_item": Kind(read, _at_node(InformationItem, InformationItem.content)),
        "information_provision": Kind(read, _at_node(InformationProvision, InformationProvision.note)),
    }


def _details() -> dict[str, str]:
    return {
        **{f"{BASE}/reviews/{{review_id:uuid}}{tail}": "customer_review" for tail in ("", "/close")},
        **{f"{BASE}/review-items/{{item_id:uuid}}{tail}": "review_item" for tail in ("", "/work")},
        f"{BASE}/screenings/{{screening_id:uuid}}": "prospect_screening",
        **{f"{BASE}/developments/{{development_id:uuid}}{tail}": "development"
           for tail in ("", "/reports", "/close")},
        **{f"{BASE}/needs/{{need_id:uuid}}{tail}": "information_need" for tail in ("", "/provisions")},
        f"{BASE}/provisions/{{provision_id:uuid}}": "information_provision",
        **{f"{BASE}/items/{{item_id:uuid}}{tail}": "information_item" for tail in ("", "/review", "/classify")},
    }


def _write_bodies() -> dict[tuple[str, str], Callable[[Any, Any], Any]]:
    return {
        (f"{BASE}/reviews/{{review_id:uuid}}/close", "POST"): lambda w, u: {},
        (f"{BASE}/review-items/{{item_id:uuid}}/work", "POST"): lambda w, u: {"outcome": "retired"},
        (f"{BASE}/developments/{{development_id:uuid}}/reports", "POST"): lambda w, u: {
            "periodEnd": "2099-11-30", "progress": "changed"},
        (f"{BASE}/developments/{{development_id:uuid}}/close", "POST"): lambda w, u: {"result": "dropped",
                                                                                     "note": "changed"},
        (f"{BASE}/needs/{{need_id:uuid}}", "PATCH"): lambda w, u: {"description": "changed"},
        (f"{BASE}/needs/{{need_id:uuid}}/provisions", "POST"): lambda w, u: {"itemIds": [str(uuid.uuid4())]},
        (f"{BASE}/items/{{item_id:uuid}}/review", "POST"): lambda w, u: {"accepted": False},
        (f"{BASE}/items/{{item_id:uuid}}/classify", "POST"): lambda w, u: {"topic": "other"},
    }


def _creates() -> dict[str, tuple[str, Callable[[uuid.UUID], dict[str, Any]], str]]:
    """Creating at a node outside one's subtree is refused (developments name a screening,
    looked up like any record: tests/domains/test_custinfo.py)."""
    return {
        f"{BASE}/reviews": ("project", lambda n: {"nodeId": str(n)}, "custinfo.review"),
        f"{BASE}/screenings": ("project", lambda n: {"nodeId": str(n), "title": "x", "scope": "x", "entries": [
            {"customerId": str(uuid.uuid4()), "qualified": True, "reason": "x"}]}, "custinfo.develop"),
        f"{BASE}/needs": ("project", lambda n: {"nodeId": str(n), "department": "x", "topic": "basic",
                                                "description": "x"}, "custinfo.need"),
        f"{BASE}/items": ("project", lambda n: {"nodeId": str(n), "topic": "basic", "channel": "call",
                                                "content": "x"}, "custinfo.collect"),
    }


async def _populate(seed: WorldSeed) -> None:
    """Per project: an expired prospect and the quarter's review listing them, a screening that
    qualifies them and their development application (under review), a department's need, an
    item classified for it and provided."""
    ctx = Ctx(client=seed.client, db=seed.db, tenant=seed.slug, subject="subtree-admin", auth=seed.admin,
              mark="subtree")
    for code in ("SZ", "GZ"):
        branch = str(seed.nodes[code]["id"])
        await deciders(ctx, [(role, branch) for role in DEVELOPMENT_CHAIN])
    for project in seed.projects:
        name, node = project["name"], project["id"]
        customer = await prospect(ctx, node, name=f"{name}意向客户")
        await _create(ctx, f"{BASE}/reviews", {"nodeId": node})
        screening, _ = await _create(ctx, f"{BASE}/screenings", {
            "nodeId": node, "title": f"{name}意向客户筛选", "scope": "首次置业",
            "entries": [{"customerId": customer["id"], "qualified": True, "reason": "预算匹配"}]})
        await _create(ctx, f"{BASE}/developments", {"screeningId": screening["id"], "customerId": customer["id"],
                                                     "plan": f"{name}开发计划"})
        need, location = await _create(ctx, f"{BASE}/needs", {**need_body(node, ctx),
                                                              "description": f"{name}工程部信息需求"})
        item = await classified_item(ctx, node)
        await _create(ctx, f"{location}/provisions", {"itemIds": [item["id"]], "note": f"{name}第一批"})


SUBTREE = SubtreeSpec(
    kinds=_kinds(),
    lists={
        f"{BASE}/reviews": "customer_review",
        f"{BASE}/review-items": "review_item",
        f"{BASE}/screenings": "prospect_screening",
        f"{BASE}/developments": "development",
        f"{BASE}/needs": "information_need",
        f"{BASE}/items": "information_item",
    },
    details=_details(),
    read_urls={
        "customer_review": f"{BASE}/reviews/{{}}", "review_item": f"{BASE}/review-items/{{}}",
        "prospect_screening": f"{BASE}/screenings/{{}}", "development": f"{BASE}/developments/{{}}",
        "information_need": f"{BASE}/needs/{{}}", "information_item": f"{BASE}/items/{{}}",
        "information_provision": f"{BASE}/provisions/{{}}",
    },
    no_node={f"{BASE}/items/summary": "an aggregate, not records: counts over the items the caller may read "
                                      "(tests/domains/test_custinfo.py)"},
    write_bodies=_write_bodies(),
    creates=_creates(),
    populate=_populate,
)
