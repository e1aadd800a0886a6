"""Rotating a tenant's data key: every sealed value sealed again with the new key by a job
with progress, reads (and writes) working throughout, the old key retired at the end; the
operator starts it from the command line and the worker runs it."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from sqlalchemy import select

from tests.routes import _create, _new_customer, _person  # first: it loads the catalogue modules

# isort: split
from app.core import crypto
from app.core.audit import Actor
from app.core.jobs import Job, JobStatus
from app.core.keystore import DataKey, master_key
from app.domains.customers.models import Customer
from app.domains.privacy import rotation
from tests.catalogue.club import _root
from tests.catalogue.complaints import tenant_ctx
from tests.catalogue.privacy import REQUESTS

OPERATOR = Actor(kind="operator", id="operator@test")
REVEAL = {"fields": ["phone", "idNumber", "address"], "reason": "checking the rotation"}


async def _plain(client: Any, ctx: Any, customer_id: str) -> dict[str, Any]:
    got = await client.post(f"/api/v1/customers/{customer_id}/reveal", headers=ctx.auth, json=REVEAL)
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


async def _keys(db: Any, slug: str) -> list[DataKey]:
    async with db.tenant_session(f"t_{slug}") as session:
        return list((await session.scalars(select(DataKey).order_by(DataKey.created_at))).all())


def _only(slug: str, row: DataKey) -> crypto.TenantKeys:
    """The tenant's keys as the new key alone: what opens once the old one is gone."""
    schema = f"t_{slug}"
    return crypto.TenantKeys(tenant=schema, data_key=crypto.unwrap(master_key(), row.wrapped_data_key,
                                                                   f"{schema}:data"),
                             index_key=crypto.unwrap(master_key(), row.wrapped_index_key, f"{schema}:index"))


async def test_a_rotation_seals_everything_again_while_reads_go_on(client: Any, db: Any, new_tenant: Any,
                                                                    mint: Any, monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "pvk")
    root = await _root(ctx)
    people = [(await _create(ctx, "/api/v1/customers", _person(ctx, nodeId=root, email=f"k{i}@example.com")))[0]
              for i in range(4)]
    owner, _, _ = await _new_customer(ctx)
    before = {p["id"]: await _plain(client, ctx, p["id"]) for p in people}
    filed = await client.post(REQUESTS, headers=ctx.auth, json={"customerId": owner["id"], "kind": "correction",
                                                                "channel": "phone", "details": "地址写错了"})
    assert filed.status_code == 201, filed.text
    change = await client.post(f"/api/v1/customers/{owner['id']}/change-requests", headers=ctx.auth, json={
        "action": "change", "reason": "the owner moved", "changes": {"address": "深圳市福田区新地址1号"}})
    assert change.status_code in (200, 201, 202), change.text
    [old] = await _keys(db, ctx.tenant)

    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = OPERATOR
        job = await rotation.start(session)
    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = OPERATOR
        again = await client.get("/api/v1/customers", headers=ctx.auth)  # reads go on between the steps
        assert again.status_code == 200
        try:
            await rotation.start(session)
            raise AssertionError("a second rotation while one is under way")
        except Exception as exc:  # noqa: BLE001 - the ProblemError of a conflict
            assert "under way" in str(exc)

    # Small batches, so that the walk and the readers take turns.
    monkeypatch.setattr(rotation, "BATCH", 2)
    running = True
    reads = 0

    async def read() -> None:
        nonlocal reads
        while running:
            for p in people:
                shown = await client.get(f"/api/v1/customers/{p['id']}", headers=ctx.auth)
                assert shown.status_code == 200, shown.text
                assert shown.json()["phone"] == p["phone"]  # the mask, opened under either key
                reads += 1
            assert await _plain(client, ctx, people[0]["id"]) == before[people[0]["id"]]

    async def work() -> None:
        nonlocal running
        try:
            async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
                session.info["actor"] = OPERATOR
                assert await rotation.rotate(session, job.id)
        finally:
            running = False

    reader = asyncio.create_task(read())
    # A customer written while the rotation runs is sealed with the new key.
    late, _ = await _create(ctx, "/api/v1/customers", _person(ctx, nodeId=root))
    await asyncio.gather(work(), reader)
    assert reads >= len(people)

    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        done = await session.get(Job, job.id)
        assert done is not None and done.status is JobStatus.succeeded and done.progress == 100
        rows = (await session.scalars(select(Customer))).all()
        payloads = (await session.execute(select(Job.result).where(Job.id == job.id))).scalar_one()
    assert payloads["resealed"]["customers.phone_sealed"] >= len(people)
    assert payloads["retired"] == [str(old.id)] and payloads["inJson"] == 1
    keys = await _keys(db, ctx.tenant)
    assert [k.retired_at is not None for k in keys] == [True, False]
    # Every value opens with the new key alone; the answers are what they were.
    new = _only(ctx.tenant, keys[1])
    assert keys[1].wrapped_index_key != old.wrapped_index_key  # wrapped afresh, the same index key inside
    for c in rows:
        if c.phone_sealed is not None:
            new.open("customers.phone", c.phone_sealed)
        if c.email_sealed is not None:
            new.open("customers.email", c.email_sealed)
    assert {p["id"]: await _plain(client, ctx, p["id"]) for p in people} == before
    assert (await _plain(client, ctx, late["id"]))["phone"]
    # The blind index still finds a customer by phone.
    found = await client.post("/api/v1/customers/search", headers=ctx.auth,
                              json={"phone": before[people[1]["id"]]["phone"]})
    assert found.status_code == 200 and [c["id"] for c in found.json()["items"]] == [people[1]["id"]], found.text
    # The waiting change of address (sealed inside its approval request) opens with the new key too.
    from app.domains.approvals.models import ApprovalRequest

    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        payload = (await session.scalars(select(ApprovalRequest.payload).where(
            ApprovalRequest.payload["entityId"].astext == owner["id"]))).one()
    assert new.open("customers.pending_change", base64.b64decode(payload["changes"]["address"]["sealed"])) \
        == "深圳市福田区新地址1号"
    details = await client.post(f"{REQUESTS}/{filed.json()['id']}/details", headers=ctx.auth,
                                json={"reason": "answering"})
    assert details.json() == {"details": "地址写错了"}, details.text


async def test_the_operator_starts_a_rotation_and_the_worker_runs_it(client: Any, db: Any, new_tenant: Any,
                                                                     mint: Any, worker: Any) -> None:
    from click.testing import CliRunner

    from app.cli import main
    from tests.worker.conftest import wait_for

    ctx = await tenant_ctx(client, db, new_tenant, mint, "pvr")
    customer, _ = await _create(ctx, "/api/v1/customers", _person(ctx, nodeId=await _root(ctx)))
    shown = await _plain(client, ctx, customer["id"])
    started = await asyncio.to_thread(CliRunner().invoke, main, ["tenants", "rotate-data-key", ctx.tenant])
    assert started.exit_code == 0 and "job" in started.output, started.output
    nobody = await asyncio.to_thread(CliRunner().invoke, main, ["tenants", "rotate-data-key", "no-such-tenant"])
    assert nobody.exit_code != 0 and "no tenant" in nobody.output, nobody.output

    async def retired() -> bool:
        keys = await _keys(db, ctx.tenant)
        return len(keys) == 2 and keys[0].retired_at is not None

    await wait_for(worker, retired, "the rotation")
    assert await _plain(client, ctx, customer["id"]) == shown
