"""The Celery application and the tenant-aware base task.

Every task takes its tenant explicitly and runs its body inside a session bound to that
tenant and to nothing else: the binding is made from the task's own argument at the start
of each run and dropped at its end, so a task can never run under the tenant of the task
before it on the same worker. Delivery is at-least-once (acks late, requeue on a lost
worker), so task bodies are written to be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from celery import Celery, Task
from celery.signals import worker_init, worker_process_shutdown
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.core.audit import SYSTEM
from app.core.broker import broker_transport_options, broker_url
from app.core.db import Database, resolve_database_url
from app.core.manifest import Beat
from app.domains import declared, domains, load
from app.tenants.models import schema_name, slug_problem

log = logging.getLogger(__name__)
T = TypeVar("T")

LONGEST_TASK = 3600  # seconds; the broker's visibility timeout must exceed it


# The platform's own task modules and periodic tasks; each domain declares its own.
PLATFORM_TASKS = ["app.tasks", "app.auth.outbox"]
PLATFORM_BEAT = {
    "purge-idempotency-keys": Beat("platform.purge_idempotency_keys", 3600.0),
    # Rate-limit and sign-in counters kept in the database (no Redis) once they expire.
    "purge-counters": Beat("platform.purge_counters", 3600.0),
    "resend-outbox": Beat("outbox.resend", 60.0),
    # Spare tenant schemas rebuilt soon after creations took them or a deploy made them stale.
    "tenants-prepare-spares": Beat("tenants.prepare_spares", 60.0),
}


def beat_schedule() -> dict[str, dict[str, Any]]:
    entries = declared("beat entries", lambda d: d.beat, first=PLATFORM_BEAT)
    return {name: {"task": beat.task, "schedule": beat.every} for name, beat in entries.items()}


def make_celery() -> Celery:
    settings = get_settings()
    url = resolve_database_url(settings)
    celery = Celery("cornerstone", broker=broker_url(settings, url),
                    include=[*PLATFORM_TASKS, *(m for domain in domains() for m in domain.tasks)])
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # job state lives in the tenant's jobs table
        broker_transport_options=broker_transport_options(settings, LONGEST_TASK),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
        beat_schedule=beat_schedule(),
    )
    return celery


celery_app = make_celery()


class _Runtime:
    """One event loop and one database pool per worker process, made on first use."""

    loop: asyncio.AbstractEventLoop | None = None
    db: Database | None = None

    @classmethod
    def run(cls, factory: Callable[[Database], Awaitable[T]]) -> T:
        if cls.loop is None:
            cls.loop = asyncio.new_event_loop()
        if cls.db is None:
            settings = get_settings()
            cls.db = Database(resolve_database_url(settings), pool_size=2)
        return cls.loop.run_until_complete(factory(cls.db))

    @classmethod
    def close(cls) -> None:
        if cls.loop is not None and cls.db is not None:
            cls.loop.run_until_complete(cls.db.dispose())
        cls.db = None


@worker_init.connect
def _load_domains(**_: Any) -> None:
    # Tasks may reach any domain's registrations (approval request types, permissions…):
    # complete them before the first task runs, as the API does at start.
    load()


@worker_process_shutdown.connect
def _close_runtime(**_: Any) -> None:
    _Runtime.close()


def run_in_worker(factory: Callable[[Database], Awaitable[T]]) -> T:
    return _Runtime.run(factory)


class TenantTask(Task[Any, Any]):
    """Base for tenant tasks: ``tenant`` is a required keyword argument.

    Write the body as ``async def body(session, **kwargs)`` and register it with
    :func:`tenant_task`; it receives a session bound to that tenant, in a transaction that
    commits when the body returns.
    """

    abstract = True


@asynccontextmanager
async def bound_session(db: Database, tenant: str, task_id: str | None) -> AsyncIterator[AsyncSession]:
    """A new session bound to ``tenant`` alone, acting as the system for task ``task_id``:
    every run of a tenant task makes its own from its own argument, never reusing another's."""
    if slug_problem(tenant):
        raise ValueError(f"invalid tenant {tenant!r}")
    async with db.tenant_session(schema_name(tenant)) as session:
        session.info["actor"] = SYSTEM
        session.info["task_id"] = task_id
        yield session


def tenant_task(name: str, **options: Any) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    def register(body: Callable[..., Awaitable[Any]]) -> Any:
        @celery_app.task(name=name, base=TenantTask, bind=True, **options)
        def run(self: Task[Any, Any], *, tenant: str, **kwargs: Any) -> Any:
            if slug_problem(tenant):
                raise ValueError(f"invalid tenant {tenant!r}")

            async def bound(db: Database) -> Any:
                async with bound_session(db, tenant, self.request.id) as session, session.begin():
                    return await body(session, **kwargs)

            return run_in_worker(bound)

        return run

    return register


def enqueue_after_commit(session: AsyncSession, task: Any, **kwargs: Any) -> None:
    """Send ``task`` once the session's outermost transaction commits; never when it rolls
    back. A savepoint rolling back inside it does not cancel the send."""
    sync_session = session.sync_session
    root = sync_session.get_transaction()
    if root is None:
        raise RuntimeError("enqueue_after_commit needs an open transaction")
    pending = True

    def send(_: Any) -> None:
        nonlocal pending
        if pending:
            pending = False
            task.apply_async(kwargs=kwargs)

    def end(_: Any, transaction: Any) -> None:
        nonlocal pending
        # after_commit fires before the outermost transaction ends; reaching its end with
        # the send still pending means it rolled back.
        if transaction is root:
            pending = False

    event.listen(sync_session, "after_commit", send)
    event.listen(sync_session, "after_transaction_end", end)
