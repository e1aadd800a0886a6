"""Customers: CSV import speed, and search latency on a tenant of 100,000 customers.

    .venv/bin/python bench/customers.py [--customers 100000] [--file-rows 10000] [--queries 300]

One run, in a scratch database of its own on DATABASE_URL's server (the embedded server when
unset), dropped at the end:

1. a tenant with three branches, one project of 20 buildings × 50 units (1,000 units);
2. imports: ``--customers / --file-rows`` CSV files of ``--file-rows`` rows each (the first with
   1,000 unit ownerships), each through the import job's own code (decode, header check, row
   validation with phone and ID checksum, sealing, blind indexes, bulk insert, audit), run in
   this process as the worker runs it; rows per second per file;
3. searches through the customers service, as the API runs them (page of 50 with its total,
   masks decrypted for the page; the exact searches are audited too): by exact phone (blind
   index), by exact ID number (blind index), by a one- and a two-character name prefix;
   p50/p95/max over ``--queries`` each, for a whole-group caller and for a project manager
   whose grants filter the rows;
4. grading: every customer scored and graded through the grading job's own code (RFM and
   weighted score in SQL, in batches, grade history written), as the worker runs it: a first
   run (every grade new) and a second (nothing changes); customers per second;
5. the grade summary table: pages of 50 over every customer, by score, by monthly sales, and
   the high tier by fulfilment rate (latency).

It prints each figure. See docs/benchmarks.md for their reading.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from _common import console, machine_load_note, scratch_database, stop_cleanly_on_signals

from app.config import get_settings
from app.core.audit import Actor
from app.core.db import Database

if TYPE_CHECKING:
    from app.domains.access.authz import Authorizer
    from app.domains.grading.models import Tier

# A partner back end's client (acts for the whole group): the import job acts with its grants.
ACTOR = Actor(kind="client", id="bench", client_id="bench")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉萍红娥玲芬燕彬鹏斌浩宇轩子涵欣怡晨阳"
REGIONS = ["110105", "310104", "440305", "440106", "510107", "330106", "320102", "420106"]
HEADER = ["kind", "name", "gender", "phone", "id_number", "address", "source", "purpose", "building_code",
          "unit_number", "stage", "payment_method", "amount"]


def _id_number(n: int) -> str:
    from app.core.pii import id_check_character

    born = date(1950, 1, 1) + timedelta(days=n % 20_000)
    first17 = f"{REGIONS[n % len(REGIONS)]}{born:%Y%m%d}{n // 20_000 % 1000:03d}"
    return first17 + id_check_character(first17)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def make_file(start: int, rows: int, rng: random.Random, units: list[tuple[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(start, start + rows):
        unit = units[i - start] if i - start < len(units) else ("", "")
        writer.writerow(["person", _name(rng), rng.choice(("male", "female")), f"150{i:08d}", _id_number(i),
                         f"广东省深圳市南山区科技园{i % 500}栋{i % 30}号", "2026 春季房展会", "购房咨询与回访",
                         unit[0], unit[1], "contract" if unit[0] else "", "mortgage" if unit[0] else "",
                         "2380000.00" if unit[0] else ""])
    return out.getvalue().encode()


async def build(db: Database, slug: str) -> tuple[list[tuple[str, str]], uuid.UUID, uuid.UUID]:
    """The tenant and its tree through the services; the units (building code, number), the
    project's id and a project manager's account id."""
    from app.auth.tokens import ensure_signing_key
    from app.domains.access.authz import trusted
    from app.domains.access.services import grant_by_code
    from app.domains.org import services
    from app.domains.org.schemas import BranchCreate, BuildingCreate, ProjectCreate, UnitCreate
    from app.tenants.migrations import upgrade_shared
    from app.tenants.schemas import TenantCreate
    from app.tenants.services import create_tenant

    await upgrade_shared(db)
    async with db.platform_transaction() as session:
        await ensure_signing_key(session, token_ttl=900)
    async with db.platform_transaction() as session:
        session.info["actor"] = ACTOR
        await create_tenant(session, TenantCreate(slug=slug, display_name="Bench customers"))
    units: list[tuple[str, str]] = []
    manager = uuid.uuid4()
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = ACTOR
        system = trusted()
        branches = [await services.create_branch(session, BranchCreate(code=c, name=f"Branch {c}"))
                    for c in ("SZ", "GZ", "SH")]
        project = await services.create_project(session, system, ProjectCreate(
            branch_id=branches[0].id, code="SZ01", name="阳光花园", handover_date=date(2025, 12, 28)))
        for b in range(20):
            building = await services.create_building(session, system, BuildingCreate(
                project_id=project.id, code=f"SZ01-B{b:02d}", name=f"{b}栋"))
            for n in range(50):
                number = f"{n // 2 + 1}{n % 2 + 1:02d}"
                await services.create_unit(session, system, UnitCreate(building_id=building.id, number=number,
                                                                        floor=n // 2 + 1))
                units.append((building.code, number))
        # A project manager who may read the project's customers only: the grants filter applies.
        from app.domains.access.models import Role

        session.add(Role(code="bench_pm", name="Bench project manager", permissions=["customers.read"]))
        await session.flush()
        await grant_by_code(session, account_id=manager, role_code="bench_pm", node=project)
        return units, project.id, manager


async def import_file(db: Database, slug: str, content: bytes) -> tuple[float, dict[str, Any]]:
    """One file through the import job's code, as the worker runs it; (seconds, result)."""
    from app.core.jobs import run_job
    from app.domains.access.authz import trusted
    from app.domains.customers import imports

    started = time.perf_counter()
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = ACTOR
        job = await imports.start_import(session, trusted(), content, "valid_rows", None)
    result: dict[str, Any] = {}
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = Actor(kind="system", id="system")

        async def work(progress: Any) -> dict[str, Any]:
            result.update(await imports.run_import(session, job.id, progress))
            return result

        assert await run_job(session, job.id, imports.IMPORT_KIND, work)
    return time.perf_counter() - started, result


def _stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return f"p50 {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms"


async def timed(queries: list[Any], run: Callable[[Any], Awaitable[int]]) -> tuple[list[float], int]:
    samples, found = [], 0
    for q in queries:
        started = time.perf_counter()
        found += await run(q)
        samples.append(time.perf_counter() - started)
    return samples, found


async def searches(db: Database, slug: str, customers: int, queries: int, manager: uuid.UUID) -> None:
    from app.auth.principal import Principal
    from app.core.pagination import PageParams
    from app.domains.access.authz import load_authorizer, trusted
    from app.domains.customers import services
    from app.domains.customers.schemas import SearchIn

    rng = random.Random(7)
    page = PageParams(limit=50, offset=0, sort=None)
    phones = [f"150{rng.randrange(customers):08d}" for _ in range(queries)]
    ids = [_id_number(rng.randrange(customers)) for _ in range(queries)]
    one = [rng.choice(SURNAMES) for _ in range(queries)]
    two = [rng.choice(SURNAMES) + rng.choice(GIVEN) for _ in range(queries)]
    async with db.tenant_session(f"t_{slug}") as session:
        session.info["actor"] = ACTOR
        pm = await load_authorizer(session, Principal(subject=str(manager), client_id="bench",
                                                      scopes=frozenset(), tenant=slug, token_id="", expires_at=0))
        for who, authz in (("whole group", trusted()), ("project manager", pm)):
            # Each closure binds the loop's values as defaults (it is awaited within the iteration).
            async def by_phone(p: str, authz: Authorizer = authz) -> int:
                return (await services.search(session, authz, page, SearchIn(phone=p))).total

            async def by_id(n: str, authz: Authorizer = authz) -> int:
                return (await services.search(session, authz, page, SearchIn(id_number=n))).total

            def by_prefix(p: str, authz: Authorizer = authz) -> Awaitable[int]:
                async def run() -> int:
                    return (await services.list_customers(session, authz, page, q=p, status=None, kind=None,
                                                          node_id=None, include_merged=False)).total
                return run()

            for label, qs, fn in (("exact phone (blind index)", phones, by_phone),
                                  ("exact ID number (blind index)", ids, by_id),
                                  ("name prefix, 1 character", one, by_prefix),
                                  ("name prefix, 2 characters", two, by_prefix)):
                await fn(qs[0])  # warm the plan cache and the keys
                samples, found = await timed(qs, fn)
                console.print(f"search {label}, {who}: {_stats(samples)}; {found / len(qs):.1f} matches per "
                              "query on average")
            await session.rollback()  # the searches' audit records are not kept


async def grading(db: Database, slug: str, customers: int) -> None:
    from app.core.jobs import create_job, run_job
    from app.domains.grading import services

    for label in ("first run, every grade new", "second run, nothing changes"):
        async with db.tenant_transaction(f"t_{slug}") as session:
            session.info["actor"] = ACTOR
            job = await create_job(session, services.KIND)
        started = time.perf_counter()
        async with db.tenant_transaction(f"t_{slug}") as session:
            session.info["actor"] = Actor(kind="system", id="system")

            async def work(progress: Any, job_id: uuid.UUID = job.id) -> dict[str, Any]:
                return await services.recompute(session, progress=progress, job_id=job_id)

            assert await run_job(session, job.id, services.KIND, work)
        seconds = time.perf_counter() - started
        console.print(f"grading, {label}: {customers:,} customers in {seconds:.1f} s, "
                      f"{customers / seconds:,.0f} customers/s")


async def summary_table(db: Database, slug: str, queries: int) -> None:
    """Pages of the grade summary table (one SQL statement and its count), whole group."""
    from app.core.pagination import PageParams
    from app.domains.access.authz import trusted
    from app.domains.grading import services
    from app.domains.grading.models import Tier

    rng = random.Random(11)
    async with db.tenant_session(f"t_{slug}", read_only=True) as session:
        for label, sort, tier in (("by score", None, None), ("by monthly sales", "-monthlySales", None),
                                  ("high tier, by fulfilment rate", "fulfilmentRate", Tier.high)):
            async def page(offset: int, sort: str | None = sort, tier: Tier | None = tier) -> int:
                return len((await services.list_grades(
                    session, trusted(), PageParams(limit=50, offset=offset, sort=sort), grade=None, tier=tier,
                    node_id=None, account_manager_id=None, has_account_manager=None)).items)

            offsets = [rng.randrange(0, 5_000, 50) for _ in range(min(queries, 50))]
            await page(0)
            samples, _ = await timed(offsets, page)
            console.print(f"grade summary table, a page of 50 {label}: {_stats(samples)}")


async def main(args: argparse.Namespace) -> None:
    console.print(f"[bold]Customers bench[/bold]: {args.customers:,} customers in files of {args.file_rows:,} rows; "
                  f"{machine_load_note()}")
    with scratch_database("cs_bench_cust") as url:
        db = Database(url, pool_size=4)
        slug = f"bench_{uuid.uuid4().hex[:8]}"
        try:
            units, _, manager = await build(db, slug)
            rng = random.Random(2026)
            rates = []
            for start in range(0, args.customers, args.file_rows):
                rows = min(args.file_rows, args.customers - start)
                content = make_file(start, rows, rng, units if start == 0 else [])
                seconds, result = await import_file(db, slug, content)
                assert result["imported"] == rows, (result["imported"], result["rejections"][:5])
                rates.append(rows / seconds)
                if start == 0:
                    console.print(f"import, first file of {rows:,} rows ({len(content) / 1e6:.1f} MB, "
                                  f"{result['units']:,} ownerships): {seconds:.2f} s, {rows / seconds:,.0f} rows/s")
            console.print(f"import, {len(rates)} files of {args.file_rows:,} rows: "
                          f"median {statistics.median(rates):,.0f} rows/s (min {min(rates):,.0f}, "
                          f"max {max(rates):,.0f})")
            await searches(db, slug, args.customers, args.queries, manager)
            await grading(db, slug, args.customers)
            await summary_table(db, slug, args.queries)
        finally:
            await db.dispose()


if __name__ == "__main__":
    stop_cleanly_on_signals()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--file-rows", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    get_settings()
    asyncio.run(main(parser.parse_args()))
