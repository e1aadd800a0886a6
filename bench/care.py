"""The care scan over 1,000 tenants: the day's greetings written, then the hourly runs after.

    .venv/bin/python bench/care.py [--tenants 1000] [--customers 5] [--creators 4]

In a scratch database of its own on DATABASE_URL's server (the embedded server when unset),
dropped at the end, with its object store in a temporary directory:

1. ``--tenants`` tenants through ``create_tenant``, ``--creators`` at a time (bench/fanout.py's
   helper), each seeded through the services the API calls: the demo's three care rules plus a
   holiday rule for today, no quiet hours (so that the run is not held), an established club,
   and ``--customers`` customers with a marketing consent and an e-mail address, every other
   one a club member born today;
2. **the day's run**: the scan's per-tenant body (``care.scan``'s, as the worker runs it) in
   every tenant in turn, one process: each tenant writes its greetings to the outbox (a
   holiday greeting to every customer, a birthday greeting to the members), recorded once;
3. **the hours after**: the same again, with everything already sent (what 23 of the day's 24
   runs cost): the rules, the targets and the "sent already" check, nothing written.

Both are timed with CPU per tenant (Python and the PostgreSQL backends), as bench/fanout.py
does; bench/fanout.py measures what spreading a scan over a worker's processes changes. Each
message enqueues its delivery after commit: with no Redis the broker is the database's own
transport, in the scratch database. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from _common import console, machine_load_note, scratch_database, settle, stop_cleanly_on_signals
from _common import progress as _progress
from club import established_club
from fanout import CpuMeter, _create_tenants, serial_scan

from app.core.audit import Actor

ACTOR = Actor(kind="client", id="bench", client_id="bench")
MARKETING = {"kind": "marketing", "purpose": "节日及生日关怀", "channel": "app"}


async def seed(db: Any, slug: str, customers: int) -> None:
    """One tenant's care rules, club and consenting customers (see the module's docstring)."""
    from app.domains.access.authz import trusted
    from app.domains.care import services as care
    from app.domains.care.demo import RULES
    from app.domains.care.preferences import set_quiet
    from app.domains.care.schemas import QuietHours, RuleIn
    from app.domains.club import members
    from app.domains.club.schemas import MemberCreate
    from app.domains.customers.schemas import CustomerCreate
    from app.domains.customers.services import create_customer
    from app.domains.org.services import get_root
    from app.tenants.bound import time_zone

    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = ACTOR
        system, root = trusted(), await get_root(session)
        today = datetime.now(ZoneInfo(await time_zone(session))).date()
        for rule in [*RULES, {**RULES[1], "name": "今日问候 Today", "month": today.month, "day": today.day}]:
            await care.create_rule(session, system, msgspec.convert(rule, RuleIn))
        await set_quiet(session, QuietHours(start="00:00:00", end="00:00:00"))  # none
        club = await established_club(session, system, root)
        for i in range(customers):
            c = await create_customer(session, system, msgspec.convert({
                "kind": "person", "name": f"客户{i}", "nodeId": str(root.id), "source": "bench", "purpose": "bench",
                "email": f"c{i}@{slug.replace('_', '-')}.example", "consents": [MARKETING]}, CustomerCreate))
            if i % 2 == 0:
                await members.enrol(session, system, MemberCreate(
                    club_id=club.id, customer_id=c.id, birth_date=today.replace(year=1980)))


async def run(url: str, args: argparse.Namespace) -> None:
    from sqlalchemy import func, select

    from app.auth.models import OutboxMessage
    from app.core.db import Database
    from app.tenants.migrations import upgrade_shared

    db = Database(url, pool_size=args.creators + 2)
    try:
        await upgrade_shared(db)
        started = time.perf_counter()
        await _create_tenants(db, args.tenants, args.creators)
        console.print(f"created {args.tenants} tenants in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        with _progress() as progress:
            bar = progress.add_task("seeding care rules, a club and customers", total=args.tenants)
            for i in range(args.tenants):
                await seed(db, f"bench_{i:05d}", args.customers)
                progress.advance(bar)
        console.print(f"seeded {args.customers} customers a tenant in {time.perf_counter() - started:.1f} s")
        settle(url)

        for what in ("the day's run: greetings written", "an hour later: all sent already"):
            with CpuMeter(url, [os.getpid()]) as cpu:
                seconds, done, failed = await serial_scan(db, "care.scan")
            console.print(f"{what}: {seconds:.2f} s for {done} tenants ({failed} failed), "
                          f"{seconds / max(done + failed, 1) * 1000:.1f} ms per tenant; {cpu.line(done + failed)}")
            async with db.platform_session() as session:
                written = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.data["event"].astext == "care.message"))
            console.print(f"       care messages in the outbox: {written}")
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000, help="active tenants (default 1000)")
    parser.add_argument("--customers", type=int, default=5, help="consenting customers a tenant (default 5)")
    parser.add_argument("--creators", type=int, default=4, help="tenants created at once (default 4)")
    args = parser.parse_args()
    stop_cleanly_on_signals()
    console.print(f"{args.tenants} tenants × {args.customers} customers, care.scan; {machine_load_note()}")
    data_dir = Path(tempfile.mkdtemp(prefix="cs-bench-care-"))
    try:
        with scratch_database() as url:
            os.environ.update({"DATABASE_URL": url, "CORNERSTONE_DATA_DIR": str(data_dir),
                               "CORNERSTONE_LOG_LEVEL": "WARNING"})
            os.environ.pop("REDIS_URL", None)  # the deliveries go to the scratch database's broker tables
            asyncio.run(run(url, args))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
