"""Points expiry: what is left of points earned before the group's validity period is written
off by one compensating ``expire`` entry per member (oldest points spent first), never below
zero, exactly once however often the scan runs; once with fixed clocks, once through the worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from tests.routes import _create  # first: it loads the catalogue modules

# isort: split
from app.core import clock
from app.core.audit import SYSTEM
from app.domains.club.models import EntryKind, PointsEntry
from app.domains.club.tasks import expire_points, points_expiry
from app.fanout.tasks import BoundTenant
from tests.catalogue.club import BASE, new_club, new_member, ok
from tests.catalogue.complaints import tenant_ctx
from tests.worker.conftest import Worker, wait_for

NOW = datetime(2027, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


async def _move(ctx: Any, member: dict[str, Any], kind: str, points: int, months_ago: int) -> dict[str, Any]:
    """A movement through the API, then dated ``months_ago`` (30-day months) before NOW."""
    entry, _ = await _create(ctx, f"{BASE}/members/{member['id']}/points",
                             {"kind": kind, "points": points, "reason": f"{kind} {points}"})
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(PointsEntry).where(PointsEntry.id == uuid.UUID(entry["id"]))
                              .values(created_at=NOW - timedelta(days=30 * months_ago)))
    return dict(entry)


async def _balance(ctx: Any, member: dict[str, Any]) -> int:
    return int((await ok(await ctx.client.get(f"{BASE}/members/{member['id']}", headers=ctx.auth)))["balance"])


async def _expired(ctx: Any, member: dict[str, Any]) -> list[int]:
    ledger = await ok(await ctx.client.get(f"{BASE}/members/{member['id']}/points", headers=ctx.auth))
    return [e["points"] for e in ledger["items"] if e["kind"] == "expire"]


async def test_points_expire_first_in_first_out_once(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                     monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "expiry")
    club, _ = await new_club(ctx)
    a, _, _ = await new_member(ctx, club["id"])
    b, _, _ = await new_member(ctx, club["id"])
    c, _, _ = await new_member(ctx, club["id"])
    # A: 100 earned 25 months ago, 30 of them spent, 50 earned 13 months ago.
    await _move(ctx, a, "earn", 100, 25)
    await _move(ctx, a, "redeem", 30, 20)
    await _move(ctx, a, "earn", 50, 13)
    # B: 100 old and 50 recent, 120 spent: the old ones are all gone already.
    await _move(ctx, b, "earn", 100, 25)
    await _move(ctx, b, "earn", 50, 13)
    await _move(ctx, b, "redeem", 120, 12)
    # C: an old earning reversed (never earned), then 40 recent.
    undone = await _move(ctx, c, "earn", 80, 26)
    await ok(await ctx.client.post(f"{BASE}/points/{undone['id']}/reverse", headers=ctx.auth,
                                   json={"reason": "录入错误"}), 201)
    await _move(ctx, c, "earn", 40, 1)
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)

    async def run() -> dict[str, int]:
        return dict(await expire_points(BoundTenant(db, ctx.tenant)))

    settings = await ctx.client.get(f"{BASE}/settings", headers=ctx.auth)
    assert (await ok(settings))["pointsValidMonths"] == 24 and settings.headers["etag"] == '"0"'
    assert await run() == {"members": 1, "points": 70}
    assert await run() == {"members": 0, "points": 0}  # once
    assert (await _balance(ctx, a), await _expired(ctx, a)) == (50, [-70])
    assert (await _balance(ctx, b), await _expired(ctx, b)) == (30, [])
    assert (await _balance(ctx, c), await _expired(ctx, c)) == (40, [])

    # The group shortens the validity to 12 months: the 13-month-old points go too.
    bad = await ctx.client.put(f"{BASE}/settings", headers={**ctx.auth, "If-Match": '"0"'},
                               json={"pointsValidMonths": 0})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "pointsValidMonths"
    await ok(await ctx.client.put(f"{BASE}/settings", headers={**ctx.auth, "If-Match": '"0"'},
                                  json={"pointsValidMonths": 12}))
    stale = await ctx.client.put(f"{BASE}/settings", headers={**ctx.auth, "If-Match": '"0"'},
                                 json={"pointsValidMonths": 6})
    assert stale.status_code == 412
    assert await run() == {"members": 2, "points": 80}
    assert await run() == {"members": 0, "points": 0}
    assert (await _balance(ctx, a), sorted(await _expired(ctx, a))) == (0, [-70, -50])
    assert (await _balance(ctx, b), await _expired(ctx, b)) == (0, [-30])  # never below zero
    assert await _balance(ctx, c) == 40
    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        by = set((await session.scalars(select(PointsEntry.created_by).where(
            PointsEntry.kind == EntryKind.expire))).all())
    assert by == {"system:points-expiry"} and SYSTEM.id == "system"


async def test_points_expire_through_the_worker(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                worker: Worker) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "expirywk")
    club, _ = await new_club(ctx)
    member, _, _ = await new_member(ctx, club["id"])
    months = (NOW - datetime.now(UTC)).days // 30 + 31  # some 30 months before the real today
    await _move(ctx, member, "earn", 90, months)
    await _move(ctx, member, "redeem", 20, months - 1)
    points_expiry.apply_async()

    async def written_off() -> Any:
        return await _expired(ctx, member)

    assert await wait_for(worker, written_off, "the points-expiry scan") == [-70]
    assert await _balance(ctx, member) == 0
