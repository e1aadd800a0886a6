"""Schema-per-tenant figures: provisioning latency (from the pool of spare schemas, and with
the pool empty), and migration runs over 1,000 schemas.

    .venv/bin/python bench/tenancy.py [--tenants 1000] [--provision 100] [--pool 3] [--concurrency N]

Works in a scratch database of its own on DATABASE_URL's server (the embedded server when
unset) and drops it at the end. See docs/benchmarks.md for the figures and their reading.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _common import console, machine_load_note, scratch_database, stop_cleanly_on_signals
from _common import progress as _progress
from _common import verdict as _verdict

from app.config import get_settings
from app.core.audit import Actor
from app.core.db import Database
from app.tenants.migrations import TENANT_SCRIPTS, tenant_head, upgrade_shared, upgrade_tenants
from app.tenants.schemas import TenantCreate
from app.tenants.services import create_tenant
from app.tenants.spares import fill_pool

TARGET_PROVISION_P50_MS = 150
TARGET_NOOP_S = 5
TARGET_ADDITIVE_S = 60
ACTOR = Actor(kind="operator", id="bench")
BENCH_REVISION = "9000_bench_additive"


async def _create(db: Database, slug: str) -> float:
    """One create_tenant, committed; the seconds a caller of the platform API waits for it."""
    started = time.perf_counter()
    async with db.platform_transaction() as session:
        session.info["actor"] = ACTOR
        await create_tenant(session, TenantCreate(slug=slug, display_name=f"Bench {slug}"))
    return time.perf_counter() - started


def _additive_scripts(root: Path) -> Path:
    """The real tenant scripts plus one revision that adds a nullable column (no rewrite)."""
    scripts = root / "tenant"
    shutil.copytree(TENANT_SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / f"{BENCH_REVISION}.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = {BENCH_REVISION!r}\ndown_revision = {tenant_head()!r}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n"
        '    op.add_column("org_nodes", sa.Column("bench_note", sa.Text(), nullable=True), schema="tenant")\n'
    )
    return scripts


def _latency(what: str, seconds: list[float], *, target: bool = True) -> None:
    ms = sorted(t * 1000 for t in seconds)
    p50, p90 = statistics.median(ms), ms[max(0, round(0.9 * len(ms)) - 1)]
    line = f"{what} over {len(ms)}: p50 {p50:.1f} ms, p90 {p90:.1f} ms, max {ms[-1]:.1f} ms"
    if target:
        line += f" (target p50 ≤ {TARGET_PROVISION_P50_MS} ms) {_verdict(p50 <= TARGET_PROVISION_P50_MS)}"
    console.print(line)


async def run(db: Database, tenants: int, provision: int, concurrency: int, creators: int, pool: int) -> None:
    await upgrade_shared(db)
    slugs = [f"bench_{i:05d}" for i in range(tenants)]

    # 1. Provisioning latency, one at a time, as an operator creating tenants sees it: first
    # with the pool refilled between creations (the beat task's work, not timed), then with
    # the pool empty (every schema built from the DDL, as when creations outrun the refill).
    from_pool: list[float] = []
    preparing: list[float] = []
    with _progress() as progress:
        bar = progress.add_task(f"provisioning from a pool of {pool} (timed)", total=provision)
        for slug in slugs[:provision]:
            filled = await fill_pool(db, pool, actor=ACTOR)
            assert filled.ready == pool, filled
            if len(filled.built) == 1:
                preparing.append(filled.seconds)
            from_pool.append(await _create(db, slug))
            progress.advance(bar)
    await fill_pool(db, 0, actor=ACTOR)
    from_ddl: list[float] = []
    with _progress() as progress:
        bar = progress.add_task("provisioning with an empty pool (timed)", total=provision)
        for slug in slugs[provision:2 * provision]:
            from_ddl.append(await _create(db, slug))
            progress.advance(bar)
    _latency(f"provisioning from the pool ({pool} spares)", from_pool)
    _latency("provisioning with an empty pool (DDL)", from_ddl)
    if preparing:
        _latency("preparing one spare (background, not on a request)", preparing, target=False)

    # 2. The rest of the fleet, through the same create_tenant, several at once.
    rest = slugs[2 * provision:]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for slug in rest:
        queue.put_nowait(slug)
    started = time.perf_counter()
    with _progress() as progress:
        bar = progress.add_task(f"creating the other tenants ({creators} at once)", total=len(rest))

        async def creator() -> None:
            while not queue.empty():
                await _create(db, queue.get_nowait())
                progress.advance(bar)

        await asyncio.gather(*(creator() for _ in range(creators)))
    if rest:
        console.print(f"created the other {len(rest)} tenants in {time.perf_counter() - started:.1f} s "
                      f"({creators} at once)")

    # 3. Nothing to apply: every schema is at head.
    noop = await upgrade_tenants(db, concurrency=concurrency)
    assert noop.total == tenants and noop.at_head == tenants and not noop.results, noop
    console.print(f"no-op upgrade over {noop.total} schemas: {noop.seconds * 1000:.1f} ms "
                  f"(target ≤ {TARGET_NOOP_S} s) {_verdict(noop.seconds <= TARGET_NOOP_S)}")

    # 4. One additive migration over every schema.
    with tempfile.TemporaryDirectory() as tmp:
        scripts = _additive_scripts(Path(tmp))
        with _progress() as progress:
            bar = progress.add_task(f"additive migration ({concurrency} at once)", total=None)
            report = await upgrade_tenants(
                db, concurrency=concurrency, scripts=scripts,
                on_start=lambda n: progress.update(bar, total=n), on_done=lambda _: progress.advance(bar),
            )
    per_tenant = sorted(r.seconds * 1000 for r in report.migrated) or [0.0]
    console.print(f"additive migration over {report.total} schemas at concurrency {concurrency}: "
                  f"{report.seconds:.1f} s, {len(report.migrated)} migrated, {len(report.failed)} failed, "
                  f"per tenant p50 {statistics.median(per_tenant):.1f} ms "
                  f"(target ≤ {TARGET_ADDITIVE_S} s) "
                  f"{_verdict(report.seconds <= TARGET_ADDITIVE_S and not report.failed)}")
    for failure in report.failed[:5]:
        console.print(f"[red]failed[/red] {failure.slug}: {failure.error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000, help="tenant schemas in the fleet (default 1000)")
    parser.add_argument("--provision", type=int, default=100,
                        help="provisionings timed one by one, each way (default 100)")
    parser.add_argument("--pool", type=int, default=3, help="spare schemas kept while timing (default 3)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="tenants migrated at once (default: CORNERSTONE_MIGRATION_CONCURRENCY)")
    parser.add_argument("--creators", type=int, default=4, help="tenants created at once after the timed ones")
    args = parser.parse_args()
    if not 1 <= 2 * args.provision <= args.tenants:
        parser.error("--provision must be between 1 and half of --tenants (it is timed both ways)")
    if not 1 <= args.pool <= 100:
        parser.error("--pool must be between 1 and 100")
    concurrency = args.concurrency or get_settings().migration_concurrency

    stop_cleanly_on_signals()
    console.print(f"{args.tenants} tenants; {machine_load_note()}")
    with scratch_database() as url:

        async def bench() -> None:
            db = Database(url, pool_size=max(concurrency, args.creators) + 2)
            try:
                await run(db, args.tenants, args.provision, concurrency, args.creators, args.pool)
            finally:
                await db.dispose()

        asyncio.run(bench())


if __name__ == "__main__":
    main()
