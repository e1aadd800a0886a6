"""Org access: what the permission filter costs a list, on a tenant of 50,000 units.

    .venv/bin/python bench/org_access.py [--duration 8] [--rounds 2] [--connections 16]

One run, in a scratch database of its own on DATABASE_URL's server (the embedded server when
unset), dropped at the end:

1. a tenant with 4 branches × 5 projects × 10 buildings × 250 units (50,000 units), a
   branch manager (branch_manager at one branch) and a project manager (project_manager at
   one project), all made through the app's services;
2. HTTP: ``GET /api/v1/org/units`` on the real app (uvicorn, 2 workers) under wrk, as a
   whole-group client token (no permission filter), the same token narrowed to one project
   with ``?projectId=`` (the same rows as the project manager's, without the filter), the
   branch manager and the project manager (the filter: one grants query, then the rows
   whose building lies in their subtree). Targets alternate round by round;
3. the SQL alone (count and first page, as the list runs them), with and without the filter.

It prints each figure and the ratios. See docs/benchmarks.md for their reading.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from _common import (
    LoadResult,
    combine,
    console,
    free_port,
    machine_load_note,
    run_wrk,
    scratch_database,
    server_env,
    stop_cleanly_on_signals,
    uvicorn_server,
)
from sqlalchemy import Select, func, insert, select, text

from app.config import get_settings
from app.core.audit import Actor
from app.core.db import Database
from app.core.ids import new_id

BRANCHES, PROJECTS, BUILDINGS, FLOORS, FLATS = 4, 5, 10, 25, 10  # 4 × 5 × 10 × 250 = 50,000 units
SERVER_WORKERS = 2
PAGE = 50
SQL_ITERATIONS = 300
ACTOR = Actor(kind="operator", id="bench")
UNITS = "/api/v1/org/units"


@dataclass
class World:
    slug: str
    project_id: uuid.UUID
    branch_manager: uuid.UUID
    project_manager: uuid.UUID
    units: int


async def build(db: Database, slug: str) -> World:
    """The tenant, its tree (through the services, audited), its units (one bulk insert per
    building: the services would take minutes for 50,000) and two staff accounts."""
    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.auth.tokens import ensure_signing_key
    from app.domains.access.authz import trusted
    from app.domains.access.services import grant_by_code
    from app.domains.org import services
    from app.domains.org.models import Unit, UnitStatus
    from app.domains.org.schemas import BranchCreate, BuildingCreate, ProjectCreate
    from app.tenants.migrations import upgrade_shared
    from app.tenants.schemas import TenantCreate
    from app.tenants.services import create_tenant

    await upgrade_shared(db)
    async with db.platform_transaction() as session:
        await ensure_signing_key(session, token_ttl=get_settings().access_token_ttl)
    async with db.platform_transaction() as session:
        session.info["actor"] = ACTOR
        tenant = await create_tenant(session, TenantCreate(slug=slug, display_name="Bench group"))
        accounts = [await create_account(session, tenant_id=tenant.id, kind=AccountKind.staff, username=name,
                                         display_name=name, password=None, scopes=["org:read"])
                    for name in ("branch-manager", "project-manager")]
    system = trusted()
    statuses = list(UnitStatus)
    started = time.perf_counter()
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = ACTOR
        first_branch = first_project = None
        for b in range(BRANCHES):
            branch = await services.create_branch(session, BranchCreate(code=f"B{b}", name=f"分公司 {b}"))
            first_branch = first_branch or branch
            for p in range(PROJECTS):
                project = await services.create_project(session, system, ProjectCreate(
                    branch_id=branch.id, code=f"B{b}P{p}", name=f"项目 {b}-{p}"))
                first_project = first_project or project
                for k in range(BUILDINGS):
                    building = await services.create_building(session, system, BuildingCreate(
                        project_id=project.id, code=f"B{b}P{p}K{k}", name=f"{k + 1}栋"))
                    await session.execute(insert(Unit), [
                        {"id": new_id(), "building_id": building.id, "project_id": project.id,
                         "number": f"{floor}{flat:02d}", "floor": floor, "layout": "3室2厅",
                         "area": Decimal("89.50") + flat, "status": statuses[(floor + flat) % 4], "version": 1}
                        for floor in range(1, FLOORS + 1) for flat in range(1, FLATS + 1)])
        assert first_branch is not None and first_project is not None
        await grant_by_code(session, account_id=accounts[0].id, role_code="branch_manager", node=first_branch)
        await grant_by_code(session, account_id=accounts[1].id, role_code="project_manager", node=first_project)
        total = await session.scalar(select(func.count()).select_from(Unit))
    async with db.engine.connect() as conn:  # fresh statistics, as autovacuum would have soon
        await conn.execute(text(f'ANALYZE "t_{slug}".units'))
        await conn.execute(text(f'ANALYZE "t_{slug}".org_nodes'))
        await conn.commit()
    console.print(f"tenant {slug}: {total:,} units in {BRANCHES * PROJECTS * BUILDINGS} buildings, "
                  f"built in {time.perf_counter() - started:.1f} s")
    return World(slug=slug, project_id=first_project.id, branch_manager=accounts[0].id,
                 project_manager=accounts[1].id, units=int(total or 0))


# --------------------------------------------------------------------------- SQL alone


async def sql_alone(db: Database, world: World) -> dict[str, float]:
    """Median ms of count + first page, as the list runs them, for each caller."""
    from app.auth.principal import Principal
    from app.domains.access.authz import load_authorizer
    from app.domains.org.models import Unit

    def principal(subject: uuid.UUID | str) -> Principal:
        return Principal(subject=str(subject), client_id="bench", scopes=frozenset({"org:read"}),
                         tenant=world.slug, token_id="bench", expires_at=0)

    table = Unit.__table__
    plain = select(table)  # Core rows: the SQL, not the ORM
    statements: dict[str, Select[Any]] = {"group: all units": plain,
                                          "group: one project (?projectId)": plain.where(
                                              table.c.project_id == world.project_id)}
    results: dict[str, float] = {}
    async with db.tenant_session(f"t_{world.slug}") as session:
        for name, subject in (("branch manager (filter)", world.branch_manager),
                              ("project manager (filter)", world.project_manager)):
            authz = await load_authorizer(session, principal(subject))
            statements[name] = plain.where(authz.visible("org.read", table.c.building_id))

        async def once(stmt: Select[Any]) -> tuple[int, int]:
            total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
            rows = (await session.execute(stmt.order_by(table.c.building_id, table.c.number, table.c.id)
                                          .limit(PAGE))).all()
            return int(total or 0), len(rows)

        counts = {name: await once(stmt) for name, stmt in statements.items()}
        if counts["project manager (filter)"] != counts["group: one project (?projectId)"]:
            raise RuntimeError(f"the filtered and the plain project query disagree: {counts}")
        for name, stmt in statements.items():
            for _ in range(20):  # warm the plan cache and the buffers
                await once(stmt)
            timings = []
            for _ in range(SQL_ITERATIONS):
                started = time.perf_counter()
                await once(stmt)
                timings.append((time.perf_counter() - started) * 1000)
            results[name] = statistics.median(timings)
            console.print(f"  SQL {name:36s} {results[name]:7.2f} ms median (count {counts[name][0]:,} + page "
                          f"of {counts[name][1]})")
        grants = []
        for _ in range(SQL_ITERATIONS):
            started = time.perf_counter()
            await load_authorizer(session, principal(world.project_manager))
            grants.append((time.perf_counter() - started) * 1000)
        results["grants query"] = statistics.median(grants)
        console.print(f"  SQL {'the grants query (once per request)':36s} {results['grants query']:7.2f} ms median")
    return results


# -------------------------------------------------------------------------------- HTTP


@dataclass
class Target:
    name: str
    subject: str  # the token's sub; the client id for a client token
    query: str


def _check(base: str, targets: list[Target], tokens: dict[str, str]) -> None:
    """The filtered and the unfiltered project list must show the same units."""
    pages = {}
    for t in targets:
        answer = httpx.get(base + UNITS + t.query, headers={"Authorization": f"Bearer {tokens[t.name]}"}, timeout=30)
        if answer.status_code != 200:
            raise RuntimeError(f"{t.name}: {answer.status_code} {answer.text[:300]}")
        pages[t.name] = answer.json()
        console.print(f"  {t.name:44s} total {pages[t.name]['total']:>6,}")
    plain, filtered = pages[targets[1].name], pages[targets[3].name]
    if plain != filtered:
        raise RuntimeError("the project manager's list differs from the same project's unfiltered list")


def http(url: str, world: World, args: argparse.Namespace) -> dict[str, LoadResult]:
    from app.auth.tokens import KeyRing

    settings = get_settings()
    port = free_port()
    ring = KeyRing(issuer=f"http://127.0.0.1:{port}", audience=settings.audience, token_ttl=900)

    async def load_keys() -> None:
        db = Database(url, pool_size=1)
        try:
            async with db.platform_session() as session:
                await ring.refresh(session, force=True)
        finally:
            await db.dispose()

    asyncio.run(load_keys())
    client = "bench-partner"
    targets = [
        Target("group client token: all units", client, f"?limit={PAGE}"),
        Target("group client token: ?projectId= (no filter)", client, f"?limit={PAGE}&projectId={world.project_id}"),
        Target("branch manager (permission filter)", str(world.branch_manager), f"?limit={PAGE}"),
        Target("project manager (permission filter)", str(world.project_manager), f"?limit={PAGE}"),
    ]

    def tokens() -> dict[str, str]:  # fresh per round: a long run outlasts a token
        return {t.name: ring.mint(subject=t.subject, client_id=client if t.subject == client else "bench-app",
                                  scopes=["org:read"], tenant=world.slug, ttl=900) for t in targets}

    results: dict[str, list[LoadResult]] = {t.name: [] for t in targets}
    env = server_env(url, port)
    with uvicorn_server("app.asgi:app_factory", port=port, env=env, workers=SERVER_WORKERS,
                        ready_path="/health/live", name="app") as server:
        _check(server.url, targets, tokens())
        for round_ in range(args.rounds):
            current = tokens()
            for t in targets:
                headers = {"Authorization": f"Bearer {current[t.name]}"}
                if round_ == 0 and args.warmup:
                    run_wrk(server.url + UNITS + t.query, connections=args.connections, duration=args.warmup,
                            headers=headers)
                result = run_wrk(server.url + UNITS + t.query, connections=args.connections,
                                 duration=args.duration, headers=headers)
                results[t.name].append(result)
                console.print(f"  round {round_ + 1} {t.name:44s} {result.line()}")
    return {name: combine(r) for name, r in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=8, help="seconds of load per target and round (8)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load per target before round 1 (2)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, targets alternating (2)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections (16)")
    args = parser.parse_args()
    if not (1 <= args.duration <= 120 and 0 <= args.warmup <= 30 and 1 <= args.rounds <= 5
            and 1 <= args.connections <= 500):
        parser.error("--duration 1..120, --warmup 0..30, --rounds 1..5, --connections 1..500")
    stop_cleanly_on_signals()
    console.print(machine_load_note())
    with scratch_database("cs_bench_org") as url:
        async def prepare() -> tuple[World, dict[str, float]]:
            db = Database(url, pool_size=2)
            try:
                world = await build(db, f"bench_org_{uuid.uuid4().hex[:6]}")
                console.print("[bold]SQL alone[/bold] (count + first page of 50, one connection, in process)")
                return world, await sql_alone(db, world)
            finally:
                await db.dispose()

        world, sql = asyncio.run(prepare())
        console.print(f"[bold]HTTP[/bold] GET {UNITS}?limit={PAGE}: uvicorn × {SERVER_WORKERS} workers, wrk "
                      f"{args.connections} connections, {args.rounds} × {args.duration:g} s per target")
        load = http(url, world, args)

    names = list(load)
    console.print("\n[bold]Figures[/bold]")
    for name in names:
        console.print(f"  {name:44s} {load[name].line()}")
    whole, project_plain, branch, project = (load[n].rps for n in names)
    console.print("[bold]Ratios[/bold] (filtered ÷ unfiltered; 1.00 means the filter costs nothing)")
    console.print(f"  HTTP project manager ÷ same project by ?projectId  {project / project_plain:5.2f}")
    console.print(f"  HTTP project manager ÷ whole group                 {project / whole:5.2f}")
    console.print(f"  HTTP branch manager  ÷ whole group                 {branch / whole:5.2f}")
    console.print(f"  SQL  project filter  ÷ ?projectId (time)           "
                  f"{sql['project manager (filter)'] / sql['group: one project (?projectId)']:5.2f}")
    console.print(f"  SQL  project filter  ÷ whole group (time)          "
                  f"{sql['project manager (filter)'] / sql['group: all units']:5.2f}")
    console.print(f"  SQL  branch filter   ÷ whole group (time)          "
                  f"{sql['branch manager (filter)'] / sql['group: all units']:5.2f}")


if __name__ == "__main__":
    main()
