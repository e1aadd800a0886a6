"""Hot reads: a SELECT compiled once, run on the pooled connection's driver.

A GET of one record through the ORM session spends most of its CPU in SQLAlchemy, not in
PostgreSQL: building the statement and its cache key, the execution context, loading the
object, the greenlet bridge (about 0.5 ms a statement here; docs/benchmarks.md). A ``Read``
is a statement built once at import; it is compiled once, its tenant schema written in per
schema (the schema_translate_map of tenant sessions, done ahead), and ``TenantReader`` runs
it with asyncpg directly on a connection checked out of the same pool, outside any
transaction, as the read-only sessions of GET requests do. Rows keep the statement's
column types: the bind and result processors of each column's type are applied, so a row
holds what the ORM object would.

Writes and reads that build their statement per request (lists, searches) stay on the
session; reads of one record by id, and the grants every request loads, go through here.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVarTuple

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from app.core.db import TENANT_PLACEHOLDER, tenant_schema

_SCHEMA_TOKEN = f"__[SCHEMA_{TENANT_PLACEHOLDER}]"
_MAX_SCHEMAS = 8192  # SQL texts kept per statement, as the database keeps tenant engines


Ts = TypeVarTuple("Ts")


class Read(Generic[*Ts]):
    """One SELECT of tenant tables; what varies per call is a named ``bindparam("id")``."""

    def __init__(self, statement: Select[*Ts]) -> None:
        self.statement = statement
        self.columns: list[str] = []
        for column in statement.selected_columns:
            if column.key is None:
                raise ValueError(f"{statement}: every column of a Read needs a name (label it)")
            self.columns.append(column.key)
        # Attribute access, as on ORM objects: schemas' ``of(obj)`` take either.
        row: Any = collections.namedtuple("Row", self.columns)  # type: ignore[misc]  # fields known at run time
        self.make_row: Callable[[Iterable[Any]], tuple[Any, ...]] = row._make
        self._compiled: dict[type[Dialect], _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(type(dialect))
        if compiled is None:
            compiled = self._compiled[type(dialect)] = _Compiled(self, dialect)
        return compiled


class _Compiled:
    """A Read for one dialect: its text with a token for the schema, the bind processing of
    its parameters in order, the result processing of its columns, its text per schema."""

    def __init__(self, read: Read[*tuple[Any, ...]], dialect: Dialect) -> None:
        # With a translate map the compiler leaves a token where each schema goes.
        compiled = read.statement.compile(dialect=dialect,
                                          schema_translate_map={TENANT_PLACEHOLDER: TENANT_PLACEHOLDER})
        if _SCHEMA_TOKEN not in compiled.string:
            raise ValueError(f"{read.columns}: a Read reads tenant tables")
        self.make_row = read.make_row
        self._template = compiled.string
        self._quote_schema = dialect.identifier_preparer.quote_schema
        # Each parameter in order: its name when the caller gives it (``bindparam("id")``),
        # else the value written in the statement (``OrgNode.kind == NodeKind.group``).
        self._params: list[tuple[str | None, Any, Callable[[Any], Any] | None]] = []
        for name in compiled.positiontup or []:
            bind = compiled.binds[name]
            self._params.append((name if bind.required else None, bind.effective_value,
                                 bind.type.dialect_impl(dialect).bind_processor(dialect)))
        self._names = {name for name, _, _ in self._params if name is not None}
        self._dialect = dialect
        self._types = [column.type.dialect_impl(dialect) for column in read.statement.selected_columns]
        # Some result processing depends on the type the server sends (numeric or float for a
        # Numeric column): learnt from the first statement prepared (see learn_types).
        self._results: list[tuple[int, Callable[[Any], Any]]] | None = None
        self._sql: collections.OrderedDict[str, str] = collections.OrderedDict()

    def sql(self, schema: str) -> str:
        sql = self._sql.get(schema)
        if sql is None:
            sql = self._template.replace(_SCHEMA_TOKEN, self._quote_schema(tenant_schema(schema)))
            self._sql[schema] = sql
            if len(self._sql) > _MAX_SCHEMAS:
                self._sql.popitem(last=False)
        return sql

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        if params.keys() != self._names:
            raise TypeError(f"parameters {sorted(params)}, expected {sorted(self._names)}")
        values = [value if name is None else params[name] for name, value, _ in self._params]
        return [process(v) if process else v for v, (_, _, process) in zip(values, self._params, strict=True)]

    @property
    def knows_types(self) -> bool:
        return self._results is not None

    def learn_types(self, oids: list[int]) -> None:
        """The result processing of each column, given the type oids the server answers with
        (as SQLAlchemy reads them from the cursor's description)."""
        processors = [t.result_processor(self._dialect, oid) for t, oid in zip(self._types, oids, strict=True)]
        self._results = [(i, p) for i, p in enumerate(processors) if p is not None]

    def to_row(self, record: asyncpg.Record) -> Any:
        if not self._results:
            return self.make_row(record)
        values = list(record)
        for i, process in self._results:
            values[i] = process(values[i])
        return self.make_row(values)


class TenantReader:
    """Runs ``Read`` statements in one tenant's schema; each takes a pooled connection for
    its one round trip (autocommit: every statement sees its own snapshot)."""

    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self.engine = engine
        self.schema = tenant_schema(schema)

    async def one(self, read: Read[*tuple[Any, ...]], **params: Any) -> Any | None:
        """The first row, or None."""
        compiled = read.compiled(self.engine.dialect)
        record = await self._run(compiled, "fetchrow", params)
        return None if record is None else compiled.to_row(record)

    async def all(self, read: Read[*tuple[Any, ...]], **params: Any) -> list[Any]:
        compiled = read.compiled(self.engine.dialect)
        return [compiled.to_row(record) for record in await self._run(compiled, "fetch", params)]

    async def _run(self, compiled: _Compiled, method: str, params: dict[str, Any]) -> Any:
        sql = compiled.sql(self.schema)
        arguments = compiled.arguments(params)
        # The pool's connection itself, not an engine Connection around it: that wrapper and
        # its greenlet round trips cost more than the statement (docs/benchmarks.md).
        connection = await self.engine.raw_connection()
        driver = connection.driver_connection
        assert driver is not None  # only an invalidated connection has none, and the pool hands out none
        try:
            if not compiled.knows_types:  # once per statement and process
                compiled.learn_types([a.type.oid for a in (await driver.prepare(sql)).get_attributes()])
            return await getattr(driver, method)(sql, *arguments)
        except Exception as exc:
            if driver.is_closed():  # gone (server restart, terminated): out of the pool
                await greenlet_spawn(connection.invalidate)
            if isinstance(exc, asyncpg.PostgresError):
                # As the session would raise it, so the problem handlers answer it alike.
                raise DBAPIError(sql, arguments, exc) from exc
            raise
        finally:
            # Back to the pool, whose reset may wait on the driver: in SQLAlchemy's greenlet.
            await greenlet_spawn(connection.close)
