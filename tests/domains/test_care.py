"""Care campaigns with fixed clocks: birthday greetings to club members, a holiday greeting and a
handover anniversary, only to customers with a marketing consent, through the first channel
that reaches them, never in quiet hours, and once per occasion however often the scan runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.routes import _create, _new_customer, _person  # first: it loads the catalogue modules

# isort: split
from app.auth.models import OutboxMessage
from app.core import clock
from app.core.audit import SYSTEM
from app.domains.care.services import scan
from tests.catalogue.care import BASE, rule_body
from tests.catalogue.club import _root, new_club, ok
from tests.catalogue.complaints import owner, tenant_ctx

SH = ZoneInfo("Asia/Shanghai")
MARKETING = {"kind": "marketing", "purpose": "节日及生日关怀", "channel": "app"}


async def test_a_care_run_with_fixed_clocks(client: Any, db: Any, new_tenant: Any, mint: Any,
                                            monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "care")
    club, _ = await new_club(ctx)
    # A: an owner in the app, consenting, born on 1 October, whose project was handed over on 1 October 2025.
    _, a, _ = await owner(ctx)
    await ok(await ctx.client.post(f"/api/v1/customers/{a['id']}/consents", headers=ctx.auth, json=MARKETING), 201)
    project = f"/api/v1/org/projects/{a['units'][0]['projectId']}"
    etag = (await ctx.client.get(project, headers=ctx.auth)).headers["etag"]
    await ok(await ctx.client.patch(project, headers={**ctx.auth, "If-Match": etag},
                                    json={"handoverDate": "2025-10-01"}))
    # B: the same birthday, no marketing consent.
    b, _, _ = await _new_customer(ctx)
    # C: consenting, reachable by mail only; D: consenting, reachable by nothing.
    root = await _root(ctx)
    c, _ = await _create(ctx, "/api/v1/customers", _person(ctx, nodeId=root, email="c@example.com",
                                                           consents=[MARKETING]))
    d, _ = await _create(ctx, "/api/v1/customers", _person(ctx, nodeId=root, consents=[MARKETING]))
    for who in (a, b, c, d):
        await _create(ctx, "/api/v1/club/members", {"clubId": club["id"], "customerId": who["id"],
                                                    "birthDate": "1980-10-01"})
    for body in (rule_body(name="生日祝福", occasion="birthday", month=None, day=None, subject="{name}，生日快乐"),
                 rule_body(name="国庆问候"), rule_body(name="交付周年", occasion="anniversary", month=None, day=None,
                                                     channels=["app"], subject="{name}，入住一周年")):
        await _create(ctx, f"{BASE}/rules", body)
    bad = await ctx.client.post(f"{BASE}/rules", headers=ctx.auth, json=rule_body(day=31, month=9))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "day"
    paused, _ = await _create(ctx, f"{BASE}/rules", rule_body(name="暂停的国庆问候", active=False))

    def at(moment: str) -> None:
        instant = datetime.fromisoformat(moment).replace(tzinfo=SH)
        monkeypatch.setattr(clock, "utcnow", lambda: instant.astimezone(ZoneInfo("UTC")))

    async def run() -> dict[str, int]:
        async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = SYSTEM  # as the worker binds it
            return await scan(session)

    at("2027-10-01T07:30:00")  # inside the default quiet hours (21:00–08:00)
    assert await run() == {"rules": 0, "sent": 0, "unreachable": 0, "held": 0, "quiet": 1}
    at("2027-10-01T09:00:00")
    # Birthday: A (app) and C (mail); D unreachable, B never. Holiday: the same. Anniversary: A.
    assert await run() == {"rules": 3, "sent": 5, "unreachable": 2, "held": 0, "quiet": 0}
    at("2027-10-01T15:00:00")
    assert await run() == {"rules": 3, "sent": 0, "unreachable": 2, "held": 0, "quiet": 0}  # once per occasion
    at("2027-10-02T09:00:00")
    assert (await run())["sent"] == 0  # not their day

    async with db.platform_session() as session:
        rows = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.data["event"].astext == "care.message"))).all()
    mine = [m for m in rows if m.data["customerId"] in {a["id"], b["id"], c["id"], d["id"]}]
    assert sorted((m.channel, m.subject) for m in mine) == sorted([
        ("inbox", f"{a['name']}，生日快乐"), ("inbox", f"{a['name']}，国庆快乐"), ("inbox", f"{a['name']}，入住一周年"),
        ("email", f"{c['name']}，生日快乐"), ("email", f"{c['name']}，国庆快乐")])
    assert not [m for m in mine if m.data["customerId"] == b["id"]]
    accounts = {m.recipient for m in mine if m.channel == "inbox"}
    assert len(accounts) == 1 and uuid.UUID(accounts.pop())  # A's owner account
    sent = await ok(await ctx.client.get(f"{BASE}/messages", headers=ctx.auth, params={"customerId": a["id"]}))
    assert sorted(m["occasion"] for m in sent["items"]) == ["anniversary:2027", "birthday:2027", "holiday:2027-10-01"]
    assert (await ok(await ctx.client.get(f"{BASE}/messages", headers=ctx.auth,
                                          params={"ruleId": paused["id"]})))["total"] == 0
