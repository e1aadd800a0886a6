"""The embedded default's broker: with no REDIS_URL, a real worker takes its tasks from the
database itself (kombu's SQLAlchemy transport) and runs them.

The suite's shared worker uses Redis whenever one answers on loopback, so this path gets a
worker of its own, started with REDIS_URL removed from its environment, as `make run`
starts it on a machine without Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from celery import Celery

from app import tasks
from app.config import PROJECT_ROOT
from app.core.audit import SYSTEM
from app.core.broker import broker_transport_options, broker_url
from app.core.jobs import create_job
from app.worker import LONGEST_TASK
from tests.worker.conftest import Worker, finished_job

QUEUE = f"cs-test-db-{uuid.uuid4().hex[:12]}"
# The worker takes the queue from the command line; its default queue is the one it sends to.
_WORKER = (
    "import os, sys\n"
    "from app.worker import celery_app\n"
    "celery_app.conf.task_default_queue = os.environ['CORNERSTONE_TEST_QUEUE']\n"
    "sys.exit(celery_app.worker_main(sys.argv[1:]))\n"
)


@pytest.fixture(scope="module")
def database_broker_worker(db: Any, output_dir: Path) -> Iterator[Worker]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["CORNERSTONE_TEST_QUEUE"] = QUEUE
    log = output_dir / f"worker-{QUEUE}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", _WORKER, "worker", "--pool=solo", "--concurrency=1", "-Q", QUEUE,
             "-n", f"{QUEUE}@cornerstone-test", "--loglevel=INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        yield Worker(process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def test_a_worker_on_the_database_broker_runs_a_tenant_task(
        db: Any, new_tenant: Any, settings: Any, database_broker_worker: Worker) -> None:
    without_redis = msgspec.structs.replace(settings, redis_url=None)
    url = broker_url(without_redis, os.environ["DATABASE_URL"])
    assert url.startswith("sqla+postgresql"), url
    sender = Celery("sender", broker=url)
    # The same options the app's own Celery gets: the transport must accept them.
    sender.conf.broker_transport_options = broker_transport_options(without_redis, LONGEST_TASK)

    slug = await new_tenant("dbbroker")
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        job_id = (await create_job(session, tasks.EXPORT_BRANCHES)).id
    sender.send_task(tasks.EXPORT_BRANCHES, kwargs={"tenant": slug, "job_id": str(job_id)}, queue=QUEUE)

    job = await finished_job(db, database_broker_worker, slug, job_id)
    assert job.status.value == "succeeded", job.error
    assert job.result == {"rows": []}  # a new tenant has no branches
    assert "sqla+postgresql" in database_broker_worker.log.read_text(errors="replace")
