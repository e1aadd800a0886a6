"""Creating a tenant's schema: every table, the seed data and the revision stamp in one
transaction, so that a failure leaves nothing behind.

The DDL is compiled once per process from the tenant metadata (with a sentinel schema
name that is then replaced by the real one) and sent as one multi-statement script: one
round trip instead of one per table and index. No migration history is replayed; the
drift test proves that metadata and migrations describe the same schema.
"""

from __future__ import annotations

from functools import lru_cache

import asyncpg
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateIndex, CreateTable

from app.core.audit import append_only_sql
from app.core.db import TENANT_PLACEHOLDER
from app.core.models import TenantBase
from app.core.problems import ProblemError
from app.tenants.models import SLUG_RE

_SENTINEL = "t_zzschemazz"


def _import_models() -> None:
    # Every tenant table must be registered on the metadata before DDL is compiled.
    import app.models  # noqa: F401


@lru_cache(maxsize=1)
def _ddl_template() -> str:
    _import_models()
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


def tenant_ddl(schema: str) -> str:
    """The script that creates ``schema`` with every tenant table."""
    if not schema.startswith("t_") or not SLUG_RE.match(schema[2:]):
        raise ValueError(f"not a tenant schema: {schema!r}")
    return _ddl_template().replace(_SENTINEL, schema)


async def create_schema(conn: AsyncConnection, schema: str) -> None:
    """Run the DDL script on the connection's open transaction (one round trip)."""
    ddl = tenant_ddl(schema)
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if not driver.is_in_transaction():  # type: ignore[union-attr]
        # SQLAlchemy's asyncpg adapter begins its transaction lazily, at the first
        # statement; the script sent past it would otherwise autocommit schema by schema.
        await conn.exec_driver_sql("SELECT 1")
        if not driver.is_in_transaction():  # type: ignore[union-attr]
            raise RuntimeError("create_schema needs a connection inside a transaction")
    try:
        await driver.execute(ddl)  # type: ignore[union-attr]
    except asyncpg.DuplicateSchemaError:
        raise ProblemError("conflict", f"A schema named {schema!r} already exists in the database; "
                                       "it belongs to no tenant and must be removed by an operator "
                                       "first.") from None


async def drop_schema(conn: AsyncConnection, schema: str) -> None:
    if not schema.startswith("t_") or not SLUG_RE.match(schema[2:]):
        raise ValueError(f"not a tenant schema: {schema!r}")
    # Fail fast rather than queue behind busy sessions of the tenant (the purge is retried).
    await conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
    await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
