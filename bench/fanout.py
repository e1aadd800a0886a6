"""A periodic scan over 1,000 tenants: one task walking them one after another (the serial loop
the scans had) against one task per tenant on a real Celery worker (``for_each_tenant``).

    .venv/bin/python bench/fanout.py [--tenants 1000] [--scan complaints.sla_scan] [--concurrency 4]
                                     [--broker redis|database]

Works in a scratch database of its own on DATABASE_URL's server (the embedded server when
unset), with its object store under a temporary directory; both are removed at the end. The
broker is REDIS_URL's server, else Redis on 127.0.0.1:6379 when it answers, else (or with
``--broker database``) the database, through kombu's SQLAlchemy transport as in the embedded
default; on a queue of the run's own, deleted at the end. Steps:

1. ``--tenants`` tenants through ``create_tenant`` (what the platform API and
   ``cornerstone tenants create`` run), ``--creators`` at a time;
2. before: the scan's per-tenant body in every active tenant, one after another in one
   process, a session per tenant: the loop each scan had (timed after one untimed warm-up);
3. after: a worker (``--pool prefork --concurrency N``) started on the scratch database, the
   beat task sent, and the run waited for until its report says every tenant finished
   (timed after one untimed warm-up run, which also proves the worker ready).

It prints both wall times and their ratio. See docs/benchmarks.md for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from _common import (
    VENV_BIN,
    console,
    cpu_seconds,
    machine_load_note,
    scratch_database,
    settle,
    stop_cleanly_on_signals,
)
from _common import progress as _progress

from app.config import PROJECT_ROOT
from app.core.db import libpq_url

SCANS = ("complaints.sla_scan", "grading.recompute_all", "inquiries.handover_switch",
         "archives.clean_expired_uploads", "platform.purge_idempotency_keys", "audit.enforce_retention")
RUN_TIMEOUT = 1800.0  # seconds one fan-out run may take before the bench gives up


def _redis_url() -> str | None:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return "redis://127.0.0.1:6379/15"
    except OSError:
        pass
    return None


async def _create_tenants(db: Any, count: int, creators: int) -> None:
    from app.core.audit import Actor
    from app.tenants.schemas import TenantCreate
    from app.tenants.services import create_tenant

    actor = Actor(kind="operator", id="bench")
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(f"bench_{i:05d}")
    with _progress() as progress:
        bar = progress.add_task(f"creating {count} tenants ({creators} at once)", total=count)

        async def creator() -> None:
            while not queue.empty():
                slug = queue.get_nowait()
                async with db.platform_transaction() as session:
                    session.info["actor"] = actor
                    await create_tenant(session, TenantCreate(slug=slug, display_name=f"Bench {slug}"))
                progress.advance(bar)

        await asyncio.gather(*(creator() for _ in range(creators)))


class CpuMeter:
    """CPU time (user + system) the run's processes spent: Python's (the given pids) and
    PostgreSQL's (the backends connected to the scratch database). Unlike wall time, it
    barely moves when other work shares the machine."""

    def __init__(self, url: str, python: list[int]) -> None:
        self.url, self.python = url, python

    def _backends(self) -> list[int]:
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
        return [int(pid) for (pid,) in rows]

    def _snapshot(self) -> dict[int, float]:
        return {pid: cpu_seconds([pid]) for pid in [*self.python, *self._backends()]}

    def __enter__(self) -> CpuMeter:
        self.before = self._snapshot()
        return self

    def __exit__(self, *_: Any) -> None:
        after = self._snapshot()
        spent = {pid: cpu - self.before.get(pid, 0.0) for pid, cpu in after.items()}
        self.python_s = sum(v for pid, v in spent.items() if pid in self.python)
        self.postgres_s = sum(v for pid, v in spent.items() if pid not in self.python)

    def line(self, tenants: int) -> str:
        per = 1000 / max(tenants, 1)
        return (f"CPU per tenant {(self.python_s + self.postgres_s) * per:.1f} ms "
                f"(Python {self.python_s * per:.1f}, PostgreSQL {self.postgres_s * per:.1f})")


def _worker_pids(worker: subprocess.Popen[bytes]) -> list[int]:
    """The worker and its pool processes."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(worker.pid)], capture_output=True, text=True)
    return [worker.pid, *(int(line) for line in out.stdout.split())]


async def serial_scan(db: Any, scan: str) -> tuple[float, int, int]:
    """The loop the scans had: every active tenant in turn, in this one process, with the
    same per-tenant body the fan-out runs. Seconds, tenants done, tenants failed."""
    from sqlalchemy import select

    from app.fanout.tasks import FAN_OUTS, BoundTenant
    from app.tenants.models import Tenant, TenantStatus
    from app.worker import celery_app

    celery_app.loader.import_default_modules()  # every task module: every scan declared
    fan = FAN_OUTS[scan]
    started = time.perf_counter()
    async with db.platform_transaction() as session:
        chosen = select(Tenant.slug).where(Tenant.status == TenantStatus.active)
        slugs = (await session.scalars(chosen.where(fan.where) if fan.where is not None else chosen)).all()
    done = failed = 0
    for slug in slugs:
        try:
            await fan.body(BoundTenant(db, slug))
            done += 1
        except Exception as exc:  # noqa: BLE001 - counted and shown; one tenant never stops the others
            console.print(f"[red]{slug} failed[/red]: {exc}")
            failed += 1
    return time.perf_counter() - started, done, failed


async def fanned_out(db: Any, scan: str, worker: subprocess.Popen[bytes], log: Path) -> tuple[float, Any]:
    """Send the beat task and wait until its run's report says every tenant finished."""
    from app.fanout.models import FanoutRun
    from app.worker import celery_app

    started = time.perf_counter()
    run_id = uuid.UUID(celery_app.tasks[scan].apply_async().id)
    while True:
        async with db.platform_session() as session:
            run = await session.get(FanoutRun, run_id)
        if run is not None and run.finished_at is not None:
            return time.perf_counter() - started, run
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited ({worker.returncode}):\n{_tail(log)}")
        if time.perf_counter() - started > RUN_TIMEOUT:
            raise RuntimeError(f"the run did not finish within {RUN_TIMEOUT:.0f} s:\n{_tail(log)}")
        await asyncio.sleep(0.1)


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _start_worker(queue: str, concurrency: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [str(VENV_BIN / "celery"), "-A", "app.worker:celery_app", "worker", "--pool=prefork",
           f"--concurrency={concurrency}", "-Q", queue, "-n", f"{queue}@bench", "--loglevel=WARNING",
           "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with log.open("wb") as out:
        # A session of its own: the worker and its pool processes are stopped as one group.
        return subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # warm shutdown of the worker and its pool
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _delete_queue(queue: str) -> None:
    from app.worker import celery_app

    with celery_app.connection_for_write() as conn:
        bound = celery_app.amqp.queues[queue].bind(conn.default_channel)
        bound.declare()
        bound.delete()


def _report(what: str, seconds: float, tenants: int) -> None:
    console.print(f"{what}: {seconds:.2f} s ({seconds / max(tenants, 1) * 1000:.1f} ms per tenant)")


async def run(url: str, args: argparse.Namespace, queue: str, log: Path) -> None:
    from app.core.db import Database
    from app.tenants.migrations import upgrade_shared
    from app.worker import celery_app

    celery_app.conf.task_default_queue = queue  # the beat task goes to the run's queue, the tenants' follow it
    celery_app.loader.import_default_modules()  # the scans' tasks, as the worker registers them
    db = Database(url, pool_size=args.creators + 2)
    try:
        await upgrade_shared(db)
        started = time.perf_counter()
        await _create_tenants(db, args.tenants, args.creators)
        console.print(f"created {args.tenants} tenants in {time.perf_counter() - started:.1f} s")
        settle(url)

        await serial_scan(db, args.scan)  # warm-up: caches, the first connection of each kind
        with CpuMeter(url, [os.getpid()]) as serial_cpu:
            seconds, done, failed = await serial_scan(db, args.scan)
        _report(f"before: serial loop, one process ({done} done, {failed} failed)", seconds, done + failed)
        console.print(f"       {serial_cpu.line(done + failed)}")

        worker = _start_worker(queue, args.concurrency, log)
        try:
            warm, _ = await fanned_out(db, args.scan, worker, log)  # also proves the worker ready
            console.print(f"(warm-up fan-out, worker start-up included: {warm:.2f} s)")
            with CpuMeter(url, _worker_pids(worker)) as fanout_cpu:
                after, report = await fanned_out(db, args.scan, worker, log)
        finally:
            _stop_worker(worker)
        _report(f"after: one task per tenant, prefork {args.concurrency} ({report.done} done, "
                f"{report.skipped} skipped, {report.failed} failed)", after, report.tenants)
        console.print(f"       {fanout_cpu.line(report.tenants)} (the bench's polling of the report included)")
        in_db = (report.finished_at - report.started_at).total_seconds()
        console.print(f"       the run's own report: started → finished {in_db:.2f} s; totals {report.totals}")
        console.print(f"ratio: the fan-out took {after / seconds:.2f} of the serial loop's time "
                      f"({seconds / after:.2f}× as fast)")
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000, help="active tenants (default 1000)")
    parser.add_argument("--scan", choices=SCANS, default="complaints.sla_scan",
                        help="the periodic task to run (default complaints.sla_scan)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="worker processes (default 4, what a 2-core box would run)")
    parser.add_argument("--creators", type=int, default=4, help="tenants created at once (default 4)")
    parser.add_argument("--broker", choices=("redis", "database"), default="redis",
                        help="redis (when one answers; the default) or the database's own transport")
    args = parser.parse_args()
    if args.tenants < 1 or args.concurrency < 1 or args.creators < 1:
        parser.error("--tenants, --concurrency and --creators must be at least 1")

    stop_cleanly_on_signals()
    console.print(f"{args.tenants} tenants, {args.scan}; {machine_load_note()}")
    data_dir = Path(tempfile.mkdtemp(prefix="cs-bench-fanout-"))
    queue = f"cs-bench-{uuid.uuid4().hex[:12]}"
    log = data_dir / "worker.log"
    try:
        with scratch_database() as url:
            # Read by this process's settings and inherited by the worker, before either reads them.
            os.environ.update({"DATABASE_URL": url, "CORNERSTONE_DATA_DIR": str(data_dir),
                               "CORNERSTONE_LOG_LEVEL": "WARNING"})
            broker = _redis_url() if args.broker == "redis" else None
            os.environ.pop("REDIS_URL", None)
            if broker:
                os.environ["REDIS_URL"] = broker
            console.print(f"broker: {'Redis' if broker else 'the database'}; queue {queue}")
            try:
                asyncio.run(run(url, args, queue, log))
            finally:
                _delete_queue(queue)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
