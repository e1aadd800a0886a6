"""The fan-out of the periodic work over the tenants (app/fanout): one task per active tenant
through the real worker, per-tenant retries, a report an operator reads, and a run that
counts every tenant once however often its tasks are delivered."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from app import tasks
from app.core.audit import Actor, platform_audit
from app.core.clock import utcnow
from app.core.idempotency import tenant_keys
from app.core.ids import new_id
from app.fanout.models import FanoutRun, FanoutTenant, TenantState
from app.fanout.runs import claim, finish, record_failure, start_run
from app.fanout.tasks import BoundTenant, FanOut, run_tenant
from app.tenants.models import Tenant, TenantStatus
from app.tenants.services import change_status, get_tenant
from tests.conftest import bearer
from tests.worker.conftest import Worker, wait_for

RUNS = "/platform/v1/fanout-runs"
PURGE = "platform.purge_idempotency_keys"


async def _suspend(db: Any, slug: str) -> None:
    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        await change_status(session, await get_tenant(session, slug, lock=True), "suspend", "fan-out test")


async def _run(db: Any, run_id: uuid.UUID) -> FanoutRun | None:
    async with db.platform_session() as session:
        return await session.get(FanoutRun, run_id)


async def _remaining(db: Any, run_id: uuid.UUID) -> list[FanoutTenant]:
    async with db.platform_session() as session:
        return list((await session.scalars(select(FanoutTenant).where(FanoutTenant.run_id == run_id)
                                           .order_by(FanoutTenant.tenant))).all())


async def _keys(db: Any, slug: str) -> set[str]:
    async with db.tenant_session(f"t_{slug}") as session:
        return set((await session.scalars(select(tenant_keys.c.key))).all())


async def test_a_scan_reaches_every_active_tenant_and_reports_the_one_that_keeps_failing(
        worker: Worker, db: Any, client: Any, new_tenant: Any, mint: Any, settings: Any) -> None:
    healthy = [await new_tenant("fan_ok") for _ in range(3)]
    suspended, broken = await new_tenant("fan_off"), await new_tenant("fan_bad")
    mark = uuid.uuid4().hex[:8]
    for slug in [*healthy, suspended]:
        async with db.tenant_transaction(f"t_{slug}") as session:
            await session.execute(insert(tenant_keys), [
                {"principal": f"user@{slug}", "key": f"{name}-{mark}", "fingerprint": "f" * 64, "status_code": 201,
                 "created_at": utcnow() - age}
                for name, age in (("expired", timedelta(hours=25)), ("fresh", timedelta(hours=1)))])
    await _suspend(db, suspended)
    # The broken tenant's purge cannot find its table: every attempt fails, in that tenant only.
    async with db.platform_transaction() as session:
        await session.execute(text(f'DROP TABLE "t_{broken}".idempotency_keys'))

    # What the run must reach: every active tenant, and the expired keys it must delete there.
    async with db.platform_session() as session:
        active = set((await session.scalars(select(Tenant.slug).where(Tenant.status == TenantStatus.active))).all())
    assert {*healthy, broken} <= active and suspended not in active
    expired = 0
    for slug in active - {broken}:
        async with db.tenant_session(f"t_{slug}") as session:
            expired += await session.scalar(select(func.count()).select_from(tenant_keys).where(
                tenant_keys.c.created_at < utcnow() - timedelta(hours=24))) or 0
    assert expired >= len(healthy)

    try:
        run_id = uuid.UUID(tasks.purge_idempotency_keys.apply_async().id)

        async def finished() -> FanoutRun | None:
            run = await _run(db, run_id)
            return run if run is not None and run.finished_at is not None else None

        run = await wait_for(worker, finished, "the fan-out run to finish", timeout=120)
        attempts = settings.fanout_retries + 1
        assert (run.task, run.tenants, run.done, run.skipped, run.failed) == (PURGE, len(active), len(active) - 1, 0, 1)
        assert run.totals == {"deleted": expired}
        [failed] = await _remaining(db, run_id)
        assert (failed.tenant, failed.state, failed.attempts) == (broken, TenantState.failed, attempts)
        assert failed.last_error is not None
        assert failed.last_error.startswith("ProgrammingError: ")
        assert f'relation "t_{broken}.idempotency_keys" does not exist' in failed.last_error
        assert "[SQL:" not in failed.last_error and "parameters" not in failed.last_error

        # Every active tenant was reached, in its own schema; the suspended one was not.
        for slug in healthy:
            assert await _keys(db, slug) == {f"fresh-{mark}"}, slug
        assert await _keys(db, suspended) == {f"expired-{mark}", f"fresh-{mark}"}
        # Celery ran the broken tenant's task once and retried it the configured number of times.
        retried = [line for line in worker.log.read_text(errors="replace").splitlines()
                   if "retry: Retry in" in line and f"t_{broken}.idempotency_keys" in line]
        assert len(retried) == settings.fanout_retries, worker.tail()
        async with db.platform_session() as session:
            audited = (await session.scalars(select(platform_audit.c.after).where(
                platform_audit.c.action == "fanout.tenant.fail", platform_audit.c.entity_id == str(run_id)))).all()
        assert [(a["task"], a["tenant"], a["attempts"]) for a in audited] == [(PURGE, broken, attempts)]

        # The operator's view of it.
        operator = bearer(mint())
        shown = await client.get(f"{RUNS}/{run_id}", headers=operator)
        assert shown.status_code == 200, shown.text
        body = shown.json()
        assert (body["tenants"], body["done"], body["failed"], body["pending"]) == (len(active), len(active) - 1, 1, 0)
        assert [(t["tenant"], t["state"], t["attempts"]) for t in body["remaining"]] == [(broken, "failed", attempts)]
        assert body["remaining"][0]["lastError"] == failed.last_error
        listed = await client.get(RUNS, params={"task": PURGE, "failed": "true"}, headers=operator)
        assert listed.status_code == 200, listed.text
        assert str(run_id) in [r["id"] for r in listed.json()["items"]]
        clean = await client.get(RUNS, params={"task": PURGE, "failed": "false"}, headers=operator)
        assert str(run_id) not in [r["id"] for r in clean.json()["items"]]
    finally:
        await _suspend(db, broken)  # later scans in this test run leave it alone


async def test_a_redelivered_task_is_counted_once(db: Any, new_tenant: Any) -> None:
    a, b, c = sorted([await new_tenant("fan_re") for _ in range(3)])
    calls: list[str] = []

    async def body(tenant: BoundTenant) -> Mapping[str, int]:
        calls.append(tenant.slug)
        async with tenant.transaction() as session:  # bound to its own tenant, nothing else
            assert session.info["tenant_schema"] == f"t_{tenant.slug}"
        return {"seen": 1}

    fan = FanOut(name=f"test.fanout.{uuid.uuid4().hex[:8]}", body=body)
    run_id, where = new_id(), Tenant.slug.in_([a, b, c])
    assert await start_run(db, fan.name, run_id, where) == [a, b, c]
    # The beat task redelivered: the same run, its tenants not started yet, no second row each.
    assert await start_run(db, fan.name, run_id, where) == [a, b, c]

    assert await run_tenant(db, fan, run_id, a) == "done"
    assert await run_tenant(db, fan, run_id, a) == "finished"  # redelivered after it finished: nothing
    # b's first delivery was lost mid-body (its row says running); the redelivery runs it, and the
    # lost delivery's late finish is not counted again.
    assert await claim(db, run_id, b, 1) is True
    assert await run_tenant(db, fan, run_id, b) == "done"
    assert await finish(db, run_id, b, {"seen": 1}) is False
    # c fails for good; a repeat of its last failure, or a late delivery, neither recounts nor reruns it.
    assert await record_failure(db, fan.name, run_id, c, 4, "RuntimeError: boom", final=True) is True
    assert await record_failure(db, fan.name, run_id, c, 4, "RuntimeError: boom", final=True) is False
    assert await run_tenant(db, fan, run_id, c) == "finished"

    run = await _run(db, run_id)
    assert run is not None and run.finished_at is not None
    assert (run.tenants, run.done, run.skipped, run.failed, run.pending) == (3, 2, 0, 1, 0)
    assert run.totals == {"seen": 2}
    assert calls == [a, b]
    assert [(r.tenant, r.state, r.attempts, r.last_error) for r in await _remaining(db, run_id)] == [
        (c, TenantState.failed, 4, "RuntimeError: boom")]


async def test_a_tenant_suspended_after_the_run_started_is_skipped(db: Any, new_tenant: Any) -> None:
    slug = await new_tenant("fan_sk")
    calls: list[str] = []

    async def body(tenant: BoundTenant) -> Mapping[str, int]:
        calls.append(tenant.slug)
        return {}

    fan = FanOut(name=f"test.fanout.{uuid.uuid4().hex[:8]}", body=body)
    run_id = new_id()
    assert await start_run(db, fan.name, run_id, Tenant.slug == slug) == [slug]
    await _suspend(db, slug)
    assert await run_tenant(db, fan, run_id, slug) == "skipped"
    run = await _run(db, run_id)
    assert run is not None and (run.done, run.skipped, run.failed, run.pending) == (0, 1, 0, 0)
    assert run.finished_at is not None and calls == []


async def test_the_report_is_for_operators_only(client: Any, new_tenant: Any, mint: Any) -> None:
    missing = await client.get(f"{RUNS}/{uuid.uuid4()}", headers=bearer(mint()))
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["type"] == "urn:cornerstone:problem:not-found"
    slug = await new_tenant("fan_tok")
    refused = await client.get(RUNS, headers=bearer(mint(tenant=slug)))
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    bad = await client.get(RUNS, params={"sort": "tenants"}, headers=bearer(mint()))
    assert bad.status_code in (400, 422) and bad.headers["content-type"].startswith("application/problem+json")
