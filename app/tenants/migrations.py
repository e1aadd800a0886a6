"""Schema migrations: Alembic scripts, our own runner over every tenant schema.

The shared schema is migrated with plain Alembic (``migrations/shared``). Tenant schemas
use the script directory ``migrations/tenant`` but not Alembic's per-schema version
table: each tenant's revision is a column of the registry, so one query tells which
schemas are behind, and the runner migrates only those, each in its own transaction
(DDL, the defaults of the domains it brings, and the revision stamp commit together),
several at a time, reporting failures without stopping. A re-run resumes where a failed
or interrupted run stopped.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic import op as alembic_op
from alembic.config import Config
from alembic.ddl.base import AlterTable
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import event, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.config import PROJECT_ROOT
from app.core import audit
from app.core.audit import Actor
from app.core.clock import utcnow
from app.core.db import TENANT_PLACEHOLDER, Database, sync_url
from app.tenants.models import Tenant, TenantStatus, schema_name
from app.tenants.seeding import seed_migrated

SHARED_SCRIPTS = PROJECT_ROOT / "migrations" / "shared"
TENANT_SCRIPTS = PROJECT_ROOT / "migrations" / "tenant"
LOCK_TIMEOUT = "5s"  # a tenant whose tables are busy fails fast and is retried later


@lru_cache(maxsize=8)
def _scripts(path: Path) -> ScriptDirectory:
    return ScriptDirectory(str(path))


def tenant_head(scripts: Path = TENANT_SCRIPTS) -> str:
    head = _scripts(scripts).get_current_head()
    if head is None:
        raise RuntimeError(f"no tenant migration in {scripts}")
    return head


def tenant_schema() -> str:
    """The schema being migrated, for tenant scripts that need raw SQL (``op.execute``).

    Everything built with ``op`` helpers and ``schema="tenant"`` is translated already.
    """
    from alembic import op

    schema: str = op.get_context().opts["tenant_schema"]  # set by the runner (_apply)
    return schema


def shared_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SHARED_SCRIPTS))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def tenant_config() -> Config:
    """For `cornerstone db revision --tenant`: only the script directory is used."""
    cfg = Config()
    cfg.set_main_option("script_location", str(TENANT_SCRIPTS))
    return cfg


async def upgrade_shared(db: Database) -> None:
    def run(sync_conn: Connection) -> None:
        cfg = shared_config(db.url)
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, "head")

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


_tenant_ops: ContextVar[Operations | None] = ContextVar("tenant_ops", default=None)


class _TaskLocalOps:
    """Stands in for the Operations behind alembic's module-global ``op`` proxy.

    Alembic points that one global at the latest migration context and clears it when
    that context ends. Tenants migrating at once interleave at every round trip (each in
    its own asyncio task), so a script's next ``op`` call would land on another tenant's
    connection, or on nothing. This routes each call to the calling task's Operations.
    """

    def __getattr__(self, name: str) -> Any:
        ops = _tenant_ops.get()
        if ops is None:
            raise RuntimeError(f"op.{name}() called outside a tenant migration")
        return getattr(ops, name)


_TASK_LOCAL_OPS = _TaskLocalOps()


def lineage(target: str, scripts: Path) -> set[str]:
    """Every revision up to ``target``, itself included."""
    return {r.revision for r in _scripts(scripts).iterate_revisions(target, "base")}


def _apply(sync_conn: Connection, schema: str, current: str | None, target: str, scripts: Path) -> list[str]:
    """Run the scripts from ``current`` to ``target``; the revisions applied, in order."""
    directory = _scripts(scripts)
    ctx = MigrationContext.configure(sync_conn, opts={"tenant_schema": schema})
    steps = list(directory.iterate_revisions(target, current or "base"))

    # Alembic renders the table of ALTER TABLE (add/alter/drop column, rename) itself, so
    # schema_translate_map never sees it: name the tenant's schema on those elements.
    def translate(conn: Connection, element: Any, multiparams: Any, params: Any, options: Any) -> Any:
        if isinstance(element, AlterTable) and element.schema == TENANT_PLACEHOLDER:
            element = copy.copy(element)
            element.schema = schema
        return element, multiparams, params

    event.listen(sync_conn, "before_execute", translate, retval=True)
    token = _tenant_ops.set(Operations(ctx))
    # Set on every run: a plain alembic run (the shared schema) resets the global after it.
    alembic_op._proxy = _TASK_LOCAL_OPS  # type: ignore[attr-defined]  # alembic's private proxy, not in its stubs
    try:
        for revision in reversed(steps):  # iterate_revisions walks from target down
            revision.module.upgrade()
    finally:
        _tenant_ops.reset(token)
        event.remove(sync_conn, "before_execute", translate)
    return [revision.revision for revision in reversed(steps)]


async def _seed(conn: AsyncConnection, slug: str, schema: str, current: str | None, target: str,
                applied: list[str], scripts: Path) -> list[str]:
    """The defaults of the domains the migration brought (app/tenants/seeding.py), written and
    audited on the migration's own connection and transaction; the seeders run."""
    why = f"tenant migration {current or 'base'} -> {target}"
    async with AsyncSession(bind=conn, expire_on_commit=False) as session:
        session.info.update(tenant_schema=schema, actor=Actor(kind="system", id="migrations", reason=why))
        tenant = (await session.scalars(select(Tenant).where(Tenant.slug == slug))).one()
        seeded = await seed_migrated(session, tenant, applied=applied, lineage=lineage(target, scripts))
        await audit.record(session, action="tenant.migrate", entity_type="tenant", entity_id=slug,
                           after={"fromRevision": current, "toRevision": target, "seeded": seeded})
        await session.flush()
    return seeded


@dataclass
class TenantResult:
    slug: str
    from_revision: str | None
    to_revision: str | None
    ok: bool
    seconds: float
    error: str | None = None
    seeded: list[str] = field(default_factory=list)  # the seeders the migration ran
    # Another runner held the tenant's row lock: not a failure (nothing is recorded), and
    # the next run picks the tenant up if it is still behind.
    skipped: bool = False


@dataclass
class UpgradeReport:
    head: str
    total: int = 0
    at_head: int = 0
    results: list[TenantResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def migrated(self) -> list[TenantResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[TenantResult]:
        return [r for r in self.results if not r.ok and not r.skipped]

    @property
    def skipped(self) -> list[TenantResult]:
        return [r for r in self.results if r.skipped]


async def upgrade_tenants(
    db: Database,
    *,
    concurrency: int = 4,
    scripts: Path = TENANT_SCRIPTS,
    only: list[str] | None = None,
    on_start: Callable[[int], Any] | None = None,
    on_done: Callable[[TenantResult], Any] | None = None,
) -> UpgradeReport:
    """Bring every tenant schema that is behind to head; one failure never stops the rest."""
    started = time.perf_counter()
    head = tenant_head(scripts)
    stmt = select(Tenant.slug, Tenant.schema_revision).where(
        Tenant.status.in_([TenantStatus.active, TenantStatus.suspended, TenantStatus.pending_deletion])
    )
    if only:
        stmt = stmt.where(Tenant.slug.in_(only))
    async with db.engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    report = UpgradeReport(head=head, total=len(rows))
    behind = [(slug, rev) for slug, rev in rows if rev != head]
    report.at_head = len(rows) - len(behind)
    if on_start:
        on_start(len(behind))
    semaphore = asyncio.Semaphore(concurrency)

    async def one(slug: str) -> None:
        async with semaphore:
            result = await _upgrade_one(db, slug, head, scripts)
        report.results.append(result)
        if on_done:
            on_done(result)

    await asyncio.gather(*(one(slug) for slug, _ in behind))
    report.seconds = time.perf_counter() - started
    return report


async def _upgrade_one(db: Database, slug: str, head: str, scripts: Path) -> TenantResult:
    started = time.perf_counter()
    schema = schema_name(slug)
    current: str | None = None
    seeded: list[str] = []
    try:
        async with db.engine.connect() as conn:
            async with conn.begin():
                await conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                # The row lock keeps two runners off the same tenant; the second skips it.
                row = (await conn.execute(
                    select(Tenant.schema_revision).where(Tenant.slug == slug).with_for_update(skip_locked=True)
                )).one_or_none()
                if row is None:
                    return TenantResult(slug, None, None, False, time.perf_counter() - started,
                                        "another runner holds this tenant", skipped=True)
                current = row[0]
                if current != head:
                    await conn.execution_options(schema_translate_map={TENANT_PLACEHOLDER: schema})
                    applied = await conn.run_sync(_apply, schema, current, head, scripts)
                    seeded = await _seed(conn, slug, schema, current, head, applied, scripts)
                await conn.execute(
                    update(Tenant).where(Tenant.slug == slug).values(
                        schema_revision=head, migration_error=None, migration_failed_at=None,
                        version=Tenant.version + 1,
                    )
                )
        return TenantResult(slug, current, head, True, time.perf_counter() - started, seeded=seeded)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and reported, not raised
        message = f"{type(exc).__name__}: {exc}"[:2000]
        try:
            async with db.engine.begin() as conn:
                await conn.execute(
                    update(Tenant).where(Tenant.slug == slug).values(
                        migration_error=message, migration_failed_at=utcnow(), version=Tenant.version + 1
                    )
                )
        except Exception as record_exc:  # noqa: BLE001 - still report it; never abort the other tenants
            message = f"{message} (not recorded: {type(record_exc).__name__}: {record_exc})"[:2000]
        return TenantResult(slug, current, None, False, time.perf_counter() - started, message)
