"""``for_each_tenant``: a beat task that sends one Celery task per active tenant.

``for_each_tenant(name, body)`` registers two tasks:

- ``name``, the beat task: it records the run (``app.fanout.runs.start_run``), commits, and
  sends one task per tenant as a Celery ``group``, to the queue it came from itself;
- ``name + ".tenant"``: runs ``body(tenant)``, where ``tenant`` is a :class:`BoundTenant`:
  the tenant's slug, and ``tenant.transaction()``, a new session bound to that tenant alone
  (``app.worker.bound_session``) in a transaction committed at the end of the block. A body
  working in batches takes one per batch (short transactions, fresh reads). A failure is retried
  ``CORNERSTONE_FANOUT_RETRIES`` times, the first after ``CORNERSTONE_FANOUT_RETRY_DELAY``
  seconds, each next one twice as late (10 minutes at most); then the tenant is reported
  failed with its last error. No tenant waits for another: each is a task of its own.

There is no result backend (job state lives in tables), so nothing here reads the group's
results: the tenants' tasks write the report themselves (app/fanout/runs.py). Bodies are
idempotent: a redelivery after the body committed but before the report did runs it again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from celery import Task, group
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.core.db import Database
from app.core.ids import new_id
from app.fanout import runs
from app.worker import TenantTask, bound_session, celery_app, run_in_worker

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 600.0  # seconds
EACH_SUFFIX = ".tenant"



@dataclass(frozen=True)
class BoundTenant:
    """The tenant a body works in: its slug, and sessions bound to it and to nothing else."""

    db: Database
    slug: str
    task_id: str | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A new session bound to the tenant, acting as the system, in a transaction that
        commits when the block ends (and rolls back when it raises)."""
        async with bound_session(self.db, self.slug, self.task_id) as session, session.begin():
            yield session


# The work in one tenant; the counts it returns are added up over the run.
TenantBody = Callable[[BoundTenant], Awaitable[Mapping[str, int]]]
PlatformWork = Callable[[Database], Awaitable[Mapping[str, int]]]


@dataclass(frozen=True)
class FanOut:
    name: str
    body: TenantBody
    where: ColumnElement[bool] | None = None  # which active tenants (None: all)
    once: PlatformWork | None = None  # platform-wide work the beat task does itself, once per run


def retry_delay(retries: int) -> float:
    """Seconds before retry number ``retries + 1``."""
    return float(min(get_settings().fanout_retry_delay * 2**retries, MAX_RETRY_DELAY))


def describe(exc: BaseException) -> str:
    """The error for the report: its type and message, without the statement and parameters
    SQLAlchemy appends (the parameters may be the tenant's data; the worker's log has them)."""
    message = str(exc).split("\n[SQL:", 1)[0].strip()
    return f"{type(exc).__name__}: {message}"


# The declarations, by beat task name (the benchmark runs a body directly).
FAN_OUTS: dict[str, FanOut] = {}


def _run_id(task_id: str | None) -> uuid.UUID:
    # The run is named after its beat task, so a redelivery finds it instead of starting another.
    if not task_id:
        return new_id()
    try:
        return uuid.UUID(task_id)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_OID, task_id)


def _same_queue(task: Task[Any, Any]) -> dict[str, Any]:
    """Send to the queue ``task`` came from: a worker consuming a queue other than its
    default one (``-Q``) would otherwise send the tenants' tasks, and Celery its retries, to
    the default. (Celery's queues are direct: the routing key names the queue.)"""
    queue = (task.request.delivery_info or {}).get("routing_key")
    return {"queue": queue} if queue else {}


async def run_tenant(db: Database, fan: FanOut, run_id: uuid.UUID, tenant: str, *, attempt: int = 1,
                     task_id: str | None = None) -> str:
    """One attempt at one tenant; what became of it: ``done``, ``skipped`` (no longer
    active) or ``finished`` (another delivery had finished it). The body's exception
    propagates (what its transactions committed stays: bodies are idempotent)."""
    should_run = await runs.claim(db, run_id, tenant, attempt)
    if should_run is None:
        return "finished"
    counts: Mapping[str, int] | None = None
    if should_run:
        counts = await fan.body(BoundTenant(db, tenant, task_id))
    if not await runs.finish(db, run_id, tenant, counts):
        return "finished"
    return "done" if should_run else "skipped"


def for_each_tenant(name: str, body: TenantBody, *, where: ColumnElement[bool] | None = None,
                    once: PlatformWork | None = None) -> Any:
    """Register the beat task ``name`` running ``body`` in every active tenant (those
    ``where`` also selects), one task per tenant; returns the beat task (``FAN_OUTS[name]``
    holds the declaration)."""
    fan = FAN_OUTS[name] = FanOut(name=name, body=body, where=where, once=once)

    @celery_app.task(name=name + EACH_SUFFIX, base=TenantTask, bind=True)
    def each(self: Task[Any, Any], *, tenant: str, run_id: str) -> str:
        run = uuid.UUID(run_id)
        attempt = self.request.retries + 1
        retries = get_settings().fanout_retries
        try:
            return run_in_worker(lambda db: run_tenant(db, fan, run, tenant, attempt=attempt,
                                                       task_id=self.request.id))
        except Exception as exc:
            final = self.request.retries >= retries
            error = describe(exc)
            try:
                run_in_worker(lambda db: runs.record_failure(db, name, run, tenant, attempt, error, final=final))
            except Exception:  # noqa: BLE001 - the retry still happens, and the log says why
                log.exception("%s: recording the failure of tenant %s failed", name, tenant)
            if final:
                log.error("%s: tenant %s failed after %d attempts: %s", name, tenant, attempt, error)
                raise
            raise self.retry(exc=exc, countdown=retry_delay(self.request.retries), max_retries=retries,
                             **_same_queue(self)) from exc

    @celery_app.task(name=name, bind=True)
    def start(self: Task[Any, Any]) -> dict[str, Any]:
        run_id = _run_id(self.request.id)
        tenants = run_in_worker(lambda db: runs.start_run(db, name, run_id, where))
        if tenants:
            group(each.s(tenant=t, run_id=str(run_id)) for t in tenants).apply_async(**_same_queue(self))
        report: dict[str, Any] = {"run": str(run_id), "sent": len(tenants)}
        if once is not None:
            report.update(run_in_worker(once))
        return report

    return start
