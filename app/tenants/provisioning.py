"""Creating a tenant's schema: every table, the seed data and the revision stamp in one
transaction, so that a failure leaves nothing behind.

The DDL is compiled once per process from the tenant metadata (with a sentinel schema
name that is then replaced by the real one) and sent as one multi-statement script: one
round trip instead of one per table and index. No migration history is replayed; the
drift test proves that metadata and migrations describe the same schema. The same script
builds the spare schemas of the pool (app/tenants/spares.py) under their own names.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateIndex, CreateTable

from app.core.audit import append_only_sql
from app.core.db import TENANT_PLACEHOLDER
from app.core.models import TenantBase
from app.core.problems import ProblemError
from app.models import load_all
from app.tenants.models import SLUG_RE, SPARE_RE

_SENTINEL = "t_zzschemazz"


@lru_cache(maxsize=1)
def _ddl_template() -> str:
    load_all()  # every tenant table on the metadata before the DDL is compiled
    dialect = postgresql.dialect()
    translate = {TENANT_PLACEHOLDER: _SENTINEL}
    statements = [f'CREATE SCHEMA "{_SENTINEL}"']
    for table in TenantBase.metadata.sorted_tables:
        statements.append(
            str(CreateTable(table).compile(dialect=dialect, schema_translate_map=translate,
                                           render_schema_translate=True)).strip()
        )
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            statements.append(
                str(CreateIndex(index).compile(dialect=dialect, schema_translate_map=translate,
                                               render_schema_translate=True)).strip()
            )
    statements.extend(append_only_sql(_SENTINEL))
    return ";\n".join(statements) + ";"


def _check(schema: str) -> None:
    """Only a tenant schema (t_<slug>) or a spare of the pool is ever built, renamed or dropped here."""
    if not (schema.startswith("t_") and SLUG_RE.match(schema[2:])) and not SPARE_RE.match(schema):
        raise ValueError(f"not a tenant or spare schema: {schema!r}")


def tenant_ddl(schema: str) -> str:
    """The script that creates ``schema`` with every tenant table."""
    _check(schema)
    return _ddl_template().replace(_SENTINEL, schema)


def _exists(schema: str) -> ProblemError:
    return ProblemError("conflict", f"A schema named {schema!r} already exists in the database; "
                                    "it belongs to no tenant and must be removed by an operator first.")


async def _driver_in_transaction(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, inside ``conn``'s transaction."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None  # only an invalidated connection has none
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter begins its transaction lazily, at the first
        # statement; a script sent past it would otherwise autocommit statement by statement.
        await conn.exec_driver_sql("SELECT 1")
        if not driver.is_in_transaction():
            raise RuntimeError("schema DDL needs a connection inside a transaction")
    return driver


# Building or dropping a tenant schema locks each of its relations until the transaction ends:
# about 1,500 (create) and 2,000 (drop) entries of the server's lock table, which all sessions
# share (max_locks_per_transaction × max_connections: 6,400 with the defaults). Three at once
# can fill it ("out of shared memory"), failing whatever else asks for a lock then; one at a
# time per database always fits. Only schema DDL takes this lock: renaming a spare does not.
_SCHEMA_DDL_LOCK = 0x43530001


async def _one_schema_ddl_at_a_time(conn: AsyncConnection) -> None:
    await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_DDL_LOCK})")


async def create_schema(conn: AsyncConnection, schema: str) -> None:
    """Run the DDL script on the connection's open transaction (one round trip)."""
    ddl = tenant_ddl(schema)
    await _one_schema_ddl_at_a_time(conn)
    driver = await _driver_in_transaction(conn)
    try:
        await driver.execute(ddl)
    except asyncpg.DuplicateSchemaError:
        raise _exists(schema) from None


async def rename_schema(conn: AsyncConnection, old: str, new: str) -> None:
    """Rename a schema in the connection's open transaction: a catalog update, whatever the
    schema holds. Its objects refer to each other by oid (foreign keys, triggers, indexes),
    never by the schema's name, so they follow it (tests/tenants/test_spares.py)."""
    _check(old)
    _check(new)
    driver = await _driver_in_transaction(conn)
    try:
        await driver.execute(f'ALTER SCHEMA "{old}" RENAME TO "{new}"')
    except asyncpg.DuplicateSchemaError:
        raise _exists(new) from None


async def drop_schema(conn: AsyncConnection, schema: str) -> None:
    _check(schema)
    # Fail fast rather than queue behind busy sessions of the tenant (the purge is retried).
    await conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
    await _one_schema_ddl_at_a_time(conn)
    await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
