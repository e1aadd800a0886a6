"""The club over the API: its establishment plan through approval and the revise-until-approved
loop, enrolment with tiers and referral credit, the points ledger (debits never past the
balance, reversals once, by compensating entries only) and under concurrent redemption on a
real database; the owner's card and ledger in the app."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from app.core.audit import tenant_audit
from tests.routes import _new_customer  # first: it loads the catalogue modules

# isort: split
from tests.catalogue.club import BASE, MINE, _root, club_body, new_club, new_member, ok
from tests.catalogue.complaints import owner, tenant_ctx
from tests.catalogue.relations import deciders
from tests.routes import Ctx

PROBLEM = "urn:cornerstone:problem:"


@pytest.fixture(scope="module")
async def ctx(app: Any, db: Any, new_tenant: Any, mint: Any) -> Ctx:
    import httpx

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    return await tenant_ctx(client, db, new_tenant, mint, "club")


async def _etag(ctx: Ctx, url: str, headers: dict[str, str] | None = None) -> str:
    return str((await ctx.client.get(url, headers=headers or ctx.auth)).headers["etag"])


async def test_a_club_from_plan_to_establishment(ctx: Ctx, db: Any) -> None:
    root = await _root(ctx)
    [manager] = await deciders(ctx, [("supervising_manager", root)])
    created = await ctx.client.post(f"{BASE}/clubs", headers=ctx.auth, json=club_body(root, name="阳光·深圳会"))
    club = await ok(created, 201)
    url = created.headers["location"]
    assert club["status"] == "draft" and [t["code"] for t in club["tiers"]] == ["member", "gold"]

    # A ladder without a floor is refused, naming the field; a second club of the same name too.
    bad = await ctx.client.patch(url, headers={**ctx.auth, "If-Match": created.headers["etag"]},
                                 json={"tiers": [{"code": "gold", "name": "金卡", "minPoints": 10}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "tiers"
    twice = await ctx.client.post(f"{BASE}/clubs", headers=ctx.auth, json=club_body(root, name="阳光·深圳会"))
    assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "name"
    # Nobody enrols in a club that is not established.
    customer, _, _ = await _new_customer(ctx)
    early = await ctx.client.post(f"{BASE}/members", headers=ctx.auth,
                                  json={"clubId": club["id"], "customerId": customer["id"]})
    assert early.status_code == 409 and early.json()["errors"][0]["field"] == "clubId"

    submitted = await ok(await ctx.client.post(f"{url}/submit", json={}, headers={
        **ctx.auth, "If-Match": await _etag(ctx, url)}))
    assert submitted["status"] == "pending"
    request_id = submitted["approvalRequestId"]
    locked = await ctx.client.patch(url, headers={**ctx.auth, "If-Match": await _etag(ctx, url)},
                                    json={"budget": "1.00"})
    assert locked.status_code == 409 and "pending" in locked.json()["detail"]
    await ok(await ctx.client.post(f"/api/v1/approvals/requests/{request_id}/reject",
                                   headers=manager, json={"comment": "预算过高"}))
    assert (await ok(await ctx.client.get(url, headers=ctx.auth)))["status"] == "rejected"
    revised = await ok(await ctx.client.patch(url, headers={**ctx.auth, "If-Match": await _etag(ctx, url)},
                                              json={"budget": "120000.00"}))
    assert revised["budget"] == "120000.00"
    again = await ok(await ctx.client.post(f"{url}/submit", json={"note": "预算已压缩"}, headers={
        **ctx.auth, "If-Match": await _etag(ctx, url)}))
    assert again["status"] == "pending" and again["approvalRequestId"] == request_id
    await ok(await ctx.client.post(f"/api/v1/approvals/requests/{request_id}/approve",
                                   headers=manager, json={}))
    established = await ok(await ctx.client.get(url, headers=ctx.auth))
    assert established["status"] == "established" and established["establishedAt"]

    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        actions = (await session.scalars(select(tenant_audit.c.action).where(tenant_audit.c.entity_id == club["id"])
                                         .order_by(tenant_audit.c.occurred_at, tenant_audit.c.id))).all()
    assert actions == ["club.club.create", "club.club.submit", "club.club.update", "club.club.submit",
                       "club.club.establish"]


async def test_members_tiers_referrals_and_the_ledger(ctx: Ctx) -> None:
    club, _ = await new_club(ctx)
    referrer, referrer_url, _ = await new_member(ctx, club["id"])
    assert referrer["number"].startswith("HY-") and referrer["tier"]["code"] == "member"
    assert referrer["balance"] == 0 and referrer["birthDate"] == "1980-03-15"
    customer, _, _ = await _new_customer(ctx)
    body = {"clubId": club["id"], "customerId": customer["id"], "referredById": referrer["id"]}
    newcomer = await ok(await ctx.client.post(f"{BASE}/members", headers=ctx.auth, json=body), 201)
    assert newcomer["referredById"] == referrer["id"]
    twice = await ctx.client.post(f"{BASE}/members", headers=ctx.auth, json=body)
    assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "customerId"
    credited = await ok(await ctx.client.get(referrer_url, headers=ctx.auth))
    assert credited["balance"] == 200 and credited["lifetimePoints"] == 200

    # Earning past a tier's threshold moves the member up; spending does not move them down.
    earn = await ok(await ctx.client.post(f"{referrer_url}/points", headers=ctx.auth, json={
        "kind": "earn", "points": 900, "reason": "认购奖励", "reference": "合同 HT-1"}), 201)
    assert earn["balanceAfter"] == 1100
    member = await ok(await ctx.client.get(referrer_url, headers=ctx.auth))
    assert member["tier"]["code"] == "gold"
    spent = await ok(await ctx.client.post(f"{referrer_url}/points", headers=ctx.auth, json={
        "kind": "redeem", "points": 1000, "reason": "兑换物业费"}), 201)
    assert spent["points"] == -1000 and spent["balanceAfter"] == 100
    too_much = await ctx.client.post(f"{referrer_url}/points", headers=ctx.auth, json={
        "kind": "redeem", "points": 101, "reason": "兑换礼品"})
    assert too_much.status_code == 409 and "balance of 100" in too_much.json()["detail"]
    assert too_much.json()["errors"][0]["field"] == "points"
    # The earning cannot be undone now: its points were spent.
    refused = await ctx.client.post(f"{BASE}/points/{earn['id']}/reverse", headers=ctx.auth,
                                    json={"reason": "录入错误"})
    assert refused.status_code == 409
    # The redemption can, once: a compensating entry.
    undo = await ok(await ctx.client.post(f"{BASE}/points/{spent['id']}/reverse", headers=ctx.auth,
                                          json={"reason": "兑换取消"}), 201)
    assert undo["kind"] == "reversal" and undo["points"] == 1000 and undo["reversesId"] == spent["id"]
    again = await ctx.client.post(f"{BASE}/points/{spent['id']}/reverse", headers=ctx.auth, json={"reason": "x"})
    assert again.status_code == 409 and undo["id"] in again.json()["detail"]
    assert (await ctx.client.post(f"{BASE}/points/{undo['id']}/reverse", headers=ctx.auth,
                                  json={"reason": "x"})).status_code == 409
    ledger = await ok(await ctx.client.get(f"{referrer_url}/points", headers=ctx.auth))
    assert [e["kind"] for e in ledger["items"]] == ["reversal", "redeem", "earn", "referral"]
    assert next(e for e in ledger["items"] if e["id"] == spent["id"])["reversedById"] == undo["id"]
    assert sum(e["points"] for e in ledger["items"]) == 1100 == ledger["items"][0]["balanceAfter"]
    # Bad input: no zero, no negative, no unknown kind.
    for wrong in ({"kind": "earn", "points": 0, "reason": "x"}, {"kind": "earn", "points": -5, "reason": "x"},
                  {"kind": "reversal", "points": 5, "reason": "x"}):
        assert (await ctx.client.post(f"{referrer_url}/points", headers=ctx.auth, json=wrong)).status_code == 422


async def test_concurrent_redemptions_never_overdraw(ctx: Ctx, db: Any) -> None:
    member, url, _ = await new_member(ctx)
    await ok(await ctx.client.post(f"{url}/points", headers=ctx.auth, json={
        "kind": "earn", "points": 100, "reason": "开户赠送"}), 201)

    async def redeem(i: int) -> int:
        answer = await ctx.client.post(f"{url}/points", headers={**ctx.auth, "Idempotency-Key": f"redeem-{i}"},
                                       json={"kind": "redeem", "points": 7, "reason": f"兑换 {i}"})
        assert answer.status_code in (201, 409), answer.text
        return answer.status_code

    statuses = await asyncio.gather(*(redeem(i) for i in range(24)))
    assert statuses.count(201) == 14 and statuses.count(409) == 10  # 14 × 7 = 98 of 100
    # A retry with a key already used gets its first answer back: nothing is spent twice.
    replay = await ctx.client.post(f"{url}/points", headers={**ctx.auth, "Idempotency-Key": "redeem-0"},
                                   json={"kind": "redeem", "points": 7, "reason": "兑换 0"})
    assert replay.headers.get("idempotent-replayed") == "true"
    final = await ok(await ctx.client.get(url, headers=ctx.auth))
    assert final["balance"] == 2
    from app.domains.club.models import PointsEntry

    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        rows = (await session.execute(select(PointsEntry.points, PointsEntry.balance_after)
                                      .where(PointsEntry.member_id == member["id"])
                                      .order_by(PointsEntry.created_at, PointsEntry.id))).all()
    assert sum(p for p, _ in rows) == 2 and len(rows) == 15
    # Serialised on the member's row: each debit saw the balance the one before it left, so the
    # balances after them are 100 − 7k, every one once (no two spent the same points).
    assert sorted((after for _, after in rows), reverse=True) == [100 - 7 * k for k in range(15)]


async def test_the_owners_card_and_ledger(ctx: Ctx) -> None:
    me, customer, _ = await owner(ctx)
    club, _ = await new_club(ctx)
    clubs = await ok(await ctx.client.get(f"{MINE}/clubs", headers=me, params={"limit": 200}))
    assert club["id"] in [c["id"] for c in clubs["items"]]
    joined = await ok(await ctx.client.post(f"{MINE}/memberships", headers=me,
                                            json={"clubId": club["id"], "birthDate": "1985-07-01"}), 201)
    assert joined["number"].startswith("HY-") and joined["cardCode"].startswith(joined["number"] + ".")
    assert (await ctx.client.post(f"{MINE}/memberships", headers=me, json={"clubId": club["id"]})).status_code == 409
    await ok(await ctx.client.post(f"{BASE}/members/{joined['id']}/points", headers=ctx.auth, json={
        "kind": "earn", "points": 50, "reason": "活动签到"}), 201)
    card = await ok(await ctx.client.get(f"{MINE}/memberships/{joined['id']}", headers=me))
    assert card["balance"] == 50 and card["tier"]["code"] == "member"
    ledger = await ok(await ctx.client.get(f"{MINE}/memberships/{joined['id']}/points", headers=me))
    assert [e["points"] for e in ledger["items"]] == [50]
    # Another owner sees none of it.
    other, _, _ = await owner(ctx)
    assert (await ctx.client.get(f"{MINE}/memberships/{joined['id']}", headers=other)).status_code == 404
    assert (await ok(await ctx.client.get(f"{MINE}/memberships", headers=other)))["total"] == 0
    # Nor may an owner reach the staff routes.
    assert (await ctx.client.get(f"{BASE}/members/{joined['id']}", headers=me)).status_code in (401, 403)

