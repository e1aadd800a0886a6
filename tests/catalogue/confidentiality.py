"""Route-catalogue entries of the confidentiality routes (see tests/catalogue/__init__.py), and
the subtree matrix's part for them: transfers and breaches sit at their customer's node."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.catalogue.archives import SETTINGS, ok
from tests.routes import Ctx, Factory, Made, _create, _new_customer, _staff_account

BASE = "/api/v1/confidentiality"
TRANSFERS, BREACHES = f"{BASE}/transfers", f"{BASE}/breaches"
TRANSFER, BREACH = f"{TRANSFERS}/{{transfer_id:uuid}}", f"{BREACHES}/{{breach_id:uuid}}"
CLASSIFY = "/api/v1/customers/{customer_id:uuid}/classification"


async def level(ctx: Ctx, wanted: str) -> str:
    """``wanted`` when the group has that classification level, else its highest: the levels
    are the group's archive policy, which a test (the fuzzer's, in its tenant) may have changed."""
    policy = (await ok(await ctx.client.get(SETTINGS, headers=ctx.auth)))["policy"]
    codes = [lvl["code"] for lvl in policy["classificationLevels"]]
    return wanted if wanted in codes else codes[-1]


async def new_transfer(ctx: Ctx) -> tuple[dict[str, Any], str]:
    customer, _, _ = await _new_customer(ctx)
    return await _create(ctx, TRANSFERS, {
        "customerId": customer["id"], "material": f"Purchase contract copy {ctx.mark}",
        "classification": await level(ctx, "secret"),
        "recipientAccountId": await _staff_account(ctx), "purpose": "legal review"})


async def new_breach(ctx: Ctx, *, acted: bool = False) -> tuple[dict[str, Any], str]:
    customer, _, _ = await _new_customer(ctx)
    breach, location = await _create(ctx, BREACHES, {"customerId": customer["id"],
                                                     "description": f"Price list seen outside {ctx.mark}"})
    if acted:
        done = await ctx.client.post(f"{location}/actions", headers={**ctx.auth, "If-Match": f'"{breach["version"]}"'},
                                     json={"action": "Copies recalled"})
        assert done.status_code == 200, done.text
        breach = done.json()
    return breach, location


async def _classify(ctx: Ctx) -> Made:
    customer, location, _ = await _new_customer(ctx)
    # The classification's ETag is the customer's: read from the customer.
    return Made(params={"customer_id": customer["id"]}, values=[customer["id"]], url=location,
                bodies={"PUT": {"classification": await level(ctx, "secret"),
                                "reason": "key account's contract terms"}})


async def _transfers(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "customerId": customer["id"], "material": f"Contract {ctx.mark}",
        "classification": await level(ctx, "internal"),
        "recipientAccountId": await _staff_account(ctx), "purpose": "review"}})


async def _breaches(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "customerId": customer["id"], "description": f"Leak {ctx.mark}"}})


def _transfer(post: dict[str, Any] | None = None) -> Factory:
    async def make(ctx: Ctx) -> Made:
        t, location = await new_transfer(ctx)
        return Made(params={"transfer_id": t["id"]}, values=[t["id"], t["number"]], url=location,
                    bodies={"POST": post} if post is not None else {})

    return make


def _breach(post: dict[str, Any] | None = None, *, acted: bool = False) -> Factory:
    async def make(ctx: Ctx) -> Made:
        b, location = await new_breach(ctx, acted=acted)
        return Made(params={"breach_id": b["id"]}, values=[b["id"], b["number"]], url=location,
                    bodies={"POST": post} if post is not None else {})

    return make


FACTORIES: dict[str, Factory] = {
    CLASSIFY: _classify,
    TRANSFERS: _transfers,
    TRANSFER: _transfer(),
    f"{TRANSFER}/return": _transfer({}),
    BREACHES: _breaches,
    BREACH: _breach(),
    f"{BREACH}/actions": _breach({"action": "Recalled the copies"}),
    f"{BREACH}/close": _breach({"report": "Copies recalled; staff briefed."}, acted=True),
}


# ------------------------------------------------------------------------- subtree matrix

def _truth(model_name: str) -> Any:
    def truth() -> Select[Any]:
        from app.domains.confidentiality import models
        from app.domains.org.models import OrgNode

        model = getattr(models, model_name)
        return select(model.id, OrgNode.path, model.number, model.version).join(OrgNode, OrgNode.id == model.node_id)

    return truth


async def _recipient(seed: WorldSeed) -> str:
    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.tenants.models import Tenant

    async with seed.db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == seed.slug))
        account = await create_account(session, tenant_id=tenant_id, kind=AccountKind.staff,
                                       username=f"recipient-{uuid.uuid4().hex[:8]}", display_name="Recipient",
                                       password=None, scopes=["org:read"])
    return str(account.id)


async def _populate(seed: WorldSeed) -> None:
    """A handing-over and a breach for every customer of the world (one per project and branch)."""
    listed = await seed.client.get("/api/v1/customers", headers=seed.admin, params={"limit": 200})
    assert listed.status_code == 200, listed.text
    recipient = await _recipient(seed)
    for customer in listed.json()["items"]:
        made = await seed.client.post(BREACHES, headers=seed.admin, json={
            "customerId": customer["id"], "description": "价格表外泄"})
        assert made.status_code == 201, made.text
        made = await seed.client.post(TRANSFERS, headers=seed.admin, json={
            "customerId": customer["id"], "material": "合同副本", "classification": "internal",
            "recipientAccountId": recipient, "purpose": "评审"})
        assert made.status_code == 201, made.text


SUBTREE = SubtreeSpec(
    kinds={"confidentiality_breach": Kind("confidentiality.read", _truth("ConfidentialityBreach")),
           "confidential_transfer": Kind("confidentiality.read", _truth("ConfidentialTransfer"))},
    lists={BREACHES: "confidentiality_breach", TRANSFERS: "confidential_transfer"},
    details={BREACH: "confidentiality_breach", f"{BREACH}/actions": "confidentiality_breach",
             f"{BREACH}/close": "confidentiality_breach", TRANSFER: "confidential_transfer",
             f"{TRANSFER}/return": "confidential_transfer", CLASSIFY: "customer"},
    read_urls={"confidentiality_breach": f"{BREACHES}/{{}}", "confidential_transfer": f"{TRANSFERS}/{{}}"},
    write_bodies={(f"{BREACH}/actions", "POST"): lambda w, u: {"action": "recalled"},
                  (f"{BREACH}/close", "POST"): lambda w, u: {"report": "closed"},
                  (f"{TRANSFER}/return", "POST"): lambda w, u: {},
                  (CLASSIFY, "PUT"): lambda w, u: {"classification": "internal", "reason": "key account"}},
    populate=_populate,
)
