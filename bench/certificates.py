"""Certificates and collection: the daily scans and the statistics on a tenant with 50,000 units.

    .venv/bin/python bench/certificates.py [--units 50000] [--queries 20]

One run, in a scratch database of its own on DATABASE_URL's server (the embedded server when
unset), dropped at the end:

1. a tenant with three branches of four projects, a building each, five agencies with their
   agreements (through the ORM: their selection is not what is measured);
2. ``--units`` units, as many owners and one certificate case per unit bulk-inserted (INSERT …
   SELECT over generate_series): 30 % collecting, 20 % submitted, 10 % accepted, 10 % issued,
   30 % delivered, submitted over the last 150 days against a 45-day service level, so that
   about a third of the open cases are late; one unit in twenty with an overdue loan in
   collection; then ANALYZE;
3. the daily lateness scan, a whole run (every batch until none is left) the first time (every
   late case urged) and again the same day (nothing to do);
4. the statistics by agency, project and branch for a whole-group caller, p50/p95/max over
   ``--queries``;
5. the litigation rule, a whole run, then again (nothing to refer).
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
from sqlalchemy import text

from app.config import get_settings
from app.core.audit import Actor
from app.core.db import Database

ACTOR = Actor(kind="client", id="bench", client_id="bench")


async def build(db: Database, slug: str) -> tuple[list[Any], list[Any]]:
    """The tenant, its tree, the agencies and agreements; the buildings (id, project) and the
    agreements (id, agency)."""
    from app.domains.access.authz import trusted
    from app.domains.certificates.models import Agency, AgencyStage, Agreement
    from app.domains.org import services
    from app.domains.org.schemas import BranchCreate, BuildingCreate, ProjectCreate
    from app.tenants.migrations import upgrade_shared
    from app.tenants.schemas import TenantCreate
    from app.tenants.services import create_tenant

    await upgrade_shared(db)
    async with db.platform_transaction() as session:
        session.info["actor"] = ACTOR
        await create_tenant(session, TenantCreate(slug=slug, display_name="Bench certificates"))
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = ACTOR
        buildings, agreements = [], []
        for code in ("SZ", "GZ", "SH"):
            branch = await services.create_branch(session, BranchCreate(code=code, name=f"Branch {code}"))
            for p in range(4):
                project = await services.create_project(session, trusted(), ProjectCreate(
                    branch_id=branch.id, code=f"{code}{p + 1:02d}", name=f"项目 {code}{p + 1}",
                    handover_date=date(2024, 6, 30)))
                building = await services.create_building(session, trusted(), BuildingCreate(
                    project_id=project.id, code=f"{code}{p + 1:02d}-B1", name="1号楼"))
                buildings.append((building.id, project.id))
            root = branch.parent_id
        for n in range(5):
            agency = Agency(node_id=root, name=f"代理公司 {n + 1}", contact_name="陈经理", contact_phone="0755-1",
                            stage=AgencyStage.submitted)
            session.add(agency)
            await session.flush()
            agreement = Agreement(agency_id=agency.id, node_id=root, number=f"DL-{n + 1}", scope="代办",
                                  fee_per_case=800, days_to_issue=45, days_to_deliver=7, signed_on=date(2024, 1, 1),
                                  valid_from=date(2024, 1, 1), valid_until=date(2030, 12, 31))
            session.add(agreement)
            await session.flush()
            agreements.append((agreement.id, agency.id))
        return buildings, agreements


def _pick(values: list[Any], key: str, cast: str) -> str:
    items = ", ".join(f"'{v}'" for v in values)
    return f"(ARRAY[{items}]::{cast}[])[({key}) % {len(values)} + 1]"


async def fill(db: Database, slug: str, units: int, buildings: list[Any], agreements: list[Any]) -> float:
    today = date.today()
    schema = f"t_{slug}"
    building = _pick([b for b, _ in buildings], "i", "uuid")
    project = _pick([p for _, p in buildings], "i", "uuid")
    agreement = _pick([a for a, _ in agreements], "i * 7", "uuid")
    agency = _pick([g for _, g in agreements], "i * 7", "uuid")
    submitted = f"DATE '{today}' - (i % 150)"
    issued = f"DATE '{today}' - (i % 150) + (i % 55)"
    stage = ("CASE WHEN i % 10 < 3 THEN 'collecting' WHEN i % 10 < 5 THEN 'submitted' WHEN i % 10 = 5 "
             "THEN 'accepted' WHEN i % 10 = 6 THEN 'issued' ELSE 'delivered' END")
    statements = [
        f"""INSERT INTO {schema}.units (id, building_id, project_id, number, floor, status, version)
            SELECT md5('u' || i)::uuid, {building}, {project}, 'U' || i, i % 30 + 1, 'handed_over', 1
            FROM generate_series(1, {units}) AS i""",
        f"""INSERT INTO {schema}.customers (id, number, kind, name, status, node_id, source, purpose, interests,
                version)
            SELECT md5('c' || i)::uuid, 'KH-B-' || i, 'person', '业主 ' || i, 'active', {project}, 'bench', 'bench',
                   '[]'::jsonb, 1 FROM generate_series(1, {units}) AS i""",
        f"""INSERT INTO {schema}.customer_units (id, customer_id, unit_id, role, stage, version)
            SELECT gen_random_uuid(), md5('c' || i)::uuid, md5('u' || i)::uuid, 'primary', 'contract', 1
            FROM generate_series(1, {units}) AS i""",
        f"""INSERT INTO {schema}.cert_cases (id, number, node_id, unit_id, customer_id, agency_id, agreement_id, stage,
                opened_on, submitted_on, accepted_on, issued_on, delivered_on, issue_due_on, due_on, urge_count,
                version)
            SELECT gen_random_uuid(), 'BZ-B-' || i, {project}, md5('u' || i)::uuid, md5('c' || i)::uuid, {agency},
                   {agreement}, {stage}, {submitted} - 20,
                   CASE WHEN i % 10 >= 3 THEN {submitted} END,
                   CASE WHEN i % 10 >= 5 THEN {submitted} + 5 END,
                   CASE WHEN i % 10 >= 6 THEN {issued} END,
                   CASE WHEN i % 10 >= 7 THEN {issued} + 3 END,
                   CASE WHEN i % 10 >= 3 THEN {submitted} + 45 END,
                   CASE WHEN i % 10 IN (3, 4, 5) THEN {submitted} + 45 WHEN i % 10 >= 6 THEN {issued} + 7 END,
                   0, 1
            FROM generate_series(1, {units}) AS i""",
        f"""INSERT INTO {schema}.collection_cases (id, number, node_id, unit_id, customer_id, bank, loan_account_sealed,
                loan_account_index, loan_account_last4, overdue_since, overdue_amount, bank_recommends, fed_on, stage,
                referral_reasons, version)
            SELECT gen_random_uuid(), 'CJ-B-' || i, {project}, md5('u' || i)::uuid, md5('c' || i)::uuid,
                   'Bank ' || (i % 4), '\\x00'::bytea, md5('l' || i), '0000', DATE '{today}' - (i % 300),
                   (i % 400) * 100, i % 97 = 0, DATE '{today}', 'open', '[]'::jsonb, 1
            FROM generate_series(20, {units}, 20) AS i""",
    ]
    started = time.perf_counter()
    async with db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("units", "customers", "customer_units", "cert_cases", "collection_cases"):
            await conn.execute(text(f'ANALYZE "{schema}".{table}'))
    return time.perf_counter() - started


def _figures(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {stats.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"


async def whole_run(db: Database, slug: str, scan: Callable[[Any], Awaitable[dict[str, int]]],
                    batch: int) -> tuple[float, dict[str, int], int]:
    """Every batch of a scan until none is left, a transaction each, as the fan-out runs it."""
    from app.core.audit import SYSTEM

    totals: dict[str, int] = {}
    batches = 0
    started = time.perf_counter()
    while True:
        async with db.tenant_transaction(f"t_{slug}") as session:
            session.info["actor"] = SYSTEM
            counts = await scan(session)
        batches += 1
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        if counts["checked"] < batch:
            return time.perf_counter() - started, totals, batches


async def measure(db: Database, slug: str, queries: int) -> None:
    from app.auth.principal import Principal
    from app.domains.access.authz import Authorizer
    from app.domains.certificates import collections, lateness, statistics

    for label in ("first run", "again the same day"):
        seconds, totals, batches = await whole_run(db, slug, lateness.scan, lateness.SCAN_BATCH)
        console.print(f"lateness scan, {label}: {totals['urged']:,} late cases urged in {batches} batch(es): "
                      f"{seconds:.2f} s")
    group = Authorizer(principal=Principal(subject="bench", client_id="bench", scopes=frozenset(), tenant=slug,
                                           token_id="", expires_at=0), whole_group=True)
    for by in ("agency", "project", "branch"):
        samples, result = [], None
        for _ in range(queries):
            async with db.tenant_session(f"t_{slug}", read_only=True) as session:
                started = time.perf_counter()
                result = await statistics.statistics(session, group, by, node_id=None)  # type: ignore[arg-type]
                samples.append(time.perf_counter() - started)
        assert result is not None
        console.print(f"statistics by {by}: {len(result.rows)} rows, {sum(r.total for r in result.rows):,} cases, "
                      f"{sum(r.late for r in result.rows):,} late: {_figures(samples)}")
    for label in ("first run", "again"):
        seconds, totals, batches = await whole_run(db, slug, collections.scan, collections.SCAN_BATCH)
        console.print(f"litigation rule, {label}: {totals['referred']:,} of the overdue loans referred in "
                      f"{batches} batch(es): {seconds:.2f} s")


async def main(args: argparse.Namespace) -> None:
    console.print(f"[bold]Certificates bench[/bold]: {args.units:,} units; {machine_load_note()}")
    with scratch_database("cs_bench_cert") as url:
        db = Database(url, pool_size=4)
        slug = f"bench_{uuid.uuid4().hex[:8]}"
        try:
            buildings, agreements = await build(db, slug)
            seconds = await fill(db, slug, args.units, buildings, agreements)
            console.print(f"bulk insert of {args.units:,} units, owners and cases and "
                          f"{args.units // 20:,} collection cases, then ANALYZE: {seconds:.1f} s")
            await measure(db, slug, args.queries)
        finally:
            await db.dispose()


if __name__ == "__main__":
    stop_cleanly_on_signals()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=20)
    get_settings()
    asyncio.run(main(parser.parse_args()))
