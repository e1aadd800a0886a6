"""The pool of spare schemas against the real PostgreSQL: a tenant made from a spare is the
tenant built from the DDL and works end to end; concurrent creations never share a spare; a
failed creation leaves the spare in the pool and no tenant; only spares at the current head
are used, stale ones are dropped and rebuilt, newer code's are left alone; the pool is kept
at its size by the CLI and the beat task; spares are never taken for tenants.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select, text, update

from app import tasks
from app.cli import main as cli
from app.core.audit import Actor, platform_audit, tenant_audit
from app.core.models import TenantBase
from app.core.problems import ProblemError
from app.tenants.migrations import TENANT_SCRIPTS, _scripts, tenant_head
from app.tenants.models import SPARE_RE, SpareSchema, schema_name
from app.tenants.provisioning import drop_schema
from app.tenants.schemas import TenantCreate
from app.tenants.services import create_tenant
from app.tenants.spares import fill_pool
from app.worker import celery_app
from tests.conftest import OPERATOR, TEST_CLIENT, bearer
from tests.tenants.conftest import NEXT_REVISION, creation_refused_at_the_end
from tests.tenants.test_migrations import _CATALOG, _catalog, _registered, _schema_exists
from tests.worker.conftest import wait_for

ACTOR = Actor(kind="operator", id=OPERATOR)


@pytest.fixture(autouse=True)
async def empty_pool(db: Any) -> AsyncIterator[None]:
    """Each test starts and ends with no spare at a revision this code knows."""
    await fill_pool(db, 0, actor=ACTOR)
    yield
    await fill_pool(db, 0, actor=ACTOR)


async def _pool(db: Any) -> dict[str, str]:
    async with db.platform_session() as session:
        return dict((await session.execute(select(SpareSchema.name, SpareSchema.revision))).all())


async def _create(db: Any, slug: str) -> None:
    async with db.platform_transaction() as session:
        session.info["actor"] = ACTOR
        await create_tenant(session, TenantCreate(slug=slug, display_name=slug))


def _slug(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def _made_from(db: Any, slug: str) -> str | None:
    """The spare the tenant was made from, as its own audit log tells (None: built from the DDL)."""
    async with db.tenant_session(schema_name(slug)) as session:
        after = (await session.scalars(
            select(tenant_audit.c.after).where(tenant_audit.c.action == "tenant.provision"))).one()
    assert after["schema"] == schema_name(slug) and after["revision"] == tenant_head()
    return after["spare"]


async def _platform_records(db: Any, spare: str) -> list[tuple[Any, ...]]:
    async with db.platform_session() as session:
        rows = (await session.execute(
            select(platform_audit.c.action, platform_audit.c.actor_id, platform_audit.c.before,
                   platform_audit.c.after, platform_audit.c.reason)
            .where(platform_audit.c.entity_type == "spare_schema", platform_audit.c.entity_id == spare)
            .order_by(platform_audit.c.occurred_at, platform_audit.c.id)
        )).all()
    return [tuple(r) for r in rows]


async def _row_counts(db: Any, slug: str) -> dict[str, int]:
    async with db.tenant_session(schema_name(slug)) as session:
        return {table.name: await session.scalar(select(func.count()).select_from(table))
                for table in TenantBase.metadata.sorted_tables}


# ------------------------------------------------------------- same as built fresh

async def test_a_tenant_made_from_a_spare_is_the_tenant_built_fresh(db: Any, new_tenant: Any) -> None:
    report = await fill_pool(db, 1, actor=ACTOR)
    [spare] = report.built
    assert SPARE_RE.match(spare) and (report.ready, report.dropped) == (1, [])
    assert await _pool(db) == {spare: tenant_head()} and await _schema_exists(db, spare)
    # Built, not seeded: every table is there and empty.
    assert len((await _catalog(db, spare))["relations"]) == len(TenantBase.metadata.tables)
    async with db.engine.connect() as conn:
        assert await conn.scalar(text(f'SELECT count(*) FROM "{spare}".audit_log')) == 0

    from_pool = await new_tenant("from_spare")
    fresh = await new_tenant("from_ddl")

    assert await _made_from(db, from_pool) == spare and await _made_from(db, fresh) is None
    assert await _pool(db) == {} and not await _schema_exists(db, spare)
    assert await _platform_records(db, spare) == [
        ("spare_schema.prepare", OPERATOR, None, {"revision": tenant_head()}, None),
        ("spare_schema.use", OPERATOR, {"revision": tenant_head()},
         {"tenant": from_pool, "schema": schema_name(from_pool)}, None),
    ]
    # The drift test's comparison of everything the catalogs know, and the same defaults.
    expected = await _catalog(db, schema_name(fresh))
    actual = await _catalog(db, schema_name(from_pool))
    assert len(expected["relations"]) > 50 and len(expected["triggers"]) == 2
    for kind in _CATALOG:
        assert actual[kind] == expected[kind], f"{kind} differ between a spare and the DDL"
    counts = await _row_counts(db, fresh)
    assert counts["org_nodes"] == 1 and counts["roles"] > 0
    assert await _row_counts(db, from_pool) == counts
    # No object of the renamed schema names the spare any more (column defaults, checks,
    # indexes, triggers): everything follows the schema by oid.
    for kind, rows in actual.items():
        assert spare not in repr(rows), kind


async def test_a_tenant_from_a_spare_works_end_to_end(client: Any, db: Any, mint: Any) -> None:
    [spare] = (await fill_pool(db, 1, actor=ACTOR)).built
    slug = _slug("e2e_spare")
    created = await client.post("/platform/v1/tenants", json={"slug": slug, "displayName": "Spare Group"},
                                headers=bearer(mint()))
    assert created.status_code == 201, created.text
    assert await _made_from(db, slug) == spare

    auth = bearer(mint(tenant=slug, subject=TEST_CLIENT), **{"X-Request-Id": f"spare-{slug}"})
    branch = await client.post("/api/v1/org/branches", json={"code": "S-1", "name": "First"}, headers=auth)
    assert branch.status_code == 201, branch.text
    listed = await client.get("/api/v1/org/branches", headers=auth)
    assert [b["code"] for b in listed.json()["items"]] == ["S-1"]
    schema = schema_name(slug)
    async with db.tenant_session(schema) as session:
        recorded = (await session.scalars(
            select(tenant_audit.c.action).where(tenant_audit.c.request_id == f"spare-{slug}"))).all()
    assert recorded == ["org.branch.create"]
    # The append-only triggers came with the spare and still guard the renamed table.
    for statement in (f"UPDATE \"{schema}\".audit_log SET action = 'forged'",
                      f'DELETE FROM "{schema}".audit_log', f'TRUNCATE "{schema}".audit_log'):
        with pytest.raises(Exception, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(text(statement))


# ------------------------------------------------------------------- concurrency

async def test_concurrent_creations_never_share_a_spare(db: Any) -> None:
    built = (await fill_pool(db, 2, actor=ACTOR)).built
    slugs = [_slug("race") for _ in range(3)]

    await asyncio.gather(*(_create(db, slug) for slug in slugs))

    used = [await _made_from(db, slug) for slug in slugs]
    assert sorted(u for u in used if u) == sorted(built) and used.count(None) == 1
    assert await _pool(db) == {}


async def test_a_spare_being_taken_is_skipped_not_waited_for(db: Any) -> None:
    [held] = (await fill_pool(db, 1, actor=ACTOR)).built
    slug = _slug("skip")
    async with db.engine.connect() as other:
        await other.begin()
        await other.execute(select(SpareSchema.name).where(SpareSchema.name == held).with_for_update())
        # SKIP LOCKED: the creation builds its own schema at once instead of queueing.
        await asyncio.wait_for(_create(db, slug), timeout=30)
        await other.rollback()

    assert await _made_from(db, slug) is None
    assert await _pool(db) == {held: tenant_head()} and await _schema_exists(db, held)


# --------------------------------------------------------------- all or nothing

async def test_a_failed_creation_leaves_the_spare_in_the_pool(db: Any) -> None:
    [spare] = (await fill_pool(db, 1, actor=ACTOR)).built
    slug = _slug("doomed_spare")
    # The last statement of create_tenant (its platform audit record) is refused, after the
    # spare was renamed and seeded.
    with pytest.raises(Exception, match="refused for the test"):
        async with creation_refused_at_the_end(db, slug):
            await _create(db, slug)

    assert not await _registered(db, slug) and not await _schema_exists(db, schema_name(slug))
    assert await _pool(db) == {spare: tenant_head()} and await _schema_exists(db, spare)
    async with db.engine.connect() as conn:  # the seeding rolled back with the rename
        assert await conn.scalar(text(f'SELECT count(*) FROM "{spare}".org_nodes')) == 0
    assert [r[0] for r in await _platform_records(db, spare)] == ["spare_schema.prepare"]

    # The spare is still good: the next creation takes it.
    await _create(db, slug)
    assert await _made_from(db, slug) == spare


async def test_an_existing_schema_conflicts_and_the_spare_stays(db: Any) -> None:
    slug = _slug("taken_spare")
    schema = schema_name(slug)
    async with db.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.execute(text(f'CREATE TABLE "{schema}".keep_me (id int)'))
    [spare] = (await fill_pool(db, 1, actor=ACTOR)).built
    try:
        with pytest.raises(ProblemError) as raised:
            await _create(db, slug)
        assert raised.value.slug == "conflict" and schema in raised.value.detail
        assert not await _registered(db, slug)
        async with db.engine.connect() as conn:
            tables = (await conn.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": schema}
            )).scalars().all()
        assert tables == ["keep_me"]
        assert await _pool(db) == {spare: tenant_head()} and await _schema_exists(db, spare)
    finally:
        async with db.engine.begin() as conn:
            await drop_schema(conn, schema)


# ------------------------------------------------------------------- revisions

async def _set_revision(db: Any, spare: str, revision: str) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(update(SpareSchema).where(SpareSchema.name == spare).values(revision=revision))


async def test_stale_spares_are_never_used_and_are_rebuilt(db: Any) -> None:
    [stale] = (await fill_pool(db, 1, actor=ACTOR)).built
    # As after a deploy that added a tenant migration: the spare was built at the previous head.
    previous = _scripts(TENANT_SCRIPTS).get_revision(tenant_head()).down_revision
    assert isinstance(previous, str)
    await _set_revision(db, stale, previous)

    slug = _slug("not_stale")
    await _create(db, slug)
    assert await _made_from(db, slug) is None
    assert await _pool(db) == {stale: previous}

    report = await fill_pool(db, 1, actor=ACTOR)

    assert report.dropped == [stale] and len(report.built) == 1 and report.ready == 1
    assert await _pool(db) == {report.built[0]: tenant_head()}
    assert not await _schema_exists(db, stale)
    drop = (await _platform_records(db, stale))[-1]
    assert drop == ("spare_schema.drop", OPERATOR, {"revision": previous}, None,
                    f"built at tenant revision {previous}, head is {tenant_head()}")


async def test_spares_of_newer_code_are_left_alone(db: Any) -> None:
    [newer] = (await fill_pool(db, 1, actor=ACTOR)).built
    # Made by the code of the next release during a rolling deploy: a revision unknown here.
    await _set_revision(db, newer, NEXT_REVISION)
    try:
        slug = _slug("not_newer")
        await _create(db, slug)
        assert await _made_from(db, slug) is None

        report = await fill_pool(db, 0, actor=ACTOR)
        assert (report.ready, report.built, report.dropped, report.foreign) == (0, [], [], 1)
        assert await _pool(db) == {newer: NEXT_REVISION} and await _schema_exists(db, newer)
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(delete(SpareSchema).where(SpareSchema.name == newer))
            await drop_schema(conn, newer)


# ----------------------------------------------------------------- pool size

async def test_the_pool_is_kept_at_its_size(db: Any) -> None:
    first = await fill_pool(db, 2, actor=ACTOR)
    assert len(first.built) == 2 and first.ready == 2
    again = await fill_pool(db, 2, actor=ACTOR)
    assert (again.built, again.dropped, again.ready) == ([], [], 2)

    smaller = await fill_pool(db, 1, actor=ACTOR)
    # The newest goes: creations take the oldest first.
    assert smaller.dropped == [first.built[1]] and smaller.ready == 1
    assert await _pool(db) == {first.built[0]: tenant_head()}
    assert (await _platform_records(db, first.built[1]))[-1][4] == "more spares than the pool size (1)"

    # Fillers running at once take turns: together they build what is missing, no more.
    both = await asyncio.gather(fill_pool(db, 3, actor=ACTOR), fill_pool(db, 3, actor=ACTOR))
    assert sum(len(r.built) for r in both) == 2 and all(r.ready == 3 for r in both)
    assert len(await _pool(db)) == 3

    emptied = await fill_pool(db, 0, actor=ACTOR)
    assert len(emptied.dropped) == 3 and emptied.ready == 0 and await _pool(db) == {}
    for name in emptied.dropped:
        assert not await _schema_exists(db, name)


async def test_the_cli_fills_the_pool_and_tenant_commands_never_show_spares(db: Any) -> None:
    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    # In a thread: the command runs its own event loop, as from a shell.
    output = await asyncio.to_thread(run, "tenants", "prepare", "--count", "2")
    assert "2 spare schemas ready (pool size 2), 2 built, 0 dropped" in output
    pool = await _pool(db)
    assert len(pool) == 2 and set(pool.values()) == {tenant_head()}

    for command in (("tenants", "list"), ("db", "status")):
        shown = await asyncio.to_thread(run, *command)
        assert not [name for name in pool if name in shown], shown

    output = await asyncio.to_thread(run, "tenants", "prepare", "--count", "0")
    assert "0 spare schemas ready (pool size 0), 0 built, 2 dropped" in output
    assert await _pool(db) == {}


async def test_a_spare_can_never_be_bound_as_a_tenant(db: Any) -> None:
    [spare] = (await fill_pool(db, 1, actor=ACTOR)).built
    for bind in (db.tenant_session, db.tenant_engine):
        with pytest.raises(ValueError, match="not a tenant schema"):
            bind(spare)
    assert not spare.startswith("t_")


async def test_the_beat_task_keeps_the_pool_filled(db: Any, worker: Any, settings: Any) -> None:
    schedule = {entry["task"]: entry["schedule"] for entry in celery_app.conf.beat_schedule.values()}
    assert schedule[tasks.PREPARE_SPARES] == 60.0 and tasks.PREPARE_SPARES in celery_app.tasks
    assert settings.spare_schemas > 0

    sent = tasks.prepare_spares.apply_async()

    async def done() -> bool:
        # Finished, not only full: a run still going would refill what the next test empties.
        return f"[{sent.id}] succeeded" in worker.log.read_text(errors="replace")

    await wait_for(worker, done, "the pool filled by the worker")
    pool = await _pool(db)
    assert len(pool) == settings.spare_schemas and set(pool.values()) == {tenant_head()}
    async with db.platform_session() as session:
        actors = (await session.scalars(
            select(platform_audit.c.actor_id).where(platform_audit.c.action == "spare_schema.prepare",
                                                    platform_audit.c.entity_id.in_(list(pool)))
        )).all()
    assert actors == ["system"] * settings.spare_schemas
