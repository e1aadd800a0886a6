"""Route-catalogue entries of in-sale orders and call-centre quality (see
tests/catalogue/__init__.py). Orders sit at their customer's node (a unit's project when a unit
is ordered); a call's evaluation at the call's node."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.routes import Ctx, Factory, Made, _create, _new_customer, _new_project, _staff_account, _token_of, shared

ORDERS = "/api/v1/orders"
QUALITY = "/api/v1/call-quality"
CALLS = "/api/v1/interactions/calls"
WHEN = "2026-03-02T10:00:00+08:00"
ORDER = f"{ORDERS}/{{order_id:uuid}}"
EVALUATION = f"{QUALITY}/evaluations/{{evaluation_id:uuid}}"


def order_body(customer_id: str, **extra: Any) -> dict[str, Any]:
    return {"customerId": customer_id, "kind": "parking", "item": "地下车位 B2-118", "amount": "180000.00",
            "channel": "sales_office", **extra}


def marks(rating: int = 4, **given: int) -> list[dict[str, Any]]:
    """A mark for each criterion of the seeded scorecard."""
    codes = ("greeting", "needs", "resolution", "transfer", "feedback", "logging")
    return [{"code": c, "rating": given.get(c, rating)} for c in codes]


async def _orders(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": order_body(customer["id"])})


async def _new_order(ctx: Ctx) -> tuple[dict[str, Any], str]:
    customer, _, _ = await _new_customer(ctx)
    return await _create(ctx, ORDERS, order_body(customer["id"], item=f"A-only order {ctx.mark}"))


async def _order(ctx: Ctx) -> Made:
    o, location = await _new_order(ctx)
    return Made(params={"order_id": o["id"]}, values=[o["id"], o["number"], o["item"]], url=location)


async def _step(ctx: Ctx, url: str, order: dict[str, Any], move: str, body: dict[str, Any]) -> dict[str, Any]:
    moved = await ctx.client.post(f"{url}/{move}", json=body,
                                  headers={**ctx.auth, "If-Match": f'"{order["version"]}"'})
    assert moved.status_code == 200, moved.text
    return moved.json()  # type: ignore[no-any-return]


async def _confirmed(ctx: Ctx, **bodies: Any) -> Made:
    o, location = await _new_order(ctx)
    await _step(ctx, location, o, "confirm", {})
    return Made(params={"order_id": o["id"]}, values=[o["id"], o["number"], o["item"]], url=location, bodies=bodies)


async def _confirm(ctx: Ctx) -> Made:
    made = await _order(ctx)
    return Made(params=made.params, values=made.values, url=made.url, bodies={"POST": {"note": "库存已确认"}})


async def _progress(ctx: Ctx) -> Made:
    return await _confirmed(ctx, POST={"milestone": "合同已备案", "note": "产权证办理中"})


async def _delivery(ctx: Ctx) -> Made:
    return await _confirmed(ctx, POST={"inspection": "accepted", "notes": "完好"})


async def _feedback(ctx: Ctx) -> Made:
    o, location = await _new_order(ctx)
    await _step(ctx, location, await _step(ctx, location, o, "confirm", {}), "delivery", {"inspection": "accepted"})
    return Made(params={"order_id": o["id"]}, values=[o["id"], o["number"], o["item"]], url=location,
                bodies={"POST": {"rating": 5}})


async def _cancel(ctx: Ctx) -> Made:
    made = await _order(ctx)
    return Made(params=made.params, values=made.values, url=made.url, bodies={"POST": {"reason": "客户放弃认购"}})


async def _settings(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=f"{ORDERS}/settings", bodies={"PUT": {
        "confirmWorkingMinutes": 90,
        "departments": [{"code": "finance", "name": "财务部门", "role": "order_finance"}]}})


async def agent_call(ctx: Ctx, subject: str | None = None) -> dict[str, Any]:
    """A call logged by a call-centre agent (not the caller of ``ctx``: nobody evaluates their own)."""
    from tests.catalogue.complaints import grant_role

    async def agent() -> tuple[dict[str, str], str]:
        project, _ = await _new_project(ctx)
        account = await _staff_account(ctx)
        await grant_role(ctx, account, "call_agent", project["id"])
        return await _token_of(ctx, account, ["interactions:read", "interactions:write"]), project["id"]

    auth, project_id = await shared(ctx, "call-agent", agent)
    made = await ctx.client.post(CALLS, headers=auth, json={
        "direction": "inbound", "startedAt": WHEN, "durationSeconds": 180, "nodeId": project_id,
        "subject": subject or f"A-only call {ctx.mark}", "outcome": {"kind": "resolved"}})
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


async def _evaluations(ctx: Ctx) -> Made:
    call = await agent_call(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {"callId": call["id"], "marks": marks()}})


async def _evaluation(ctx: Ctx) -> Made:
    call = await agent_call(ctx)
    e, location = await _create(ctx, f"{QUALITY}/evaluations", {"callId": call["id"], "marks": marks(),
                                                                  "comment": f"A-only comment {ctx.mark}"})
    return Made(params={"evaluation_id": e["id"]}, values=[e["id"], e["comment"]], url=location)


async def _scorecard(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=f"{QUALITY}/scorecard", bodies={"PUT": {"criteria": [
        {"code": "greeting", "name": "问候客户", "weight": 40, "source": "000 §9 ④"},
        {"code": "resolution", "name": "问题解决", "weight": 60, "source": "000 §9 ⑥"}]}})


async def _performance(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


FACTORIES: dict[str, Factory] = {
    ORDERS: _orders,
    ORDER: _order,
    f"{ORDERS}/settings": _settings,
    f"{ORDER}/confirm": _confirm,
    f"{ORDER}/progress": _progress,
    f"{ORDER}/delivery": _delivery,
    f"{ORDER}/feedback": _feedback,
    f"{ORDER}/cancel": _cancel,
    f"{QUALITY}/scorecard": _scorecard,
    f"{QUALITY}/evaluations": _evaluations,
    EVALUATION: _evaluation,
    f"{QUALITY}/performance": _performance,
}


def _at_node(model: Any, value: Any) -> Callable[[], Select[Any]]:
    def truth() -> Select[Any]:
        from app.domains.org.models import OrgNode

        return select(model.id, OrgNode.path, value, model.version).join(OrgNode, OrgNode.id == model.node_id)

    return truth


def _kinds() -> dict[str, Kind]:
    from app.domains.service.models import CallEvaluation, SaleOrder

    return {"sale_order": Kind("orders.read", _at_node(SaleOrder, SaleOrder.item)),
            "call_evaluation": Kind("callqa.read", _at_node(CallEvaluation, CallEvaluation.comment))}


async def _populate(seed: WorldSeed) -> None:
    """Per project an order of the project's owner, and an evaluation of the project's call
    (logged by the world's administrator, evaluated by a supervisor of the whole group)."""
    import msgspec

    from app.core.audit import SYSTEM
    from app.domains.access.authz import SYSTEM_PRINCIPAL, Authorizer
    from app.domains.interactions.models import Call
    from app.domains.service import quality
    from app.domains.service.schemas import EvaluationCreate

    ctx = Ctx(client=seed.client, db=seed.db, tenant=seed.slug, subject="subtree-admin", auth=seed.admin,
              mark="subtree")
    customers = (await ctx.client.get("/api/v1/customers", params={"limit": 200}, headers=ctx.auth)).json()["items"]
    for project in seed.projects:
        owner = next(c for c in customers if c["nodeId"] == project["id"])
        await _create(ctx, ORDERS, order_body(owner["id"], item=f"{project['name']}车位"))
    supervisor = Authorizer(principal=msgspec.structs.replace(SYSTEM_PRINCIPAL, subject="subtree-supervisor"),
                            whole_group=True)
    async with seed.db.tenant_transaction(f"t_{seed.slug}") as session:
        session.info["actor"] = SYSTEM
        calls = (await session.scalars(select(Call).order_by(Call.id))).all()
        for call in calls:
            await quality.evaluate(session, supervisor, msgspec.convert(
                {"callId": str(call.id), "marks": marks(), "comment": f"{call.subject}的评价"}, EvaluationCreate))


_GROUP = "the group's {what}: {read} anywhere reads it, {write} at the group node changes it (tests/domains/{test})"

SUBTREE = SubtreeSpec(
    kinds=_kinds(),
    lists={ORDERS: "sale_order", f"{QUALITY}/evaluations": "call_evaluation"},
    details={
        **{f"{ORDER}{tail}": "sale_order" for tail in ("", "/confirm", "/progress", "/delivery", "/feedback",
                                                        "/cancel")},
        EVALUATION: "call_evaluation",
    },
    read_urls={"sale_order": f"{ORDERS}/{{}}", "call_evaluation": f"{QUALITY}/evaluations/{{}}"},
    no_node={
        f"{ORDERS}/settings": _GROUP.format(what="confirmation deadline and departments told", read="orders.read",
                                            write="orders.configure", test="test_service_orders.py"),
        f"{QUALITY}/scorecard": _GROUP.format(what="call scorecard", read="callqa.read",
                                              write="callqa.configure", test="test_call_quality.py"),
        f"{QUALITY}/performance": "aggregates, not records: computed over the calls and evaluations the caller may "
                                  "read (tests/domains/test_call_quality.py)",
    },
    write_bodies={
        (f"{ORDER}/confirm", "POST"): lambda w, u: {},
        (f"{ORDER}/progress", "POST"): lambda w, u: {"milestone": "changed"},
        (f"{ORDER}/delivery", "POST"): lambda w, u: {"inspection": "accepted"},
        (f"{ORDER}/feedback", "POST"): lambda w, u: {"rating": 3},
        (f"{ORDER}/cancel", "POST"): lambda w, u: {"reason": "changed"},
    },
    populate=_populate,
)

