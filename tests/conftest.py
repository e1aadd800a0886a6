"""The test harness: a real PostgreSQL database made for this run, the real app, real tokens.

PostgreSQL: ``DATABASE_URL`` names a server when set (a fresh database is created on it
for the run and dropped after); otherwise the embedded server under ``.data/``.
Broker: ``REDIS_URL`` when set, else Redis on 127.0.0.1:6379 when it answers, else the
database itself (kombu's SQLAlchemy transport), as in the embedded default.
Under pytest-xdist (``-n``, as ``make test`` runs) each worker process is such a run: its own
database, Celery queue, live servers and Celery worker; the process that hands out the tests
makes none of them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from app.config import PROJECT_ROOT


def _redis_on_loopback() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _prepare_environment() -> tuple[str, str]:
    """Pick the servers and create this run's database, before any settings are read."""
    from app.core.db import embedded_database_url, libpq_url, with_database

    server_url = os.environ.get("DATABASE_URL") or embedded_database_url(PROJECT_ROOT / ".data", "postgres")
    name = f"cs_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        # A commit returns without waiting for its WAL flush (3-6 ms on this VM's disk, more
        # when others write too; the suite commits tens of thousands of times). What a commit
        # makes visible, and when, is unchanged: only a crash of the server could lose the
        # last few, and this database is dropped at the end of the run anyway.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    os.environ["DATABASE_URL"] = with_database(server_url, name)
    if not os.environ.get("REDIS_URL") and _redis_on_loopback():
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    os.environ.setdefault("CORNERSTONE_ISSUER", "http://127.0.0.1:8000")
    # Every test signs in from 127.0.0.1 (live servers inherit this); the limit itself is
    # tested on an app of its own (tests/identity/test_rate_limit.py).
    os.environ.setdefault("CORNERSTONE_AUTH_RATE_LIMIT", "1000000")
    # A failing tenant's retries in a periodic scan come within a second or two, not minutes
    # (the worker inherits this; tests/worker/test_fanout.py counts the attempts).
    os.environ.setdefault("CORNERSTONE_FANOUT_RETRY_DELAY", "0.2")
    return server_url, name


# The run's own queue: every task any test sends goes there (never to a shared default
# queue where another run's worker could take a message naming this run's database).
QUEUE = f"cs-test-{uuid.uuid4().hex[:12]}"
OUTPUT_DIR = PROJECT_ROOT / "test-output"
# Set by pytest_configure: the server and the run's database on it (None: none was made).
SERVER_URL: str | None = None
TEST_DATABASE: str | None = None


def _distributes_only(config: pytest.Config) -> bool:
    """Whether this process only hands the tests to pytest-xdist's workers (``-n``): each
    worker is a run of its own (this module, its own database, queue, servers and worker);
    the process that distributes runs no test and needs none of them."""
    return (not hasattr(config, "workerinput") and config.getoption("dist", "no") != "no"
            and bool(config.getoption("tx", None)) and not config.getoption("collectonly"))


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module is imported: they read the settings, which read the environment.
    global SERVER_URL, TEST_DATABASE
    if _distributes_only(config):
        return
    SERVER_URL, TEST_DATABASE = _prepare_environment()
    from app.worker import celery_app

    celery_app.conf.task_default_queue = QUEUE


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from app.core.db import libpq_url

    if SERVER_URL is None:
        return
    try:
        with psycopg.connect(libpq_url(SERVER_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)')
    except psycopg.Error:
        pass  # a leftover test database is harmless; never fail the run for it


@pytest.fixture(scope="session")
def settings() -> Any:
    from app.config import get_settings

    return get_settings()


@pytest.fixture(scope="session")
async def db(settings: Any) -> AsyncIterator[Any]:
    from app.auth.tokens import ensure_signing_key
    from app.core.db import Database
    from app.tenants.migrations import upgrade_shared

    # As the API runs (app.asgi): a fixed pool, so a request path that held two connections
    # at once would wait on itself here.
    database = Database(os.environ["DATABASE_URL"], pool_size=5, max_overflow=0)
    await upgrade_shared(database)
    async with database.platform_transaction() as session:
        await ensure_signing_key(session, token_ttl=settings.access_token_ttl)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def app(db: Any, settings: Any) -> Any:
    from app.asgi import create_app

    return create_app(settings, database=db)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    # In-process, on the test's own event loop (the app's pool lives on that loop too).
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="session")
async def key_ring(db: Any, settings: Any) -> Any:
    from app.auth.tokens import KeyRing

    ring = KeyRing(issuer=settings.issuer, audience=settings.audience, token_ttl=settings.access_token_ttl)
    async with db.platform_session() as session:
        await ring.refresh(session, force=True)
    return ring


OPERATOR = "operator@test"
TEST_CLIENT = "test-client"  # the client id of minted tokens; as the subject too, a client token
TEST_ADMIN = "test-admin"  # the username of each tenant's test administrator


class _TestAdmins:
    """Each tenant's test administrator: a staff account holding ``group_admin`` at the
    group node, created on first use through the same services the API uses.

    ``mint`` is synchronous and is called from synchronous and asynchronous tests alike, so
    the services run on an event loop of their own in a helper thread, with a small pool
    of their own (asyncpg connections belong to the loop that opened them).
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._db: Any = None

    def account_id(self, slug: str) -> str:
        with self._lock:
            if slug not in self._ids:
                if self._loop is None:
                    self._loop = asyncio.new_event_loop()
                    threading.Thread(target=self._loop.run_forever, name="test-admins", daemon=True).start()
                future = asyncio.run_coroutine_threadsafe(self._create(slug), self._loop)
                self._ids[slug] = future.result(timeout=60)
            return self._ids[slug]

    async def _create(self, slug: str) -> str:
        from sqlalchemy import select

        from app.auth.models import AccountKind
        from app.auth.scopes import TENANT_SCOPES
        from app.auth.services import create_account
        from app.core.audit import Actor
        from app.core.db import Database
        from app.domains.access.services import grant_by_code
        from app.domains.org.services import get_root
        from app.tenants.models import Tenant, TenantStatus, schema_name

        if self._db is None:
            self._db = Database(self._url, pool_size=1)
        actor = Actor(kind="operator", id=OPERATOR)
        async with self._db.platform_transaction() as session:
            session.info["actor"] = actor
            tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
            if tenant is None or tenant.status is TenantStatus.purged:
                return str(uuid.uuid4())  # nobody, in a tenant the token is refused for anyway
            account = await create_account(session, tenant_id=tenant.id, kind=AccountKind.staff, username=TEST_ADMIN,
                                           display_name="Test administrator", password=None,
                                           scopes=sorted(TENANT_SCOPES - {"owner:self"}))
        async with self._db.tenant_transaction(schema_name(slug)) as session:
            session.info["actor"] = actor
            await grant_by_code(session, account_id=account.id, role_code="group_admin", node=await get_root(session))
        return str(account.id)

    def close(self) -> None:
        if self._loop is None:
            return
        if self._db is not None:
            asyncio.run_coroutine_threadsafe(self._db.dispose(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture(scope="session")
def mint(key_ring: Any, db: Any) -> Iterator[Callable[..., str]]:
    """Mint an access token: ``mint(tenant="acme", scopes=["org:read"])``; every scope of
    the kind (tenant or platform) when ``scopes`` is None.

    A tenant token without ``subject`` belongs to the tenant's test administrator (group_admin
    at the group node), so that it may do what its scopes allow; since roles decide what a
    user sees, a subject that is no account with roles sees nothing. ``subject=TEST_CLIENT``
    makes a client-credentials token (the whole group, no roles needed)."""
    from app.auth.scopes import PLATFORM_SCOPES, TENANT_SCOPES

    admins = _TestAdmins(db.url)

    def _mint(tenant: str | None = None, scopes: list[str] | None = None, subject: str | None = None,
              **kw: Any) -> str:
        granted = scopes if scopes is not None else sorted(TENANT_SCOPES if tenant else PLATFORM_SCOPES)
        if subject is None:
            subject = admins.account_id(tenant) if tenant else OPERATOR
        return key_ring.mint(subject=subject, client_id=TEST_CLIENT, scopes=granted, tenant=tenant, **kw)

    yield _mint
    admins.close()


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def subject_of(headers: dict[str, str]) -> str:
    """The ``sub`` of the Bearer token in ``headers`` (read, not verified: tests only)."""
    payload = headers["Authorization"].removeprefix("Bearer ").split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


SPARE_POOL = 6  # spare schemas kept ready for the tenants the tests create
SPARE_POLL = 1.0  # seconds; a tenant created over HTTP takes a spare without waking the filler


class SpareFiller:
    """The run's pool of spare schemas (app/tenants/spares.py), kept full from a thread of its
    own as the beat task keeps production's, so that a tenant a test creates renames a spare
    instead of running the DDL while the test waits: the database builds the next spare while
    the tests wait on sockets and subprocesses.

    ``ddl_only()`` empties the pool and keeps it empty until ``keep_full()``: for the tests of
    the DDL path and of the pool itself (tests/tenants/conftest.py).
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._size = SPARE_POOL
        self._wake = threading.Event()
        self._emptied = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="spare-filler", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def keep_full(self) -> None:
        if self._size != SPARE_POOL:
            self._size = SPARE_POOL
            self.wake()

    def ddl_only(self) -> None:
        """Return once the pool is empty; it stays empty until ``keep_full``."""
        if self._size == 0 and self._emptied.is_set():
            return
        self._size = 0
        self._emptied.clear()
        self.start()
        self.wake()
        if not self._emptied.wait(timeout=60):
            raise AssertionError("the pool of spare schemas was not emptied within 60s")

    def _run(self) -> None:
        from app.core.audit import SYSTEM
        from app.core.db import Database
        from app.tenants.spares import fill_pool

        # Its own loop and pool: asyncpg connections belong to the loop that opened them.
        loop = asyncio.new_event_loop()
        database = Database(self._url, pool_size=1)
        try:
            while not self._stopping:
                self._wake.clear()
                size = self._size
                # Emptied once, the pool is left alone: the tests of the pool fill it themselves.
                if size or not self._emptied.is_set():
                    loop.run_until_complete(fill_pool(database, size, actor=SYSTEM))
                    if size == 0:
                        self._emptied.set()
                self._wake.wait(SPARE_POLL)
        finally:
            loop.run_until_complete(database.dispose())
            loop.close()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping = True
            self.wake()
            self._thread.join(timeout=60)


_FILLER: SpareFiller | None = None  # the ``spares`` fixture's, once a test has needed it


@pytest.fixture(scope="session")
def spares(db: Any) -> Iterator[SpareFiller]:
    global _FILLER
    _FILLER = SpareFiller(db.url)
    yield _FILLER
    _FILLER.stop()


@pytest.fixture(autouse=True)
def spare_pool() -> None:
    """New tenants come from the pool of spares (tests/tenants/conftest.py overrides this: the
    tenancy tests see the pool empty, as they are about the DDL path and the pool itself)."""
    if _FILLER is not None:
        _FILLER.keep_full()


@pytest.fixture(scope="session")
def new_tenant(db: Any, spares: SpareFiller) -> Callable[..., Awaitable[str]]:
    """Create and provision a tenant with a unique slug; returns the slug."""
    from app.core.audit import Actor
    from app.tenants.schemas import TenantCreate
    from app.tenants.services import create_tenant

    async def _new(prefix: str = "t", **fields: Any) -> str:
        slug = f"{prefix}_{uuid.uuid4().hex[:10]}"
        async with db.platform_transaction() as session:
            session.info["actor"] = Actor(kind="operator", id=OPERATOR)
            await create_tenant(session, TenantCreate(slug=slug, display_name=fields.pop("name", slug), **fields))
        spares.start()  # from the first tenant on: the platform tables exist by then
        spares.wake()
        return slug

    return _new


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


# uvicorn's own CLI, with the app's background tasks routed to this run's queue first (the
# queue is not a setting, and a task sent to the shared default queue could be taken by a
# worker of another run on the same Redis).
_SERVE = (
    "import os, sys, uvicorn\n"
    "from app.worker import celery_app\n"
    "celery_app.conf.task_default_queue = os.environ['CORNERSTONE_TEST_QUEUE']\n"
    "sys.exit(uvicorn.main())\n"
)
LIVE_SERVER_WAIT = 120.0  # seconds to import the app and answer /health/live: two workers start theirs at once


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(db: Any, settings: Any, output_dir: Path) -> Iterator[str]:
    """The app served by a real uvicorn process on a free loopback port (for clients that
    need a socket, such as Schemathesis); returns its base URL. Same database as the
    in-process app and the same issuer as ``mint``, so minted tokens verify there."""
    for attempt in range(3):  # another process may take the port between probe and bind
        port = _free_port()
        log = output_dir / f"live-server-{QUEUE}.log"
        # A small pool: the server opens all of it at start, and a run holds several servers.
        env = {**os.environ, "CORNERSTONE_ISSUER": settings.issuer, "CORNERSTONE_TEST_QUEUE": QUEUE,
               "CORNERSTONE_DB_POOL_SIZE": "5"}
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", _SERVE, "--factory", "app.asgi:app_factory",
                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + LIVE_SERVER_WAIT
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health/live", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            process.kill()
            process.wait(timeout=10)
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            if "address already in use" in tail.lower() and attempt < 2:
                continue
            raise AssertionError(f"the live server did not answer /health/live within "
                                 f"{LIVE_SERVER_WAIT:.0f}s:\n{tail}")
        break
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
async def worker(db: Any, new_tenant: Any, output_dir: Path) -> AsyncIterator[Any]:
    """A real Celery worker subprocess on this run's queue (helpers: tests/worker/conftest.py),
    shared by the tests of every directory."""
    from app.worker import celery_app
    from tests.worker.conftest import NODE, START, Worker, finished_job, start_export

    log = output_dir / f"worker-{QUEUE}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 - starts the worker and returns; nothing waits on it here
            [sys.executable, "-m", "celery", "-A", "app.worker:celery_app", "worker", "--pool=solo",
             "--concurrency=1", "-Q", QUEUE, "-n", NODE, "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=PROJECT_ROOT, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT,
        )
    running = Worker(process, log)
    try:
        # Ready once it has run a job end to end: broker, queue, database and tenant binding.
        # (A control ping would need a fanout exchange, which the database broker lacks.)
        slug = await new_tenant("wk_ready")
        job = await finished_job(db, running, slug, await start_export(db, slug), within=START)
        assert job.status.value == "succeeded", job.error
        yield running
    finally:
        process.terminate()  # warm shutdown: finishes the task in hand
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        with celery_app.connection_for_write() as conn:
            queue = celery_app.amqp.queues[QUEUE].bind(conn.default_channel)
            queue.declare()  # a fresh channel deletes only the bindings it knows of
            queue.delete()


@dataclass(frozen=True)
class Demo:
    slug: str
    data_dir: Path  # holds demo-credentials.txt, as .data does for `make run`


@pytest.fixture(scope="session")
async def demo(db: Any, settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo tenant `make run` seeds, once per run: its OAuth client ids are fixed, so a
    database holds one."""
    import msgspec

    from app.core.audit import Actor
    from app.demo import seed_demo

    data_dir = tmp_path_factory.mktemp("demo-data")
    slug = f"demo_{uuid.uuid4().hex[:8]}"
    assert await seed_demo(db, slug, Actor(kind="operator", id=OPERATOR),
                           msgspec.structs.replace(settings, data_dir=data_dir))
    return Demo(slug=slug, data_dir=data_dir)
