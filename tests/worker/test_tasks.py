"""Background jobs on a real worker: each task runs under its own tenant, progress and
results are visible through the API, effects are idempotent, nothing is sent for a
rolled-back transaction, and expired idempotency keys are purged everywhere.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from app import tasks
from app.core.audit import SYSTEM, Actor, tenant_audit
from app.core.clock import utcnow
from app.core.idempotency import platform_keys, tenant_keys
from app.core.jobs import Job, JobError, JobStatus, create_job, run_job
from app.domains.org.models import NodeKind, OrgNode
from app.worker import enqueue_after_commit
from tests.conftest import bearer, subject_of
from tests.worker.conftest import Worker, finished_job, start_export, wait_for


async def _tenant_with_branches(client: Any, new_tenant: Any, mint: Any, prefix: str,
                                branches: dict[str, str]) -> tuple[str, dict[str, str]]:
    slug = await new_tenant(prefix)
    auth = bearer(mint(tenant=slug))
    for code, name in branches.items():
        created = await client.post("/api/v1/org/branches", json={"code": code, "name": name}, headers=auth)
        assert created.status_code == 201, created.text
    return slug, auth


async def _poll_job(client: Any, worker: Worker, url: str, auth: dict[str, str]) -> Any:
    async def probe() -> Any:
        answer = await client.get(url, headers=auth)
        assert answer.status_code == 200, answer.text
        return answer if answer.json()["status"] in ("succeeded", "failed") else None

    return await wait_for(worker, probe, url)


async def _audit_actions(db: Any, slug: str, job_id: Any) -> list[str]:
    async with db.tenant_session(f"t_{slug}") as session:
        return list((await session.scalars(
            select(tenant_audit.c.action).where(tenant_audit.c.entity_type == "job",
                                                tenant_audit.c.entity_id == str(job_id))
            .order_by(tenant_audit.c.occurred_at)
        )).all())


async def _job(db: Any, slug: str, job_id: Any) -> Job | None:
    async with db.tenant_session(f"t_{slug}") as session:
        return await session.get(Job, job_id)


A_BRANCHES = {"A-EAST": "East of A", "A-WEST": "West of A"}
B_BRANCHES = {"B-NORTH": "North of B", "B-SOUTH": "South of B", "B-CENTRE": "Centre of B"}


async def test_each_export_runs_under_its_own_tenant(client: Any, worker: Worker, db: Any, new_tenant: Any,
                                                     mint: Any) -> None:
    a, a_auth = await _tenant_with_branches(client, new_tenant, mint, "job_a", A_BRANCHES)
    b, b_auth = await _tenant_with_branches(client, new_tenant, mint, "job_b", B_BRANCHES)

    # Back to back on the one worker: B's task runs right after A's, on the same process.
    started_a = await client.post("/api/v1/org/branches/export", headers=a_auth)
    started_b = await client.post("/api/v1/org/branches/export", headers=b_auth)
    for started in (started_a, started_b):
        assert started.status_code == 202, started.text
        body = started.json()
        assert body["status"] == "queued" and body["progress"] == 0 and body["kind"] == "org.export_branches"
        assert started.headers["location"] == f"/api/v1/jobs/{body['id']}"

    done_a = await _poll_job(client, worker, started_a.headers["location"], a_auth)
    done_b = await _poll_job(client, worker, started_b.headers["location"], b_auth)
    for done, branches in ((done_a, A_BRANCHES), (done_b, B_BRANCHES)):
        job = done.json()
        assert job["status"] == "succeeded", job
        assert job["result"] == {"rows": [{"code": c, "name": branches[c]} for c in sorted(branches)]}
        assert job["progress"] == 100 and job["done"] == job["total"] == len(branches)
        assert job["error"] is None and job["requestedBy"] == subject_of(a_auth if branches is A_BRANCHES else b_auth)
        assert job["createdAt"] <= job["startedAt"] <= job["finishedAt"]
        assert done.headers["etag"] == f'"{job["version"]}"'

    assert await _audit_actions(db, a, started_a.json()["id"]) == ["job.create", "job.start", "job.succeed"]
    assert await _audit_actions(db, b, started_b.json()["id"]) == ["job.create", "job.start", "job.succeed"]


async def test_a_job_is_seen_only_by_its_requester_in_its_tenant(client: Any, db: Any, new_tenant: Any,
                                                                 mint: Any) -> None:
    a = await new_tenant("jobsee_a")
    b = await new_tenant("jobsee_b")
    started = await client.post("/api/v1/org/branches/export", headers=bearer(mint(tenant=a)))
    url = started.headers["location"]
    assert (await client.get(url, headers=bearer(mint(tenant=a)))).status_code == 200

    # Even with A's subject: B's session is bound to B's schema, where the job is not.
    other_tenant = await client.get(url, headers=bearer(mint(tenant=b, subject=f"user@{a}")))
    assert other_tenant.status_code == 404
    assert other_tenant.json()["type"] == "urn:cornerstone:problem:not-found"
    other_user = await client.get(url, headers=bearer(mint(tenant=a, subject="someone-else@test")))
    assert other_user.status_code == 404
    no_scope = await client.get(url, headers=bearer(mint(tenant=a, scopes=["org:read"])))
    assert no_scope.status_code == 403


async def test_export_accepts_idempotency_key(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("jobidem")
    auth = bearer(mint(tenant=slug), **{"Idempotency-Key": "export-1"})
    first = await client.post("/api/v1/org/branches/export", headers=auth)
    again = await client.post("/api/v1/org/branches/export", headers=auth)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    async with db.tenant_session(f"t_{slug}") as session:
        assert len((await session.scalars(select(Job.id))).all()) == 1


async def test_progress_is_published_while_the_work_runs(client: Any, db: Any, new_tenant: Any,
                                                         mint: Any) -> None:
    slug = await new_tenant("jobprog")
    auth = bearer(mint(tenant=slug, subject=f"user@{slug}"))  # the job's requester (jobs need no role)
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = Actor(kind="user", id=f"user@{slug}")
        job_id = (await create_job(session, "test.progress")).id
    url = f"/api/v1/jobs/{job_id}"
    seen: list[dict[str, Any]] = []

    async def work(progress: Any) -> dict[str, Any]:
        await progress.report(1, 4)
        seen.append((await client.get(url, headers=auth)).json())  # another session, mid-run
        await progress.report(3)
        seen.append((await client.get(url, headers=auth)).json())
        return {"answer": 42}

    # As a task runs it: in a transaction of its own that commits when the work returns.
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        assert await run_job(session, job_id, "test.progress", work)
        before_commit = (await client.get(url, headers=auth)).json()

    assert [(s["status"], s["progress"], s["done"], s["total"]) for s in seen] == [
        ("running", 25, 1, 4), ("running", 75, 3, 4)]
    assert seen[0]["startedAt"] is not None and seen[0]["finishedAt"] is None
    assert before_commit["status"] == "running"  # the result commits with the task's effects
    job = (await client.get(url, headers=auth)).json()
    assert (job["status"], job["progress"], job["result"]) == ("succeeded", 100, {"answer": 42})

    # Run again (a redelivery): nothing happens.
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        assert not await run_job(session, job_id, "test.progress", work)
    assert (await client.get(url, headers=auth)).json() == job


@pytest.mark.parametrize(("raised", "message"), [
    (JobError("row 3: the code is missing"), "row 3: the code is missing"),
    (ZeroDivisionError("internal detail"), "The job failed unexpectedly; the error was logged."),
])
async def test_a_failed_job_keeps_no_effects(db: Any, new_tenant: Any, raised: Exception, message: str) -> None:
    slug = await new_tenant("jobfail")
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        job_id = (await create_job(session, "test.fail")).id

    async def work(progress: Any) -> None:
        task_session.add(OrgNode(kind=NodeKind.branch, parent_id=None, path="x", depth=1, code="HALF", name="half"))
        await task_session.flush()  # a partial effect in the task's transaction
        await progress.report(1, 2)
        raise raised

    with pytest.raises(type(raised)):
        async with db.tenant_transaction(f"t_{slug}") as task_session:
            task_session.info["actor"] = SYSTEM
            await run_job(task_session, job_id, "test.fail", work)

    job = await _job(db, slug, job_id)
    assert job is not None and job.status is JobStatus.failed and job.error == message
    assert job.finished_at is not None and job.result is None
    async with db.tenant_session(f"t_{slug}") as session:
        assert await session.scalar(select(OrgNode.id).where(OrgNode.code == "HALF")) is None
    assert await _audit_actions(db, slug, job_id) == ["job.create", "job.start", "job.fail"]


async def test_redelivered_or_misdirected_task_changes_nothing(worker: Worker, db: Any, new_tenant: Any) -> None:
    a = await new_tenant("jobredo_a")
    b = await new_tenant("jobredo_b")
    job_id = await start_export(db, a)
    first = await finished_job(db, worker, a, job_id)
    assert first.status is JobStatus.succeeded

    await start_export(db, a, job_id=job_id)  # redelivery of a finished job
    await start_export(db, b, job_id=job_id)  # A's job id under B's tenant: unknown there
    # The one worker takes messages in order: once this one is done, the two above are too.
    assert (await finished_job(db, worker, a, await start_export(db, a))).status is JobStatus.succeeded

    again = await _job(db, a, job_id)
    assert again is not None
    assert (again.version, again.finished_at, again.result) == (first.version, first.finished_at, first.result)
    assert await _audit_actions(db, a, job_id) == ["job.create", "job.start", "job.succeed"]
    assert await _job(db, b, job_id) is None


async def test_nothing_is_sent_for_a_rolled_back_transaction(worker: Worker, db: Any, new_tenant: Any) -> None:
    slug = await new_tenant("jobroll")
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        parked = (await create_job(session, tasks.EXPORT_BRANCHES)).id  # committed, never enqueued

    async with db.tenant_session(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        await session.begin()
        doomed = (await create_job(session, tasks.EXPORT_BRANCHES)).id
        enqueue_after_commit(session, tasks.export_branches, tenant=slug, job_id=str(parked))
        enqueue_after_commit(session, tasks.export_branches, tenant=slug, job_id=str(doomed))
        await session.rollback()

    # A job sent after the rollback finishing proves the worker has drained what came before.
    assert (await finished_job(db, worker, slug, await start_export(db, slug))).status is JobStatus.succeeded
    still = await _job(db, slug, parked)
    assert still is not None and still.status is JobStatus.queued and still.version == 1
    assert await _job(db, slug, doomed) is None

    # The parked job was runnable all along: enqueued after a commit, it runs.
    assert (await finished_job(db, worker, slug, await start_export(db, slug, job_id=parked))).status \
        is JobStatus.succeeded


async def test_purge_removes_only_expired_idempotency_keys(worker: Worker, db: Any, new_tenant: Any) -> None:
    tenants = [await new_tenant("purge_a"), await new_tenant("purge_b")]
    mark = uuid.uuid4().hex[:8]
    now = utcnow()
    ages = {"expired": timedelta(hours=25), "fresh": timedelta(hours=23)}

    def rows(principal: str) -> list[dict[str, Any]]:
        return [{"principal": principal, "key": f"{name}-{mark}", "fingerprint": "f" * 64, "status_code": 202,
                 "created_at": now - age} for name, age in ages.items()]

    async with db.platform_transaction() as session:
        await session.execute(insert(platform_keys), rows("operator@test"))
    for slug in tenants:
        async with db.tenant_transaction(f"t_{slug}") as session:  # backdated through the bound session
            await session.execute(insert(tenant_keys), rows(f"user@{slug}"))

    async def keys() -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        async with db.platform_session() as session:
            found["platform"] = set((await session.scalars(
                select(platform_keys.c.key).where(platform_keys.c.key.endswith(mark)))).all())
        for slug in tenants:
            async with db.tenant_session(f"t_{slug}") as session:
                found[slug] = set((await session.scalars(select(tenant_keys.c.key))).all())
        return found

    assert all(found == {f"expired-{mark}", f"fresh-{mark}"} for found in (await keys()).values())
    tasks.purge_idempotency_keys.apply_async()

    async def purged() -> dict[str, set[str]] | None:
        found = await keys()
        return found if not any(f"expired-{mark}" in k for k in found.values()) else None

    assert await wait_for(worker, purged, "the purge") == {name: {f"fresh-{mark}"} for name in ["platform", *tenants]}
    async with db.tenant_session(f"t_{tenants[0]}") as session:
        purges = (await session.scalars(
            select(tenant_audit.c.after).where(tenant_audit.c.action == "idempotency.purge"))).all()
    assert [p["deleted"] for p in purges] == [1]
