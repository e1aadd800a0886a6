"""The `cornerstone` command: run, worker, db, tenants, tokens, keys, demo."""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.config import SettingsError, get_settings
from app.core.audit import Actor
from app.core.db import Database, resolve_database_url, stop_embedded_database

T = TypeVar("T")
console = Console(soft_wrap=True)  # long lines (curl commands) stay copyable


def _settings() -> Any:
    try:
        return get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _operator() -> Actor:
    return Actor(kind="operator", id=f"cli:{getpass.getuser()}")


def _with_db(work: Callable[[Database], Awaitable[T]]) -> T:
    settings = _settings()

    async def run() -> T:
        db = Database(resolve_database_url(settings), pool_size=max(2, settings.migration_concurrency))
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _problem_exit(exc: Exception) -> click.ClickException:
    from app.core.problems import ProblemError

    if isinstance(exc, ProblemError):
        fields = "".join(f"\n  {e.field}: {e.message}" for e in exc.errors or [])
        return click.ClickException(f"{exc.detail}{fields}")
    return click.ClickException(str(exc))


@click.group()
def main() -> None:
    """Cornerstone: customer relations for real-estate development groups."""


# --------------------------------------------------------------------------- db


@main.group()
def db() -> None:
    """Schema migrations for the shared schema and every tenant schema."""


async def upgrade_all(database: Database, *, concurrency: int, only: list[str] | None = None,
                      quiet: bool = False) -> bool:
    from app.auth.tokens import ensure_signing_key
    from app.tenants.migrations import upgrade_shared, upgrade_tenants

    await upgrade_shared(database)
    async with database.platform_transaction() as session:
        await ensure_signing_key(session, token_ttl=_settings().access_token_ttl)
    with Progress(TextColumn("tenant schemas"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=quiet, transient=False) as progress:
        bar = progress.add_task("migrate", total=None)
        report = await upgrade_tenants(
            database, concurrency=concurrency, only=only,
            on_start=lambda n: progress.update(bar, total=n),
            on_done=lambda _: progress.advance(bar),
        )
    if not quiet:
        console.print(
            f"head {report.head}: {report.total} tenants, {report.at_head} already at head, "
            f"{len(report.migrated)} migrated, {len(report.skipped)} skipped (held by another runner), "
            f"{len(report.failed)} failed in {report.seconds:.2f}s"
        )
    for failure in report.failed:
        console.print(f"[red]failed[/red] {failure.slug}: {failure.error}")
    return not report.failed


async def _unknown_tenants(database: Database, slugs: tuple[str, ...] | list[str]) -> list[str]:
    """Those of ``slugs`` that name no tenant (purged ones included: nothing is left of them)."""
    from sqlalchemy import select

    from app.tenants.models import Tenant, TenantStatus

    if not slugs:
        return []
    async with database.platform_session() as session:
        known = set(await session.scalars(select(Tenant.slug).where(
            Tenant.slug.in_(slugs), Tenant.status != TenantStatus.purged)))
    return [s for s in slugs if s not in known]


@db.command("upgrade")
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, help="Tenants migrated at once.")
@click.option("--tenant", "tenants", multiple=True, help="Only these tenants (repeatable).")
def db_upgrade(concurrency: int | None, tenants: tuple[str, ...]) -> None:
    """Migrate the shared schema, then every tenant schema that is behind."""
    settings = _settings()

    async def work(database: Database) -> tuple[bool, list[str]]:
        done = await upgrade_all(database, concurrency=concurrency or settings.migration_concurrency,
                                 only=list(tenants) or None)
        return done, await _unknown_tenants(database, tenants)  # after: the shared schema now exists

    ok, unknown = _with_db(work)
    if unknown:
        raise click.ClickException(f"no tenant named {', '.join(unknown)} (`cornerstone tenants list` shows them)")
    if not ok:
        raise click.ClickException("some tenants failed to migrate; they are marked, the rest are at head")


@db.command("status")
def db_status() -> None:
    """How many tenant schemas sit at each revision, and which failed."""
    from sqlalchemy import func, select

    from app.tenants.migrations import tenant_head
    from app.tenants.models import Tenant, TenantStatus

    async def work(database: Database) -> None:
        async with database.platform_session() as session:
            rows = (await session.execute(
                select(Tenant.schema_revision, func.count()).where(Tenant.status != TenantStatus.purged)
                .group_by(Tenant.schema_revision)
            )).all()
            failed = (await session.execute(
                select(Tenant.slug, Tenant.migration_error).where(Tenant.migration_error.is_not(None))
            )).all()
        table = Table("revision", "tenants", "at head")
        head = tenant_head()
        for revision, count in rows:
            table.add_row(str(revision), str(count), "yes" if revision == head else "no")
        console.print(table)
        for slug, error in failed:
            console.print(f"[red]{slug}[/red]: {error}")

    _with_db(work)


@db.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--tenant/--shared", "tenant", default=True, help="Tenant (default) or shared script directory.")
def db_revision(message: str, tenant: bool) -> None:
    """Create an empty migration script to fill in."""
    from alembic import command

    from app.tenants.migrations import shared_config, tenant_config

    cfg = tenant_config() if tenant else shared_config("postgresql://unused/unused")
    command.revision(cfg, message=message)


# ----------------------------------------------------------------------- tenants


@main.group()
def tenants() -> None:
    """Create, list, suspend, resume and delete tenants."""


def _tenant_row(t: Any) -> list[str]:
    return [t.slug, t.display_name, t.status.value, t.time_zone, t.locale, str(t.schema_revision)]


def _platform_call(fn: Callable[..., Awaitable[T]]) -> T:
    async def work(database: Database) -> T:
        async with database.platform_transaction() as session:
            session.info["actor"] = _operator()
            return await fn(session)

    try:
        return _with_db(work)
    except Exception as exc:
        raise _problem_exit(exc) from None


def _tenant_value_problems(*, slug: str, time_zone: str, locale: str) -> list[str]:
    """What is wrong with a new tenant's values, in words (the schema's pattern text is no help)."""
    import locale as system_locale

    from app.tenants.models import SLUG_MAX, SLUG_MIN, slug_problem
    from app.tenants.schemas import TIME_ZONES

    problems = []
    if (why := slug_problem(slug)) is not None:
        problems.append(f"the slug {slug!r} cannot name a tenant ({why}). A slug is "
                        f"{SLUG_MIN} to {SLUG_MAX} lowercase letters and digits, words joined by single "
                        f"underscores, starting with a letter, not starting with 'pg' and not a reserved word "
                        f"(e.g. vanke_south); it names the schema t_<slug>.")
    if time_zone not in TIME_ZONES:
        problems.append(f"--time-zone {time_zone!r} is not an IANA time zone name (e.g. Asia/Shanghai, UTC).")
    language = locale.split("-")[0]
    if not re.fullmatch(r"[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-[A-Z]{2})?", locale) \
            or language not in system_locale.locale_alias:
        problems.append(f"--locale {locale!r} is not a language tag of a known language (e.g. zh-CN, en, en-GB).")
    return problems


@tenants.command("create")
@click.argument("slug")
@click.option("--name", "display_name", required=True, help="Display name of the group.")
@click.option("--time-zone", default="Asia/Shanghai", show_default=True)
@click.option("--locale", default="zh-CN", show_default=True)
def tenants_create(slug: str, display_name: str, time_zone: str, locale: str) -> None:
    """Create and provision a tenant."""
    import msgspec

    from app.tenants import services
    from app.tenants.schemas import TenantCreate

    problems = _tenant_value_problems(slug=slug, time_zone=time_zone, locale=locale)
    if problems:
        raise click.ClickException("\n".join(problems))
    try:
        data = msgspec.convert({"slug": slug, "displayName": display_name, "timeZone": time_zone,
                                "locale": locale}, TenantCreate)
    except msgspec.ValidationError as exc:  # the name's length: the one rule left to msgspec
        raise click.ClickException(f"--name: {str(exc).split(' - at ')[0]}") from None
    tenant = _platform_call(lambda s: services.create_tenant(s, data))
    console.print(f"created {tenant.slug} (schema {tenant.schema}) in {tenant.provisioning_ms} ms")


@tenants.command("prepare")
@click.option("--count", type=click.IntRange(0, 100), default=None,
              help="Spare schemas to keep (default: CORNERSTONE_SPARE_SCHEMAS; 0 empties the pool).")
def tenants_prepare(count: int | None) -> None:
    """Fill the pool of spare schemas that creating a tenant takes from; drop stale ones."""
    from app.tenants.spares import fill_pool

    size = _settings().spare_schemas if count is None else count

    async def work(database: Database) -> Any:
        with Progress(TextColumn("spare schemas"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=False) as progress:
            bar = progress.add_task("prepare", total=None)
            return await fill_pool(database, size, actor=_operator(),
                                   on_start=lambda n: progress.update(bar, total=n),
                                   on_done=lambda _: progress.advance(bar))

    report = _with_db(work)
    console.print(f"head {report.head}: {report.ready} spare schemas ready (pool size {size}), "
                  f"{len(report.built)} built, {len(report.dropped)} dropped in {report.seconds:.2f}s")
    if report.foreign:
        console.print(f"[yellow]{report.foreign} spare schemas at a revision this code does not know "
                      "(made by newer code) were left alone[/yellow]")


@tenants.command("list")
def tenants_list() -> None:
    """List tenants."""
    from sqlalchemy import select

    from app.tenants.models import Tenant

    async def fetch(session: Any) -> list[Any]:
        return list((await session.scalars(select(Tenant).order_by(Tenant.slug))).all())

    table = Table("slug", "name", "status", "time zone", "locale", "revision")
    for t in _platform_call(fetch):
        table.add_row(*_tenant_row(t))
    console.print(table)


@tenants.command("rotate-data-key")
@click.argument("slug")
def tenants_rotate_data_key(slug: str) -> None:
    """Rotate a tenant's data key: a new key seals from now on, and a background job (on the
    worker) seals every stored value again with it, then retires the old key."""
    from sqlalchemy import select

    from app.domains.privacy import rotation
    from app.domains.privacy.tasks import rotate_data_key
    from app.tenants.models import Tenant
    from app.worker import enqueue_after_commit

    async def work(database: Database) -> Any:
        async with database.platform_session() as platform:
            tenant = await platform.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            raise click.ClickException(f"no tenant {slug!r}")
        async with database.tenant_transaction(tenant.schema) as session:
            session.info["actor"] = _operator()
            job = await rotation.start(session)
            enqueue_after_commit(session, rotate_data_key, tenant=slug, job_id=str(job.id))
        return job

    try:
        job = _with_db(work)
    except click.ClickException:
        raise
    except Exception as exc:
        raise _problem_exit(exc) from None
    console.print(f"rotation of {slug}'s data key started: job {job.id} (kind {rotation.KIND}) on the worker")


def _status_command(action: str, help_text: str) -> None:
    @tenants.command(action, help=help_text)
    @click.argument("slug")
    @click.option("--reason", required=True)
    def command(slug: str, reason: str) -> None:
        from app.tenants import services

        async def change(session: Any) -> Any:
            tenant = await services.get_tenant(session, slug, lock=True)
            return await services.change_status(session, tenant, action, reason)

        tenant = _platform_call(change)
        console.print(f"{tenant.slug}: {tenant.status.value}")


_status_command("suspend", "Suspend a tenant: its tokens are refused.")
_status_command("resume", "Resume a suspended tenant or cancel a pending deletion.")
_status_command("delete", "Mark a tenant for deletion (purge drops it).")


@tenants.command("purge")
@click.argument("slug")
@click.option("--confirm", required=True, help="The slug again.")
@click.option("--reason", required=True)
def tenants_purge(slug: str, confirm: str, reason: str) -> None:
    """Drop the schema of a tenant marked for deletion. Irreversible."""
    from app.tenants import services

    async def purge(session: Any) -> Any:
        tenant = await services.get_tenant(session, slug, lock=True)
        return await services.purge_tenant(session, tenant, confirm, reason)

    tenant = _platform_call(purge)
    console.print(f"{tenant.slug}: purged")


# ------------------------------------------------------------------ tokens, keys


@main.group()
def tokens() -> None:
    """Access tokens for operators and tests."""


async def _require_active_tenant(database: Database, slug: str) -> None:
    """A token for a tenant that is missing or not active would be refused by every call."""
    from sqlalchemy import select

    from app.tenants.models import Tenant, TenantStatus

    async with database.platform_session() as session:
        status = await session.scalar(select(Tenant.status).where(Tenant.slug == slug))
    if status is None or status is TenantStatus.purged:
        raise click.ClickException(f"no tenant named {slug} (`cornerstone tenants list` shows them)")
    if status is not TenantStatus.active:
        raise click.ClickException(f"the tenant {slug} is {status.value.replace('_', ' ')}: its tokens are refused "
                                   f"(`cornerstone tenants resume {slug} --reason ...` first)")


@tokens.command("mint")
@click.option("--tenant", default=None, help="Tenant slug; omit for a platform operator token.")
@click.option("--scope", "scopes", multiple=True, help="Scope (repeatable); default: every scope of the kind.")
@click.option("--subject", default=None, help="The token's sub (default: cli:<user>).")
@click.option("--ttl", type=click.IntRange(30, 900), default=None)
def tokens_mint(tenant: str | None, scopes: tuple[str, ...], subject: str | None, ttl: int | None) -> None:
    """Print a signed access token."""
    from app.auth.scopes import PLATFORM_SCOPES, SCOPES, TENANT_SCOPES
    from app.auth.tokens import KeyRing

    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise click.ClickException(f"unknown scopes: {' '.join(unknown)}")
    settings = _settings()
    granted = list(scopes) or sorted(TENANT_SCOPES if tenant else PLATFORM_SCOPES)

    async def mint(database: Database) -> str:
        if tenant is not None:
            await _require_active_tenant(database, tenant)
        keys = KeyRing(issuer=settings.issuer, audience=settings.audience, token_ttl=settings.access_token_ttl)
        async with database.platform_session() as session:
            await keys.refresh(session, force=True)
        sub = subject or f"cli:{getpass.getuser()}"
        return keys.mint(subject=sub, client_id="cornerstone-cli", scopes=granted, tenant=tenant, ttl=ttl)

    click.echo(_with_db(mint))


@main.group()
def keys() -> None:
    """Token signing keys."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; the old one verifies until its tokens expire."""
    from app.auth.tokens import rotate_keys

    settings = _settings()

    async def rotate(database: Database) -> str:
        async with database.platform_transaction() as session:
            key = await rotate_keys(session, token_ttl=settings.access_token_ttl)
            return key.kid

    console.print(f"new signing key {_with_db(rotate)}")


# --------------------------------------------------------------------- run, demo


@main.group()
def demo() -> None:
    """The demo tenant."""


@demo.command("seed")
def demo_seed() -> None:
    """Create the demo tenant with believable data (skipped when it exists)."""
    from app.demo import seed_demo

    created = _with_db(lambda d: seed_demo(d, _settings().demo_tenant, _operator(), _settings()))
    console.print("demo tenant created" if created else "demo tenant already present")


@main.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 32), default=2)
@click.option("--beat/--no-beat", default=False, help="Also run the periodic scheduler in this worker.")
def worker(concurrency: int, beat: bool) -> None:
    """Run a background-job worker."""
    _settings()
    resolve_database_url(_settings())  # exports DATABASE_URL for the worker's children
    argv = [sys.executable, "-m", "celery", "-A", "app.worker:celery_app", "worker",
            f"--concurrency={concurrency}", "--loglevel=INFO"]
    if beat:
        argv += ["--beat", f"--schedule={_beat_schedule()}"]
    os.execv(sys.executable, argv)  # noqa: S606 - becomes the worker: our interpreter, our argv


def _beat_schedule() -> Path:
    """Where the periodic scheduler keeps its last-run times: with the rest of the local data,
    not in the working directory (where it would land in the checkout)."""
    data_dir: Path = _settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir / "celerybeat-schedule"


def _server_log_config() -> dict[str, Any]:
    """uvicorn's logging, with the request id in every line (app/core/request_context.py)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": "app.core.request_context.RequestIdLogFilter"}}
    for formatter in config["formatters"].values():
        formatter["fmt"] = formatter["fmt"].replace("%(levelprefix)s", "%(levelprefix)s [%(request_id)s]", 1)
    for handler in config["handlers"].values():
        handler["filters"] = ["request_id"]
    return config


@main.command("run")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Web worker processes.")
@click.option("--worker/--no-worker", "with_worker", default=True, help="Start a background-job worker too.")
@click.option("--seed/--no-seed", default=True, help="Seed the demo tenant when missing.")
def run(host: str | None, port: int | None, workers: int | None, with_worker: bool, seed: bool) -> None:
    """Migrate, seed the demo tenant, start a job worker and serve the API."""
    import uvicorn

    from app.demo import print_demo_help, seed_demo

    settings = _settings()
    # The embedded PostgreSQL is started by this run when no server is named: stopped with it.
    embedded = not (settings.database_url or os.environ.get("DATABASE_URL"))
    url = resolve_database_url(settings)
    console.print(f"database: {url}")
    pid_file = settings.data_dir / "run" / "cornerstone.pid"  # for `cornerstone stop` (make stop)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(str(os.getpid()))

    async def prepare(database: Database) -> None:
        if not await upgrade_all(database, concurrency=settings.migration_concurrency):
            console.print("[yellow]some tenants failed to migrate; see `cornerstone db status`[/yellow]")
        if seed:
            await seed_demo(database, settings.demo_tenant, _operator(), settings)

    _with_db(prepare)
    child: subprocess.Popen[bytes] | None = None
    if with_worker:
        child = subprocess.Popen([sys.executable, "-m", "celery",  # noqa: S603 - our interpreter, fixed arguments "-A", "app.worker:celery_app", "worker",
                                  "--beat", f"--schedule={_beat_schedule()}", "--concurrency=1",
                                  "--loglevel=WARNING"])
    host = host or settings.host
    port = port or settings.port
    if seed:
        print_demo_help(console, settings, f"http://{host}:{port}")
    try:
        uvicorn.run("app.asgi:app_factory", factory=True, host=host, port=port,
                    workers=workers or settings.web_workers, log_level=settings.log_level.lower(),
                    log_config=_server_log_config(),
                    # The app decides the client address (CORNERSTONE_TRUSTED_PROXIES); uvicorn
                    # would otherwise believe X-Forwarded-For from any loopback peer.
                    proxy_headers=False)
    finally:
        if child is not None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a warm shutdown that hangs must not outlive the run
                child.kill()
                child.wait()
        pid_file.unlink(missing_ok=True)
        if embedded and stop_embedded_database(settings.data_dir):
            console.print("embedded PostgreSQL stopped; its data is kept in "
                          f"{settings.data_dir / 'pg'}")


@main.command("stop")
def stop() -> None:
    """Stop a detached `cornerstone run` (its worker with it) and the embedded PostgreSQL; data kept."""
    import time

    settings = _settings()
    pid_file = settings.data_dir / "run" / "cornerstone.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text())
        try:
            # As Ctrl-C does: the run then stops its worker and the database itself (uvicorn
            # re-raises a SIGTERM once it has shut down, which would end the run before that).
            os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.2)
            console.print(f"[yellow]cornerstone run ({pid}) did not stop within 60 s[/yellow]")
        except ProcessLookupError:
            console.print(f"stopped cornerstone run ({pid})")
        pid_file.unlink(missing_ok=True)
    if stop_embedded_database(settings.data_dir):
        console.print("embedded PostgreSQL stopped; data kept")


if __name__ == "__main__":
    main()
