"""Database engine, the embedded server, and tenant-bound sessions.

Tenant tables are declared once against the placeholder schema ``tenant``. A session for
one tenant is bound to an engine proxy whose ``schema_translate_map`` renames that
placeholder to the tenant's schema on every statement, so the mapping travels with the
bind (it survives commits and pooled connections, and never needs ``SET search_path``).
A platform session has no mapping: touching a tenant table from it fails, because no
schema named ``tenant`` exists.
"""

from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from app.config import Settings

log = logging.getLogger(__name__)

PLATFORM_SCHEMA = "platform"
TENANT_PLACEHOLDER = "tenant"
EMBEDDED_DATABASE = "cornerstone"


def embedded_database_url(data_dir: Path, database: str = EMBEDDED_DATABASE) -> str:
    """Start (or join) the embedded PostgreSQL under ``data_dir/pg`` and return its URL.

    The server keeps running after this process exits so that the API, the worker and the
    CLI share it; its data survives restarts.
    """
    runtime = data_dir / "run"
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    from pgserver.postgres_server import get_server  # imported here: only the embedded default needs it

    server = get_server(data_dir / "pg", cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 - our constant
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server.get_uri(database)


def stop_embedded_database(data_dir: Path) -> bool:
    """Stop the embedded PostgreSQL under ``data_dir/pg`` (its data kept); False when it was
    not running. A fast shutdown: open sessions are ended, committed work is on disk."""
    pgdata = data_dir / "pg"
    if not (pgdata / "postmaster.pid").exists():
        return False
    import subprocess

    from pgserver._commands import POSTGRES_BIN_PATH  # the binaries pgserver ships with

    # pgserver runs the server as a system user of its own when started by root.
    user = "pgserver" if os.geteuid() == 0 else None
    command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"]
    subprocess.run(command, check=True, capture_output=True, user=user, timeout=120)  # noqa: S603 - our paths
    return True


def resolve_database_url(settings: Settings) -> str:
    """The URL this process uses; starting the embedded server when none is configured.

    The result is exported as ``DATABASE_URL`` so that child processes (the worker, the
    web workers) join the same server instead of starting another.
    """
    url = settings.database_url or os.environ.get("DATABASE_URL")
    if not url:
        url = embedded_database_url(settings.data_dir)
        os.environ["DATABASE_URL"] = url
    return url


def _with_driver(url: str, driver: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    return urlunsplit((f"{scheme}+{driver}", parts.netloc, parts.path, parts.query, parts.fragment))


def async_url(url: str) -> str:
    return _with_driver(url, "asyncpg")


def sync_url(url: str) -> str:
    return _with_driver(url, "psycopg")


def libpq_url(url: str) -> str:
    """The URL without a SQLAlchemy driver suffix, as asyncpg and psql expect it."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name), parts.query, parts.fragment))


_SCHEMA_RE = re.compile(r"^t_[a-z][a-z0-9_]{1,40}$")
POOL_TIMEOUT = 10.0  # seconds a request waits for a pooled connection before answering 503
READ_ONLY = "read_only"  # session.info key of a read-only (autocommit) tenant session


def tenant_schema(schema: str) -> str:
    """``schema`` when it is a tenant schema's name (it is then written into SQL unquoted-safe)."""
    if not _SCHEMA_RE.fullmatch(schema):
        raise ValueError(f"not a tenant schema: {schema!r}")
    return schema


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched (``execute`` is typed to return any Result; for
    such a statement it is a CursorResult)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"a {type(result).__name__} has no row count: not the result of an UPDATE or DELETE")
    return result.rowcount


def refuse_writes(session: Session | AsyncSession, what: str) -> None:
    """Raise when ``session`` is read-only: a route that reads (GET) must not write."""
    if session.info.get(READ_ONLY):
        raise RuntimeError(f"{what} in a read-only session: a GET or HEAD route must not write "
                           "(make the operation a POST)")


@event.listens_for(Session, "before_flush")
def _no_flush_when_read_only(session: Session, flush_context: Any, instances: Any) -> None:
    refuse_writes(session, "a flush")


class Database:
    """One engine (one pool) per process, with cheap per-tenant proxies over it."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 4,
                 pool_timeout: float = POOL_TIMEOUT, echo: bool = False) -> None:
        """``max_overflow``: connections opened beyond ``pool_size`` when every pooled one is
        busy, closed again as soon as they return to a full pool. Slack for the worker and the
        CLI, whose code may hold two connections. The API runs with none (see create_app):
        under sustained load overflow would mean a new PostgreSQL connection, and its set-up
        round trips, for each request beyond the pool. A request waits instead, and answers
        503 after ``pool_timeout`` seconds."""
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            # No ping on every checkout (a round trip per request); recycle instead, and a
            # connection broken by a server restart fails one request and is replaced.
            pool_pre_ping=False,
            pool_recycle=1800,
            echo=echo,
        )
        self._tenant_engines: OrderedDict[tuple[str, bool], AsyncEngine] = OrderedDict()
        self._sync_engine: Engine | None = None
        self._pool_size = pool_size

    @property
    def sync_engine(self) -> Engine:
        """A small synchronous pool for code that must stay synchronous (the OAuth core,
        run in worker threads), made on first use."""
        if self._sync_engine is None:
            self._sync_engine = create_engine(sync_url(self.url), pool_size=self._pool_size,
                                              max_overflow=self._pool_size, pool_pre_ping=True)
        return self._sync_engine

    def tenant_engine(self, schema: str, *, read_only: bool = False) -> AsyncEngine:
        key = (tenant_schema(schema), read_only)
        engine = self._tenant_engines.get(key)
        if engine is None:
            options: dict[str, Any] = {"schema_translate_map": {TENANT_PLACEHOLDER: schema}}
            if read_only:
                options["isolation_level"] = "AUTOCOMMIT"
            engine = self.engine.execution_options(**options)
            self._tenant_engines[key] = engine
            if len(self._tenant_engines) > 8192:
                self._tenant_engines.popitem(last=False)
        else:
            self._tenant_engines.move_to_end(key)
        return engine

    def tenant_session(self, schema: str, *, read_only: bool = False) -> AsyncSession:
        """A session bound to ``schema``. ``read_only``: for requests that only read (GET): in
        autocommit, so a read costs one round trip instead of three (no BEGIN and COMMIT); each
        statement sees its own snapshot, which a read of one resource or one page can afford.
        Such a session refuses to flush or audit (a write there would commit statement by
        statement): see ``refuse_writes``."""
        session = AsyncSession(bind=self.tenant_engine(schema, read_only=read_only), expire_on_commit=False)
        session.info["tenant_schema"] = schema
        if read_only:
            session.info[READ_ONLY] = True
        return session

    def platform_session(self) -> AsyncSession:
        return AsyncSession(bind=self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def tenant_transaction(self, schema: str) -> AsyncIterator[AsyncSession]:
        async with self.tenant_session(schema) as session, session.begin():
            yield session

    @asynccontextmanager
    async def platform_transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.platform_session() as session, session.begin():
            yield session

    async def open_pool(self, count: int) -> int:
        """Open up to ``count`` pooled connections now (a process starting), so that its first
        requests under load do not each wait for one: opening a connection takes several round
        trips and blocks the event loop for milliseconds (TLS negotiation, type set-up). Best
        effort: returns how many are open; a database that does not answer is the readiness
        check's to report, not a reason to refuse to start."""
        connections = []
        try:
            for _ in range(count):
                connections.append(await self.engine.connect())
        except Exception as exc:  # noqa: BLE001 - logged; the requests will try again
            log.warning("opened %d of %d database connections at start: %s", len(connections), count, exc)
        for connection in connections:
            await connection.close()
        return len(connections)

    async def ping(self) -> None:
        """One round trip; the caller bounds how long it may wait (the readiness check: 2 s)."""
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()
