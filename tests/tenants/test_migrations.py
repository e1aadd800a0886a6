"""The schema-per-tenant machinery against the real PostgreSQL: provisioning and the
migration history describe the same schema, the runner skips tenants at head, isolates
and records failures, resumes, respects another runner's lock, and provisioning is all
or nothing. Speed is measured by bench/tenancy.py, not asserted here.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table, event, select, text
from sqlalchemy.engine import Connection

from app.core.audit import Actor
from app.core.db import PLATFORM_SCHEMA
from app.core.models import PlatformBase, TenantBase
from app.core.problems import ProblemError
from app.tenants.migrations import tenant_head, upgrade_shared, upgrade_tenants
from app.tenants.models import Tenant, TenantStatus, schema_name
from app.tenants.provisioning import create_schema, drop_schema
from app.tenants.schemas import TenantCreate
from app.tenants.services import create_tenant
from tests.conftest import OPERATOR
from tests.tenants.conftest import NEXT_REVISION, creation_refused_at_the_end


async def _registry(db: Any, slug: str) -> Tenant:
    async with db.platform_session() as session:
        return (await session.scalars(select(Tenant).where(Tenant.slug == slug))).one()


async def _columns(db: Any, schema: str, table: str) -> set[str]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t"),
            {"s": schema, "t": table},
        )
        return {r[0] for r in rows}


async def _schema_exists(db: Any, schema: str) -> bool:
    async with db.engine.connect() as conn:
        return bool(await conn.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}))


# --------------------------------------------------------------------------- drift

# Everything PostgreSQL knows about a schema's objects, in the catalogs' own words.
# Columns are compared by name, not position: a later add_column appends where the model
# may declare it in the middle, and column order changes no behaviour.
_CATALOG = {
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :s AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')""",
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, coll.collname
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation coll ON coll.oid = a.attcollation AND a.attcollation <> 0
        WHERE n.nspname = :s AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :s",
    "constraints": """
        SELECT c.relname, co.conname, co.contype, pg_get_constraintdef(co.oid), co.condeferrable,
               co.condeferred, co.convalidated
        FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
        LEFT JOIN pg_class c ON c.oid = co.conrelid
        WHERE n.nspname = :s""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :s AND NOT t.tgisinternal""",
    "types": """
        SELECT t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = :s AND t.typtype IN ('e', 'd', 'r', 'm')""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :s""",
}


async def _catalog(db: Any, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    def normal(value: Any) -> Any:
        return value.replace(f'"{schema}"', "<tenant>").replace(schema, "<tenant>") if isinstance(value, str) else value

    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.engine.connect() as conn:
        for kind, sql in _CATALOG.items():
            rows = (await conn.execute(text(sql), {"s": schema})).all()
            out[kind] = sorted((tuple(normal(v) for v in row) for row in rows), key=repr)
    return out


async def test_migrated_schema_equals_provisioned_schema(db: Any, new_tenant: Any, scratch: list[str]) -> None:
    provisioned = await new_tenant("drift")
    # The other one is built the slow way: an empty schema and a registry row at no revision,
    # brought to head by the runner replaying every tenant migration from base.
    replayed = f"drift_{uuid.uuid4().hex[:10]}"
    scratch.append(replayed)
    async with db.platform_transaction() as session:
        session.add(Tenant(slug=replayed, display_name="Replayed", time_zone="Asia/Shanghai", locale="zh-CN",
                           status=TenantStatus.active, schema_revision=None))
        await session.execute(text(f'CREATE SCHEMA "{schema_name(replayed)}"'))

    report = await upgrade_tenants(db, only=[replayed])
    assert [(r.slug, r.from_revision, r.to_revision) for r in report.migrated] == [(replayed, None, tenant_head())]
    assert report.failed == []

    expected = await _catalog(db, schema_name(provisioned))
    actual = await _catalog(db, schema_name(replayed))
    # Guard against two empty schemas comparing equal.
    assert {r[0] for r in expected["relations"]} >= {"audit_log", "idempotency_keys", "org_nodes"}
    assert len(expected["triggers"]) == 2
    for kind in _CATALOG:
        assert actual[kind] == expected[kind], f"{kind} differ between migrations and provisioning"


async def test_shared_schema_matches_platform_metadata(db: Any) -> None:
    await upgrade_shared(db)  # a second run is a no-op and must leave nothing to compare

    def diff(sync_conn: Connection) -> list[Any]:
        ctx = MigrationContext.configure(sync_conn, opts={
            "include_schemas": True,
            "include_name": lambda name, type_, _: type_ != "schema" or name == PLATFORM_SCHEMA,
            "version_table_schema": PLATFORM_SCHEMA,
            "compare_type": True,
            "compare_server_default": True,
        })
        return compare_metadata(ctx, PlatformBase.metadata)

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def test_every_model_maps_a_table() -> None:
    # The bases tell the type checker that ``Model.__table__`` is a Table (app/core/models.py).
    import app.models  # noqa: F401 - every model registered

    mappers = [*PlatformBase.registry.mappers, *TenantBase.registry.mappers]
    assert len(mappers) > 40
    for mapper in mappers:
        assert isinstance(mapper.class_.__table__, Table), mapper.class_


# ---------------------------------------------------------------------- the runner

async def test_nothing_to_do_is_one_query(db: Any, new_tenant: Any) -> None:
    slugs = [await new_tenant("noop") for _ in range(3)]
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        report = await upgrade_tenants(db, only=slugs)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)

    assert (report.total, report.at_head, report.migrated, report.failed) == (3, 3, [], [])
    # Reading every revision is the whole cost of a run with nothing to apply.
    assert len(statements) == 1 and "schema_revision" in statements[0]


async def test_failure_is_isolated_recorded_and_resumed(db: Any, tenant: Any, next_scripts: Path) -> None:
    ok_1, broken, ok_2 = [await tenant() for _ in range(3)]
    old_head = tenant_head()
    # The column the new revision adds already exists here, so its second step fails.
    async with db.engine.begin() as conn:
        await conn.execute(text(f'ALTER TABLE "{schema_name(broken)}".org_nodes ADD COLUMN nickname text'))

    report = await upgrade_tenants(db, scripts=next_scripts, only=[ok_1, broken, ok_2], concurrency=2)

    assert report.head == NEXT_REVISION and report.total == 3 and report.at_head == 0
    assert sorted(r.slug for r in report.migrated) == sorted([ok_1, ok_2])
    assert [(r.slug, r.from_revision, r.to_revision) for r in report.failed] == [(broken, old_head, None)]
    assert "nickname" in (report.failed[0].error or "")
    for slug in (ok_1, ok_2):
        row = await _registry(db, slug)
        assert (row.schema_revision, row.migration_error, row.migration_failed_at) == (NEXT_REVISION, None, None)
        assert "nickname" in await _columns(db, schema_name(slug), "org_nodes")
        assert "note" in await _columns(db, schema_name(slug), "idempotency_keys")
    failed = await _registry(db, broken)
    assert failed.schema_revision == old_head
    assert "nickname" in (failed.migration_error or "") and failed.migration_failed_at is not None
    # The tenant's transaction rolled back as a whole: its first step left nothing either.
    assert "note" not in await _columns(db, schema_name(broken), "idempotency_keys")

    async with db.engine.begin() as conn:
        await conn.execute(text(f'ALTER TABLE "{schema_name(broken)}".org_nodes DROP COLUMN nickname'))
    again = await upgrade_tenants(db, scripts=next_scripts, only=[ok_1, broken, ok_2], concurrency=2)

    assert (again.total, again.at_head, again.failed) == (3, 2, [])
    assert [(r.slug, r.from_revision, r.to_revision) for r in again.migrated] == [(broken, old_head, NEXT_REVISION)]
    fixed = await _registry(db, broken)
    assert (fixed.schema_revision, fixed.migration_error, fixed.migration_failed_at) == (NEXT_REVISION, None, None)
    assert {"nickname"} <= await _columns(db, schema_name(broken), "org_nodes")


async def test_tenant_held_by_another_runner_is_skipped(db: Any, tenant: Any, next_scripts: Path) -> None:
    held, free = await tenant(), await tenant()
    old_head = tenant_head()

    # Another runner is busy with `held`: it holds the registry row lock the runner takes.
    async with db.engine.connect() as other:
        await other.begin()
        await other.execute(select(Tenant.id).where(Tenant.slug == held).with_for_update())
        report = await upgrade_tenants(db, scripts=next_scripts, only=[held, free])
        await other.rollback()

    assert [r.slug for r in report.migrated] == [free]
    assert [r.slug for r in report.skipped] == [held] and report.failed == []
    untouched = await _registry(db, held)
    assert (untouched.schema_revision, untouched.migration_error) == (old_head, None)
    assert "nickname" not in await _columns(db, schema_name(held), "org_nodes")

    resumed = await upgrade_tenants(db, scripts=next_scripts, only=[held, free])
    assert [r.slug for r in resumed.migrated] == [held] and resumed.at_head == 1
    assert (await _registry(db, held)).schema_revision == NEXT_REVISION


async def test_unknown_revision_fails_instead_of_restamping(db: Any, tenant: Any, next_scripts: Path) -> None:
    # A schema migrated by newer code (here: the extended scripts) met by older code must be
    # reported, never stamped back to the older head as if it had been migrated.
    slug = await tenant()
    await upgrade_tenants(db, scripts=next_scripts, only=[slug])

    report = await upgrade_tenants(db, only=[slug])

    assert [r.slug for r in report.failed] == [slug] and report.migrated == []
    assert (await _registry(db, slug)).schema_revision == NEXT_REVISION


# -------------------------------------------------------------------- provisioning

async def _provision(db: Any, slug: str) -> None:
    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        await create_tenant(session, TenantCreate(slug=slug, display_name=slug))


async def _registered(db: Any, slug: str) -> bool:
    async with db.platform_session() as session:
        return await session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None


async def test_provisioning_over_an_existing_schema_changes_nothing(db: Any) -> None:
    slug = f"taken_{uuid.uuid4().hex[:10]}"
    schema = schema_name(slug)
    async with db.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.execute(text(f'CREATE TABLE "{schema}".keep_me (id int)'))
    try:
        with pytest.raises(ProblemError) as raised:
            await _provision(db, slug)
        assert raised.value.slug == "conflict" and schema in raised.value.detail

        assert not await _registered(db, slug)
        async with db.engine.connect() as conn:
            tables = (await conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": schema}
            )).scalars().all()
        assert tables == ["keep_me"]
    finally:
        async with db.engine.begin() as conn:
            await drop_schema(conn, schema)


async def test_schema_script_joins_a_transaction_not_yet_started(db: Any) -> None:
    # SQLAlchemy begins the driver's transaction at the first statement; the DDL script, sent
    # to the driver directly, must not run ahead of it and commit on its own.
    schema = schema_name(f"lazy_{uuid.uuid4().hex[:10]}")
    async with db.engine.connect() as conn:
        await conn.begin()
        await create_schema(conn, schema)
        await conn.rollback()

    assert not await _schema_exists(db, schema)


async def test_failure_after_the_schema_is_built_leaves_nothing(db: Any) -> None:
    slug = f"doomed_{uuid.uuid4().hex[:10]}"
    # Refused at the very end, after the schema, its tables and its seed rows were written.
    with pytest.raises(Exception, match="refused for the test"):
        async with creation_refused_at_the_end(db, slug):
            await _provision(db, slug)

    assert not await _registered(db, slug)
    assert not await _schema_exists(db, schema_name(slug))


async def test_concurrent_tenants_each_get_their_own_steps(db: Any, tenant: Any, next_scripts: Path) -> None:
    # Tenants migrate interleaved at every round trip; each script step must still land in
    # the schema of the tenant whose migration issued it.
    slugs = [await tenant() for _ in range(6)]

    report = await upgrade_tenants(db, scripts=next_scripts, only=slugs, concurrency=len(slugs))

    assert report.failed == [] and sorted(r.slug for r in report.migrated) == sorted(slugs)
    for slug in slugs:
        assert "nickname" in await _columns(db, schema_name(slug), "org_nodes")
        assert "note" in await _columns(db, schema_name(slug), "idempotency_keys")
