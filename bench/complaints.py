"""Complaints: the monthly statistics query on a tenant with 200,000 complaints.

    .venv/bin/python bench/complaints.py [--complaints 200000] [--months 24] [--queries 30]

One run, in a scratch database of its own on DATABASE_URL's server (the embedded server when
unset), dropped at the end:

1. a tenant (provisioned as the API does: its category tree and calendar seeded) with three
   branches of four projects each;
2. ``--complaints`` records bulk-inserted in one SQL statement (INSERT … SELECT over
   generate_series), spread evenly over ``--months`` months from January 2025, across both
   registers, every channel, the categories and projects, in every status, with business
   seconds to first response and resolution, SLA verdicts, ratings, reopenings and
   litigation, and the running ones waiting for their next SLA line in the coming day; then
   ANALYZE;
3. the statistics service as the API runs it (one GROUPING SETS query, totals and four
   breakdowns with their names): one month, and twelve months, for a whole-group caller and
   for a project manager whose grants filter the rows; the recurring-causes query; p50/p95/max
   over ``--queries`` each;
4. the SLA scan with nothing due (the beat task's cost on a quiet tenant of that size: some
   60,000 running clocks, none of them due).

It prints each figure. See docs/benchmarks.md for their reading.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics as stats
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from _common import console, machine_load_note, scratch_database, stop_cleanly_on_signals
from sqlalchemy import BigInteger, DateTime, Integer, Text, case, cast, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID, array
from sqlalchemy.sql.elements import ClauseElement

from app.config import get_settings
from app.core.audit import Actor
from app.core.db import Database

ACTOR = Actor(kind="client", id="bench", client_id="bench")
START = date(2025, 1, 1)
CHANNELS = ["app", "hotline", "email", "property_company", "walk_in", "letter"]
SEVERITIES = ["low", "medium", "medium", "high", "critical"]


async def build(db: Database, slug: str) -> tuple[list[Any], dict[str, Any], Any]:
    """The tenant and its tree through the services; the projects, the categories and the state
    of the default calendar (what running clocks were computed in)."""
    from app.domains.access.authz import trusted
    from app.domains.calendars.services import load
    from app.domains.complaints.models import ComplaintCategory
    from app.domains.org import services
    from app.domains.org.schemas import BranchCreate, ProjectCreate
    from app.tenants.migrations import upgrade_shared
    from app.tenants.schemas import TenantCreate
    from app.tenants.services import create_tenant

    await upgrade_shared(db)
    async with db.platform_transaction() as session:
        session.info["actor"] = ACTOR
        await create_tenant(session, TenantCreate(slug=slug, display_name="Bench complaints"))
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = ACTOR
        projects = []
        for code in ("SZ", "GZ", "SH"):
            branch = await services.create_branch(session, BranchCreate(code=code, name=f"Branch {code}"))
            for p in range(4):
                projects.append(await services.create_project(session, trusted(), ProjectCreate(
                    branch_id=branch.id, code=f"{code}{p + 1:02d}", name=f"项目 {code}{p + 1}",
                    handover_date=date(2024, 6, 30))))
        categories = (await session.scalars(select(ComplaintCategory).order_by(ComplaintCategory.code))).all()
        stamp = (await load(session)).stamp
        return [(p.id, p.path) for p in projects], {c.code: (c.id, c.quality) for c in categories}, stamp


async def fill(db: Database, slug: str, count: int, months: int, projects: list[Any],
               categories: dict[str, Any], stamp: Any) -> float:
    """``count`` complaints in one INSERT … SELECT; the seconds it took (ANALYZE included)."""
    from app.domains.complaints.models import Complaint

    n = func.generate_series(1, count).table_valued("i").render_derived()
    i = n.c.i
    big = cast(i, BigInteger)  # products of the row number overflow a 32-bit integer
    minutes = months * 30 * 24 * 60
    codes = sorted(categories)

    def pick(values: list[Any], key: Any, kind: Any) -> Any:
        return array([literal(v, kind) for v in values], type_=ARRAY(kind))[key % len(values) + 1]

    # Deterministic spreads from the row number: primes keep the columns independent enough.
    status = case((i % 100 == 0, "litigation"), (i % 10 < 7, "closed"), (i % 10 == 7, "handling"),
                  (i % 10 == 8, "investigating"), else_="received")
    received = func.make_timestamptz(START.year, START.month, START.day, 0, 0, 0, "Asia/Shanghai") \
        + func.make_interval(0, 0, 0, 0, 0, cast(big * minutes // count, Integer))
    responded = status != "received"
    response_seconds = cast((big * 7919) % 28800, Integer)
    resolved = status == "closed"
    resolution_seconds = cast((big * 104729) % 180000, Integer)
    satisfaction = case((resolved & (i % 7 != 0), i % 5 + 1), else_=None)
    # Running clocks (received, investigating, handling) wait for their next line in the coming
    # days, computed in the calendar as it stands: what the scan's index holds on a quiet tenant.
    running = status.in_(["received", "investigating", "handling"])
    columns = {
        "id": func.gen_random_uuid(),
        "register": case((i % 10 == 9, "dispute"), else_="complaint"),
        "number": func.concat("B-", cast(i, Text)),
        "channel": pick(CHANNELS, i * 31, Text()),
        "node_id": pick([p[0] for p in projects], i * 17, UUID(as_uuid=True)),
        "category_id": pick([categories[c][0] for c in codes], i * 13, UUID(as_uuid=True)),
        "quality": case(*[(i * 13 % len(codes) == k, categories[c][1]) for k, c in enumerate(codes)]),
        "severity": pick(SEVERITIES, i * 7, Text()),
        "subject": func.concat("投诉 ", cast(i, Text)),
        "description": "卫生间渗水，天花板有水渍。",
        "contact_note": "业主来电",
        "status": status,
        "filed_by": "bench",
        "department": "customer_affairs",
        "received_at": received,
        "first_responded_at": case((responded, received + func.make_interval(0, 0, 0, 0, 4)), else_=None),
        "resolved_at": case((resolved, received + func.make_interval(0, 0, 0, 3)), else_=None),
        "closed_at": case((resolved, received + func.make_interval(0, 0, 0, 5)), else_=None),
        "satisfaction": satisfaction,
        "litigated_at": case((status == "litigation", received + func.make_interval(0, 1)), else_=None),
        "reopen_count": case((i % 50 == 0, 1), else_=0),
        "response_target_minutes": 240,
        "resolution_target_minutes": 2250,
        "paused_seconds": 0,
        "response_seconds": case((responded, response_seconds), else_=None),
        "response_met": case((responded, response_seconds <= 14400), else_=None),
        "resolution_seconds": case((resolved, resolution_seconds), else_=None),
        "resolution_met": case((resolved, resolution_seconds <= 135000), else_=None),
        "escalation_level": 0,
        "sla_next_check_at": case((running, func.now() + func.make_interval(0, 0, 0, 1, 0, i % 1440)), else_=None),
        "sla_calendar_stamp": literal(stamp, DateTime(timezone=True)),  # what every record was drawn in
        "version": 1,
    }
    started = time.perf_counter()
    async with db.tenant_transaction(f"t_{slug}") as session:
        table = Complaint.__table__
        values = [v if isinstance(v, ClauseElement) else literal(v) for v in columns.values()]
        await session.execute(insert(table).from_select(list(columns), select(*values).select_from(n)))
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'ANALYZE "t_{slug}".complaints'))
    return time.perf_counter() - started


def _figures(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {stats.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"


async def timed(db: Database, slug: str, queries: int, run: Callable[[Any], Awaitable[Any]]) -> tuple[str, Any]:
    samples, last = [], None
    for _ in range(queries):
        async with db.tenant_session(f"t_{slug}", read_only=True) as session:
            started = time.perf_counter()
            last = await run(session)
            samples.append(time.perf_counter() - started)
    return _figures(samples), last


async def measure(db: Database, slug: str, queries: int, projects: list[Any], months: int) -> None:
    from app.auth.principal import Principal
    from app.core.audit import SYSTEM
    from app.domains.access.authz import Authorizer
    from app.domains.complaints import services, statistics

    group = Authorizer(principal=Principal(subject="bench", client_id="bench", scopes=frozenset(), tenant=slug,
                                           token_id="", expires_at=0), whole_group=True)
    manager = Authorizer(principal=group.principal, grants={services.READ: [projects[0][1]]})
    month = f"{START.year + (months // 2) // 12}-{(months // 2) % 12 + 1:02d}"

    def compute(authz: Authorizer, span: int) -> Callable[[Any], Awaitable[Any]]:
        async def run(session: Any) -> Any:
            return await statistics.compute(session, authz, await statistics.period_of(session, month, span), None)
        return run

    for label, authz in (("whole group", group), ("project manager (one project)", manager)):
        for span in (1, 12):
            figures, result = await timed(db, slug, queries, compute(authz, span))
            console.print(f"statistics, {span} month(s) from {month}, {label}: {result.totals.received:,} records "
                          f"received, {len(result.by_category)} categories, {len(result.by_project)} projects: "
                          f"{figures}")

    async def recurring(session: Any) -> Any:
        return await statistics.recurring(session, group, await statistics.period_of(session, month, 3), 2, None)

    figures, result = await timed(db, slug, queries, recurring)
    console.print(f"recurring causes, 3 months, whole group: {len(result.items)} category × project pairs: {figures}")

    samples = []
    for _ in range(max(3, queries // 3)):
        async with db.tenant_transaction(f"t_{slug}") as session:
            session.info["actor"] = SYSTEM
            started = time.perf_counter()
            counts = await services.scan(session)
            samples.append(time.perf_counter() - started)
    console.print(f"SLA scan with nothing due ({counts['checked']} checked, the handover switch included): "
                  f"{_figures(samples)}")


async def main(args: argparse.Namespace) -> None:
    console.print(f"[bold]Complaints bench[/bold]: {args.complaints:,} complaints over {args.months} months; "
                  f"{machine_load_note()}")
    with scratch_database("cs_bench_cpl") as url:
        db = Database(url, pool_size=4)
        slug = f"bench_{uuid.uuid4().hex[:8]}"
        try:
            projects, categories, stamp = await build(db, slug)
            seconds = await fill(db, slug, args.complaints, args.months, projects, categories, stamp)
            console.print(f"bulk insert of {args.complaints:,} complaints (one INSERT … SELECT, then ANALYZE): "
                          f"{seconds:.1f} s")
            await measure(db, slug, args.queries, projects, args.months)
        finally:
            await db.dispose()


if __name__ == "__main__":
    stop_cleanly_on_signals()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--complaints", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--queries", type=int, default=30)
    get_settings()
    asyncio.run(main(parser.parse_args()))
