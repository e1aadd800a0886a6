"""The points ledger under contention: redemptions per second on one member, many at once.

    .venv/bin/python bench/club.py [--clients 1,8,32] [--seconds 10]

One run, in a scratch database of its own on DATABASE_URL's server (the embedded server when
unset), dropped at the end:

1. a tenant with an established club (through the club's services, as the demo seed does),
   one member holding enough points for every redemption of the run, and as many other
   members as the largest ``--clients``;
2. for each ``--clients`` count C: C clients redeem 1 point each, again and again for
   ``--seconds``, every redemption a transaction of its own through the service the API
   calls (``members.add_entry`` after locking the member, as ``POST
   /api/v1/club/members/{id}/points`` does: the ledger entry, the balance, two audit
   records) — first all on **the one member** (they queue on its row lock), then each on
   **a member of its own** (no contention: the ceiling the box allows);
3. after each run, the member's balance checked against its ledger: the starting balance
   less one point per redemption that returned, never below zero.

It prints redemptions per second and p50/p99 latency of each. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics as stats
import time
import uuid
from typing import Any

import msgspec
from _common import console, machine_load_note, scratch_database, stop_cleanly_on_signals
from sqlalchemy import func, select

from app.core.audit import Actor
from app.core.db import Database

ACTOR = Actor(kind="client", id="bench", client_id="bench")
START_BALANCE = 10_000_000


async def established_club(session: Any, system: Any, root: Any) -> Any:
    """A club at the group, established without its approval (counted as approved, audited)."""
    from app.core import audit, clock
    from app.domains.club import clubs
    from app.domains.club.models import ClubStage
    from app.domains.club.schemas import ClubCreate

    club = await clubs.create_club(session, system, msgspec.convert({
        "nodeId": str(root.id), "name": "阳光·悦享会", "purpose": "bench", "charter": "bench", "budget": "1.00",
        "referralPoints": 0}, ClubCreate))
    before = audit.snapshot(club)
    club.stage, club.established_at = ClubStage.established, clock.utcnow()
    await audit.record(session, action="club.club.establish", entity_type=clubs.CLUB, entity_id=club.id,
                       before=before, after=audit.snapshot(club), reason="bench")
    return club


async def build(db: Database, slug: str, members: int) -> list[uuid.UUID]:
    """The tenant, its club and ``members`` members, each holding START_BALANCE points; their ids."""
    from app.domains.access.authz import trusted
    from app.domains.club import members as ledger
    from app.domains.club.models import Member
    from app.domains.club.schemas import EntryIn, MemberCreate
    from app.domains.customers.schemas import CustomerCreate
    from app.domains.customers.services import create_customer
    from app.domains.org.services import get_root
    from app.tenants.migrations import upgrade_shared
    from app.tenants.schemas import TenantCreate
    from app.tenants.services import create_tenant

    await upgrade_shared(db)
    async with db.platform_transaction() as session:
        session.info["actor"] = ACTOR
        await create_tenant(session, TenantCreate(slug=slug, display_name="Bench club"))
    ids = []
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = ACTOR
        system, root = trusted(), await get_root(session)
        club = await established_club(session, system, root)
        for i in range(members):
            customer = await create_customer(session, system, msgspec.convert({
                "kind": "person", "name": f"会员{i}", "nodeId": str(root.id), "source": "bench",
                "purpose": "bench"}, CustomerCreate))
            m = await ledger.enrol(session, system, MemberCreate(club_id=club.id, customer_id=customer.id,
                                                                 birth_date=None))
            locked = await session.scalar(select(Member).where(Member.id == m.id).with_for_update())
            assert locked is not None
            await ledger.add_entry(session, system, locked, root.path,
                                   EntryIn(kind="earn", points=START_BALANCE, reason="bench"))
            ids.append(m.id)
    return ids


async def redeem_once(db: Database, slug: str, member_id: uuid.UUID) -> None:
    """One redemption as the API makes it: a transaction, the member locked, the entry appended."""
    from app.domains.access.authz import trusted
    from app.domains.club import members as ledger
    from app.domains.club.schemas import EntryIn

    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = ACTOR
        system = trusted()
        member, path = await ledger.get_member(session, system, member_id, lock=True)
        await ledger.add_entry(session, system, member, path, EntryIn(kind="redeem", points=1, reason="bench"))


async def run(db: Database, slug: str, targets: list[uuid.UUID], seconds: float) -> tuple[int, list[float]]:
    """len(targets) clients, client i redeeming on targets[i], for ``seconds``; how many
    succeeded and their latencies (s)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(member_id: uuid.UUID) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await redeem_once(db, slug, member_id)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client(m) for m in targets))
    return len(latencies), latencies


async def check(db: Database, slug: str, member_id: uuid.UUID, redeemed: int) -> tuple[int, int]:
    """The member's balance and their ledger's sum (both must be START_BALANCE - redeemed)."""
    from app.domains.club.models import Member, PointsEntry

    async with db.tenant_session(f"t_{slug}") as session:
        balance = await session.scalar(select(Member.balance).where(Member.id == member_id))
        total = await session.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.member_id == member_id))
    assert balance == total == START_BALANCE - redeemed, (balance, total, START_BALANCE - redeemed)
    return int(balance or 0), int(total or 0)


def _line(what: str, done: int, seconds: float, latencies: list[float]) -> str:
    q = stats.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return (f"{what}: {done / seconds:7.1f} redemptions/s  p50 {q[49] * 1000:6.1f} ms  p99 {q[98] * 1000:6.1f} ms"
            f"  ({done} in {seconds:.0f} s)")


async def main(args: argparse.Namespace) -> None:
    clients = [int(c) for c in args.clients.split(",")]
    with scratch_database() as url:
        db = Database(url, pool_size=max(clients) + 4)
        try:
            slug = f"bench_club_{uuid.uuid4().hex[:6]}"
            started = time.perf_counter()
            ids = await build(db, slug, max(clients) + 1)
            console.print(f"built the tenant, its club and {len(ids)} members in {time.perf_counter() - started:.1f} s")
            one, others = ids[0], ids[1:]
            await run(db, slug, [one], 1.0)  # warm-up: the pool's connections, the caches
            spent = await _spent(db, slug, one)
            await check(db, slug, one, spent)
            for c in clients:
                done, latencies = await run(db, slug, [one] * c, args.seconds)
                spent += done
                await check(db, slug, one, spent)
                console.print(_line(f"{c:3d} clients, one member ", done, args.seconds, latencies))
                done, latencies = await run(db, slug, others[:c], args.seconds)
                console.print(_line(f"{c:3d} clients, own members", done, args.seconds, latencies))
            console.print(f"the one member's balance equals its ledger's sum after every run: "
                          f"{START_BALANCE} - {spent} redemptions")
        finally:
            await db.dispose()


async def _spent(db: Database, slug: str, member_id: uuid.UUID) -> int:
    from app.domains.club.models import EntryKind, PointsEntry

    async with db.tenant_session(f"t_{slug}") as session:
        return int(await session.scalar(select(func.count()).where(
            PointsEntry.member_id == member_id, PointsEntry.kind == EntryKind.redeem)) or 0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,8,32", help="concurrent clients, comma-separated (default 1,8,32)")
    parser.add_argument("--seconds", type=float, default=10.0, help="each run's length (default 10)")
    parsed = parser.parse_args()
    stop_cleanly_on_signals()
    console.print(f"points redemptions under contention; {machine_load_note()}")
    asyncio.run(main(parsed))
