"""The audit trail's background work on a real worker: the CSV export job (filtered rows,
BOM, download) and the daily retention purge (only where a tenant's policy says so)."""

from __future__ import annotations

import csv
import io
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import insert, select

from app.core.audit import tenant_audit
from app.core.db import libpq_url
from app.core.ids import new_id
from app.domains.audit import services, tasks
from tests.conftest import bearer
from tests.grants import grant
from tests.worker.conftest import Worker, wait_for

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


async def _auditor(db: Any, mint: Any, slug: str) -> tuple[str, dict[str, str]]:
    account = str(uuid.uuid4())
    await grant(db, slug, account, ["audit.read"])
    return account, bearer(mint(tenant=slug, subject=account))


async def _poll(client: Any, worker: Worker, url: str, auth: dict[str, str]) -> dict[str, Any]:
    async def probe() -> Any:
        job = (await client.get(url, headers=auth)).json()
        return job if job["status"] in ("succeeded", "failed") else None

    return await wait_for(worker, probe, url)


async def test_export_produces_the_filtered_rows_as_a_csv_with_a_bom(client: Any, worker: Worker, db: Any,
                                                                     new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("audexp")
    account, auth = await _auditor(db, mint, slug)
    kind = f"customer_{uuid.uuid4().hex[:6]}"
    rows = [  # the three in the window, in time order, then two outside it
        dict(occurred_at=T0, actor_kind="user", actor_id="张三", client_id="crm-web", action="customer.update",
             entity_type=kind, entity_id="C-001", before={"name": "王五", "phone": "138"},
             after={"phone": "139", "name": "王五"}, reason="客户要求更正电话", request_id="r-1", ip="10.0.0.1"),
        dict(occurred_at=T0 + timedelta(hours=1), actor_kind="user", actor_id="李四", action="customer.delete",
             entity_type=kind, entity_id="C-002", before={"name": "赵六"}, reason='=HYPERLINK("http://x","y")'),
        dict(occurred_at=T0 + timedelta(hours=2), actor_kind="system", actor_id="system",
             action="customer.merge", entity_type=kind, entity_id="-C-003",
             reason="line one\nline two, \"quoted\""),
        dict(occurred_at=T0 - timedelta(days=1), actor_kind="user", actor_id="张三", action="customer.update",
             entity_type=kind, entity_id="C-000"),
        dict(occurred_at=T0 + timedelta(hours=1), actor_kind="user", actor_id="张三", action="customer.update",
             entity_type=f"{kind}_other", entity_id="C-001"),
    ]
    ids = [new_id() for _ in rows]
    async with db.tenant_transaction(f"t_{slug}") as session:
        for record_id, row in zip(ids, rows, strict=True):
            await session.execute(insert(tenant_audit).values(id=record_id, **row))

    body = {"entityType": kind, "from": "2026-03-01T00:00:00+08:00", "to": "2026-03-02T00:00:00+08:00"}
    headers = {**auth, "Idempotency-Key": f"exp-{kind}"}
    started = await client.post("/api/v1/audit/exports", json=body, headers=headers)
    replayed = await client.post("/api/v1/audit/exports", json=body, headers=headers)
    assert started.status_code == replayed.status_code == 202, started.text
    job_id = started.json()["id"]
    assert replayed.json()["id"] == job_id and replayed.headers["idempotent-replayed"] == "true"
    assert started.json()["kind"] == "audit.export"
    assert started.headers["location"] == f"/api/v1/jobs/{job_id}"

    job = await _poll(client, worker, started.headers["location"], auth)
    assert job["status"] == "succeeded", job
    assert (job["progress"], job["done"], job["total"], job["requestedBy"]) == (100, 3, 3, account)
    assert job["result"]["rowCount"] == 3 and job["result"]["columns"] == services.COLUMNS
    assert job["result"]["filters"] == {**body, "from": "2026-03-01T00:00:00+08:00", "entityId": None,
                                        "actorId": None, "action": None}

    download = await client.get(f"/api/v1/audit/exports/{job_id}/csv", headers=auth)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == f'attachment; filename="audit-export-{job_id}.csv"'
    assert download.content.startswith(b"\xef\xbb\xbf" + b"occurredAt,id,")
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"), newline="")))
    assert download.content.count(b"\r\n") == 4  # header + 3 rows; the embedded newline stays \n
    assert table == [services.COLUMNS, [
        "2026-03-01T09:30:00+00:00", str(ids[0]), "user", "张三", "crm-web", "customer.update", kind, "C-001",
        "客户要求更正电话", '{"name":"王五","phone":"138"}', '{"name":"王五","phone":"139"}', "r-1", "10.0.0.1",
    ], [
        "2026-03-01T10:30:00+00:00", str(ids[1]), "user", "李四", "", "customer.delete", kind, "C-002",
        "'=HYPERLINK(\"http://x\",\"y\")", '{"name":"赵六"}', "", "", "",
    ], [
        "2026-03-01T11:30:00+00:00", str(ids[2]), "system", "system", "", "customer.merge", kind, "'-C-003",
        'line one\nline two, "quoted"', "", "", "", "",
    ]]

    async with db.tenant_session(f"t_{slug}") as session:
        actions = set((await session.scalars(select(tenant_audit.c.action).where(
            tenant_audit.c.entity_type == "job", tenant_audit.c.entity_id == job_id))).all())
        request = await session.scalar(select(tenant_audit.c.after).where(
            tenant_audit.c.action == "audit.export.request", tenant_audit.c.entity_id == job_id))
    assert actions == {"job.create", "audit.export.request", "job.start", "job.succeed"}
    assert request == {"filters": job["result"]["filters"]}


async def test_an_export_over_the_cap_fails_and_has_no_csv(client: Any, worker: Worker, db: Any,
                                                           new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("audcap")
    _, auth = await _auditor(db, mint, slug)
    with psycopg.connect(libpq_url(os.environ["DATABASE_URL"]), autocommit=True) as conn:
        conn.execute(
            f'INSERT INTO "t_{slug}".audit_log (id, actor_kind, actor_id, action, entity_type, entity_id) '
            "SELECT gen_random_uuid(), 'system', 'system', 'bulk.load', 'bulk', i::text "
            "FROM generate_series(1, %s) AS i", (services.MAX_EXPORT_ROWS + 1,))

    started = await client.post("/api/v1/audit/exports", json={"entityType": "bulk"}, headers=auth)
    assert started.status_code == 202, started.text
    job = await _poll(client, worker, started.headers["location"], auth)
    assert job["status"] == "failed" and job["result"] is None
    assert job["error"].startswith(f"More than {services.MAX_EXPORT_ROWS} records match; narrow the filters")
    download = await client.get(f"/api/v1/audit/exports/{job['id']}/csv", headers=auth)
    assert download.status_code == 409 and "failed" in download.json()["detail"]


async def test_retention_purges_old_records_only_where_a_policy_says_so(client: Any, worker: Worker, db: Any,
                                                                        new_tenant: Any, mint: Any) -> None:
    with_policy, without = await new_tenant("ret_on"), await new_tenant("ret_off")
    url, operator = f"/platform/v1/tenants/{with_policy}", bearer(mint())
    etag = (await client.get(url, headers=operator)).headers["etag"]
    patched = await client.patch(url, json={"auditRetentionDays": 400},
                                 headers={**operator, "If-Match": etag})
    assert patched.status_code == 200 and patched.json()["auditRetentionDays"] == 400, patched.text

    ages = {"800d": 800, "401d": 401, "399d": 399, "370d": 370, "today": 0}
    ids: dict[str, dict[str, uuid.UUID]] = {}
    for slug in (with_policy, without):
        ids[slug] = {name: new_id() for name in ages}
        async with db.tenant_transaction(f"t_{slug}") as session:
            await session.execute(insert(tenant_audit), [
                dict(id=ids[slug][name], occurred_at=datetime.now(UTC) - timedelta(days=days),
                     actor_kind="system", actor_id="system", action="test.aged", entity_type="test",
                     entity_id=name) for name, days in ages.items()])

    async def left(slug: str) -> set[str]:
        async with db.tenant_session(f"t_{slug}") as session:
            return set((await session.scalars(select(tenant_audit.c.entity_id).where(
                tenant_audit.c.action == "test.aged"))).all())

    tasks.enforce_retention.apply_async()

    async def purged() -> bool:
        return "800d" not in await left(with_policy)

    await wait_for(worker, purged, "the retention purge")
    assert await left(with_policy) == {"399d", "370d", "today"}
    assert await left(without) == set(ages)
    async with db.tenant_session(f"t_{with_policy}") as session:
        runs = (await session.execute(select(tenant_audit.c.actor_id, tenant_audit.c.after).where(
            tenant_audit.c.action == "audit.retention.purge"))).all()
    assert runs == [("system", {"deleted": 2, "retentionDays": 400, "complete": True})]
    async with db.tenant_session(f"t_{without}") as session:
        assert await session.scalar(select(tenant_audit.c.id).where(
            tenant_audit.c.action == "audit.retention.purge")) is None
