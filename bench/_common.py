"""Helpers the benchmarks share: output, a scratch database, a provisioned tenant, uvicorn
servers on loopback and the `wrk` load generator.

Every helper that starts something stops it in a ``finally``: a failing or interrupted
run leaves no server process and no scratch database behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.config import PROJECT_ROOT
from app.core.db import embedded_database_url, libpq_url, with_database

LOOPBACK = "127.0.0.1"  # every server and every request stays on this machine
VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
SHARED_CORES_NOTE = (f"load generator and servers share this machine's {os.cpu_count()} CPU cores "
                     "(and PostgreSQL runs on it too): the figures are for the whole box, not the server alone")

console = Console(soft_wrap=True)  # figures stay one line each when piped to a file


def stop_cleanly_on_signals() -> None:
    """SIGTERM and SIGINT end the run through its ``finally`` blocks (servers stopped,
    scratch database dropped). SIGINT is restored too: a shell starts background jobs with
    it ignored."""
    def _exit(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def machine_load_note() -> str:
    """Other work on the box skews every figure here; say how busy it was at the start."""
    one, five, _ = os.getloadavg()
    note = f"load average at start {one:.2f} (1 min), {five:.2f} (5 min)"
    return note + (" [red]— the machine is busy: figures will be low and noisy[/red]" if one > 0.5 else "")


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def verdict(ok: bool) -> str:
    return "[green]meets target[/green]" if ok else "[red]misses target[/red]"


# ------------------------------------------------------------------------ database


def server_url() -> str:
    """DATABASE_URL's server, else the embedded one (started on demand, as `make run` does)."""
    return os.environ.get("DATABASE_URL") or embedded_database_url(PROJECT_ROOT / ".data", "postgres")


@contextmanager
def scratch_database(prefix: str = "cs_bench") -> Iterator[str]:
    """A database of the run's own on the server; yields its URL, dropped at the end."""
    server = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    console.print(f"scratch database {name}; {os.cpu_count()} CPUs")
    try:
        yield with_database(server, name)
    finally:
        with psycopg.connect(libpq_url(server), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        console.print(f"dropped {name}")


def settle(url: str) -> None:
    """VACUUM ANALYZE a freshly provisioned scratch database: otherwise autovacuum takes up
    its new tables during the first measured run, and that run's target pays for it."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


@dataclass
class BenchTenant:
    slug: str
    tenant_id: uuid.UUID
    branch_ids: list[uuid.UUID]
    partner_id: str  # confidential client (client credentials)
    partner_secret: str
    mobile_id: str  # public client (code + PKCE, refresh)
    owner_id: uuid.UUID  # an owner account, for refresh-token chains


async def provision_tenant(db: Any, slug: str, *, token_ttl: int) -> BenchTenant:
    """The shared schema, a signing key, and one tenant with branches, clients and an owner,
    made through the same services the platform API and `make run`'s demo seed use."""
    from app.auth.models import AccountKind, ClientKind
    from app.auth.services import create_account, create_client
    from app.auth.tokens import ensure_signing_key
    from app.core.audit import Actor
    from app.domains.org.schemas import BranchCreate
    from app.domains.org.services import create_branch
    from app.tenants.migrations import upgrade_shared
    from app.tenants.models import schema_name
    from app.tenants.schemas import TenantCreate
    from app.tenants.services import create_tenant

    actor = Actor(kind="operator", id="bench")
    await upgrade_shared(db)
    async with db.platform_transaction() as session:
        await ensure_signing_key(session, token_ttl=token_ttl)
    async with db.platform_transaction() as session:
        session.info["actor"] = actor
        tenant = await create_tenant(session, TenantCreate(slug=slug, display_name=f"Bench {slug}"))
        owner = await create_account(session, tenant_id=tenant.id, kind=AccountKind.owner, username="bench-owner",
                                     display_name="Bench owner", password=None, scopes=["owner:self", "org:read"])
        await create_client(session, tenant_id=tenant.id, name="Bench mobile", kind=ClientKind.public,
                            redirect_uris=["http://127.0.0.1:8765/callback"], allowed_scopes=["owner:self", "org:read"],
                            first_party=True, client_id="bench-mobile")
        _, secret = await create_client(session, tenant_id=tenant.id, name="Bench partner",
                                        kind=ClientKind.confidential, redirect_uris=[],
                                        allowed_scopes=["org:read", "jobs:read"], client_id="bench-partner")
        tenant_id, owner_id = tenant.id, owner.id
    branches = []
    async with db.tenant_transaction(schema_name(slug)) as session:
        session.info["actor"] = actor
        for code in ("SZ", "GZ", "SH"):
            node = await create_branch(session, BranchCreate(code=code, name=f"Branch {code}",
                                                             description=f"Bench branch {code}."))
            branches.append(node.id)
    assert secret is not None
    return BenchTenant(slug=slug, tenant_id=tenant_id, branch_ids=branches, partner_id="bench-partner",
                       partner_secret=secret, mobile_id="bench-mobile", owner_id=owner_id)


async def load_key_ring(db: Any, *, issuer: str, audience: str, token_ttl: int) -> Any:
    """The signing keys from the scratch database, as the servers will load them."""
    from app.auth.tokens import KeyRing

    ring = KeyRing(issuer=issuer, audience=audience, token_ttl=token_ttl)
    async with db.platform_session() as session:
        await ring.refresh(session, force=True)
    return ring


# -------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, port: int, *, bench_modules: bool = False, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORNERSTONE_")}
    if bench_modules:  # factories defined in bench/ (the bare handler, the bench-only app variants)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT / "bench"), env.get("PYTHONPATH")]))
    env.update({
        "DATABASE_URL": database_url,
        # The issuer must match the one the bench mints with, or every token is refused.
        "CORNERSTONE_ISSUER": f"http://{LOOPBACK}:{port}",
        "CORNERSTONE_LOG_LEVEL": "WARNING",
        **extra,
    })
    env.pop("REDIS_URL", None)  # no background jobs in these runs; the broker is never used
    return env


@dataclass
class RunningServer:
    url: str
    pid: int  # the uvicorn supervisor; its children are the workers

    def workers(self) -> list[int]:
        """The worker processes (not multiprocessing's resource tracker)."""
        out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(self.pid)], capture_output=True, text=True)
        return [int(line.split(None, 1)[0]) for line in out.stdout.splitlines() if "spawn_main" in line]


@contextmanager
def uvicorn_server(factory: str, *, port: int, env: dict[str, str], workers: int, ready_path: str,
                   name: str, timeout: float = 60.0) -> Iterator[RunningServer]:
    """`uvicorn --factory FACTORY --workers N` on loopback; yields it once ``ready_path``
    answers, and stops the whole process group at the end."""
    safe = "".join(c if c.isalnum() else "-" for c in name.strip())
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{safe}-", suffix=".log", delete=False)
    cmd = [str(VENV_BIN / "uvicorn"), "--factory", factory, "--workers", str(workers), "--host", LOOPBACK,
           "--port", str(port), "--log-level", "warning", "--no-access-log"]
    # A session of its own, so that the server and its workers are stopped as one group.
    proc = subprocess.Popen(cmd, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{_tail(log.name)}")
                try:
                    if client.get(base + ready_path).status_code < 500:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer within {timeout:.0f} s:\n{_tail(log.name)}")
                time.sleep(0.2)
        yield RunningServer(base, proc.pid)
    finally:
        _stop_group(proc)
        log.close()
        os.unlink(log.name)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc). Unlike req/s, CPU
    per request barely moves when other work shares the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def pg_sessions(database_url: str) -> int:
    """Sessions ever opened on the database (PostgreSQL 14+): a rising count under steady
    load means the pool is closing and reopening connections."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def _stop_group(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # our own process group: the supervisor and its workers
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # workers that outlived their supervisor
    except ProcessLookupError:
        pass


def _tail(path: str, lines: int = 30) -> str:
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


# ------------------------------------------------------------------------------ wrk

WRK_DONE = r"""
done = function(summary, latency, requests)
  if bench_extra then bench_extra() end  -- a script's own figures, as a BENCH_EXTRA {json} line
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d,\"max_us\":%d," ..
    "\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # what the script's bench_extra() wrote

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def line(self) -> str:
        errors = f", [red]{self.failed} errors {self.errors}[/red]" if self.failed else ", 0 errors"
        return (f"{self.rps:8.0f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
                f"({self.requests} requests in {self.seconds:.1f} s{errors})")


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed as the load generator: apt-get install -y wrk")
    return found


def lua_string(text: str) -> str:
    """A Lua string literal (long brackets cannot be escaped, so use a quoted one)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def run_wrk(url: str, *, connections: int, duration: float, threads: int = 2,
            headers: dict[str, str] | None = None, script: str = "") -> LoadResult:
    """One bounded wrk run (``duration`` seconds, killed if it overruns by 60 s)."""
    with tempfile.NamedTemporaryFile("w", prefix="bench-", suffix=".lua", delete=False) as f:
        f.write(script + "\n" + WRK_DONE)
        lua = f.name
    cmd = [wrk_path(), "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{duration:g}s",
           "--timeout", "10s", "-s", lua]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    cmd.append(url)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(lua)
    marker = [line for line in out.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if out.returncode != 0 or not marker:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
    data = json.loads(marker[-1].split(" ", 1)[1])
    extra = [json.loads(line.split(" ", 1)[1]) for line in out.stdout.splitlines() if line.startswith("BENCH_EXTRA ")]
    errors = {k: data[k] for k in ("connect", "read", "write", "status", "timeout") if data[k]}
    return LoadResult(requests=data["requests"], seconds=data["duration_us"] / 1e6, p50_ms=data["p50_us"] / 1000,
                      p99_ms=data["p99_us"] / 1000, max_ms=data["max_us"] / 1000, errors=errors,
                      extra=extra[-1] if extra else {})


@dataclass
class Measured:
    """One loaded run, with what the server spent on it."""

    load: LoadResult
    cpu_us: float  # the server workers' user + system CPU per request (PostgreSQL's not included)
    new_connections: int  # PostgreSQL connections opened during the run

    def line(self) -> str:
        return (f"{self.load.line()}  server CPU {self.cpu_us:4.0f} µs/req, "
                f"{self.new_connections} new PG connections")


def measured_run(server: RunningServer, database_url: str, url: str, **wrk: Any) -> Measured:
    """run_wrk, plus the server workers' CPU time and the PostgreSQL connections opened."""
    workers = server.workers()
    cpu0, sessions0 = cpu_seconds(workers), pg_sessions(database_url)
    load = run_wrk(url, **wrk)
    cpu = cpu_seconds(workers) - cpu0
    opened = pg_sessions(database_url) - sessions0 - 1  # less pg_sessions' own connection
    return Measured(load=load, cpu_us=cpu / load.requests * 1e6 if load.requests else 0.0,
                    new_connections=max(0, opened))


def combine(results: list[LoadResult]) -> LoadResult:
    """Rounds of one target as one figure: total requests over total time; the median
    round's p50 and the worst round's p99 (wrk does not hand out its histograms to merge)."""
    p50s = sorted(r.p50_ms for r in results)
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r.errors.items():
            errors[k] = errors.get(k, 0) + v
    return LoadResult(requests=sum(r.requests for r in results), seconds=sum(r.seconds for r in results),
                      p50_ms=p50s[len(p50s) // 2], p99_ms=max(r.p99_ms for r in results),
                      max_ms=max(r.max_ms for r in results), errors=errors)


# ------------------------------------------------------- bench-only variants of the app


def app_variant_factory() -> Any:
    """The real app from app.asgi.create_app, changed ONLY inside the benchmark process, to
    find by elimination what a request costs. Read from the environment:

    * ``CS_BENCH_NO_AUTH=1``: the authentication middleware is replaced by one that hands
      every request the same tenant principal without reading any header (no token parse,
      no signature check, no tenant status lookup); the scope check, the reader and the
      handler are unchanged.
    """
    import app.asgi as asgi

    if os.environ.get("CS_BENCH_NO_AUTH") == "1":
        asgi.BearerAuthentication = _fixed_principal_middleware(os.environ["CS_BENCH_TENANT"])  # type: ignore[misc]
    return asgi.create_app()


def _fixed_principal_middleware(tenant: str) -> Any:
    from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

    from app.auth.guards import require_scopes
    from app.auth.principal import Principal

    principal = Principal(subject="bench-partner", client_id="bench-partner", scopes=frozenset({"org:read"}),
                          tenant=tenant, token_id="bench", expires_at=2**31)

    class FixedPrincipal(AbstractAuthenticationMiddleware):
        async def authenticate_request(self, connection: Any) -> AuthenticationResult:
            require_scopes(principal, connection.scope["route_handler"])
            return AuthenticationResult(user=principal, auth=None)

    return FixedPrincipal
