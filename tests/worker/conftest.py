"""A real Celery worker for this test run: a subprocess on the run's broker and database.

The run gets a queue of its own, so the worker never takes a message sent by another run
on the same Redis (which would name another run's database), and nothing a crashed run
left behind can reach it. Senders in this process route to that queue from collection on,
before any test can send.

The ``worker`` fixture itself is in tests/conftest.py, so that tests of any directory (a
domain's import jobs, for one) share this one worker process.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.conftest import QUEUE

NODE = f"{QUEUE}@cornerstone-test"
WAIT = 30.0  # seconds a job may take to finish
# Seconds for the worker process to start and run its first job: importing Celery and the app
# takes most of it, and a run under xdist starts its workers' processes at the same time.
START = 120.0


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


async def wait_for(worker: Worker, probe: Any, what: str, timeout: float = WAIT) -> Any:  # noqa: ASYNC109 - a deadline over many polls, each awaited briefly
    """Poll ``probe()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        worker.alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; worker log:\n{worker.tail()}")
        await asyncio.sleep(0.1)


async def finished_job(db: Any, worker: Worker, slug: str, job_id: Any, within: float = WAIT) -> Any:
    """The job once the worker has finished it (read with the tenant's own session)."""
    from app.core.jobs import Job, JobStatus

    async def probe() -> Any:
        async with db.tenant_session(f"t_{slug}") as session:
            job = await session.get(Job, job_id)
        return job if job is not None and job.status in (JobStatus.succeeded, JobStatus.failed) else None

    return await wait_for(worker, probe, f"job {job_id} of {slug}", within)


async def start_export(db: Any, slug: str, *, commit: bool = True, job_id: Any = None) -> Any:
    """Enqueue an export the way the API does (after commit); a new job unless ``job_id``."""
    from app import tasks
    from app.core.audit import SYSTEM
    from app.core.jobs import create_job
    from app.worker import enqueue_after_commit

    async with db.tenant_session(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        await session.begin()
        if job_id is None:
            job_id = (await create_job(session, tasks.EXPORT_BRANCHES)).id
        enqueue_after_commit(session, tasks.export_branches, tenant=slug, job_id=str(job_id))
        await (session.commit() if commit else session.rollback())
    return job_id
