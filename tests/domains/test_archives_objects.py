"""Archive pages and their objects at the edges: a completion confirmed twice at once, keys
whose objects refuse deletion (retention, legal hold) on the removal list, and an order of
ten thousand pages checked in linear time. With the embedded default store (local disk)."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.audit import SYSTEM, tenant_audit
from app.domains.archives import services
from app.domains.archives.models import ArchiveObjectRemoval, PageStatus
from app.storage import LocalStore, RetentionMode
from tests.routes import Ctx  # first: it loads the route catalogue

# isort: split
from tests.catalogue.archives import declare, new_volume, ok, put_bytes, scan
from tests.conftest import bearer, subject_of


@pytest.fixture
async def ctx(client: Any, db: Any, new_tenant: Any, mint: Any) -> Ctx:
    slug = await new_tenant("arobj")
    admin = bearer(mint(tenant=slug))
    return Ctx(client=client, db=db, tenant=slug, subject=subject_of(admin), auth=admin, mark=uuid.uuid4().hex[:8])


async def test_a_completion_confirmed_twice_at_once_is_recorded_once(ctx: Ctx) -> None:
    c, auth = ctx.client, ctx.auth
    volume, url = await new_volume(ctx)
    data = scan(4000)
    issued = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [declare(data)]}), 201)
    await ok(await put_bytes(c, issued["items"][0]["upload"], data))
    page_id = issued["items"][0]["page"]["id"]
    both = await asyncio.gather(*[c.post(f"{url}/pages/complete", headers=auth, json={"pageIds": [page_id]})
                                  for _ in range(2)])
    answers = [await ok(r) for r in both]
    assert {a["items"][0]["versionId"] for a in answers} == {answers[0]["items"][0]["versionId"]}
    assert all(a["items"][0]["status"] == "stored" for a in answers)
    again = await ok(await c.post(f"{url}/pages/complete", headers=auth, json={"pageIds": [page_id]}))
    assert again["items"][0]["completedAt"] == answers[0]["items"][0]["completedAt"]
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        completions = await session.scalar(select(func.count()).select_from(tenant_audit).where(
            tenant_audit.c.action == "archives.page.complete", tenant_audit.c.entity_id == page_id))
    assert completions == 1
    assert (await ok(await c.get(url, headers=auth)))["pageCount"] == 1


async def _stored(ctx: Ctx, store: LocalStore, key: str, data: bytes) -> str:
    signed = await store.presign_put(ctx.tenant, key, size=len(data), content_type="application/pdf",
                                     sha256=hashlib.sha256(data).hexdigest(), expires=timedelta(minutes=1))
    response = await ctx.client.put(signed.url, content=data, headers=signed.headers)
    assert response.status_code == 200, response.text
    return str(response.headers["x-amz-version-id"])


async def _remove(ctx: Ctx, store: LocalStore) -> dict[str, int]:
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        return await services.remove_objects(session, store)


async def _queue(ctx: Ctx, key: str) -> None:
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.add(ArchiveObjectRemoval(object_key=key, not_before=clock.utcnow()))


async def _entries(ctx: Ctx, key: str) -> list[Any]:
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        return list((await session.scalars(select(ArchiveObjectRemoval.not_before).where(
            ArchiveObjectRemoval.object_key == key))).all())


async def test_a_locked_object_stays_on_the_removal_list_until_its_lock_ends(ctx: Ctx, app: Any) -> None:
    store = app.state.store
    assert isinstance(store, LocalStore)
    retained, held = f"volumes/{uuid.uuid4()}/pages/a", f"volumes/{uuid.uuid4()}/pages/b"
    locked = await _stored(ctx, store, retained, scan())
    await _stored(ctx, store, retained, scan())  # a newer, unlocked version (a replayed upload)
    until = clock.utcnow() + timedelta(days=3)
    await store.set_retention(ctx.tenant, retained, locked, RetentionMode.GOVERNANCE, until)
    await store.set_legal_hold(ctx.tenant, held, await _stored(ctx, store, held, scan()), True)
    for key in (retained, held):
        await _queue(ctx, key)

    assert await _remove(ctx, store) == {"due": 2, "keys": 0, "versions": 0, "deferred": 2}
    # The unlocked version went; the locked one stays, and so does its key, until the date.
    assert (await store.stat(ctx.tenant, retained)).version_id == locked
    [later] = await _entries(ctx, retained)
    assert abs(later - until) < timedelta(seconds=1)
    [again] = await _entries(ctx, held)  # a legal hold has no date: tried again tomorrow
    assert timedelta(hours=23) < again - clock.utcnow() <= timedelta(days=1)
    assert (await _remove(ctx, store))["due"] == 0

    await store.set_legal_hold(ctx.tenant, held, (await store.stat(ctx.tenant, held)).version_id, False)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(ArchiveObjectRemoval.__table__.update().values(not_before=clock.utcnow()))
    done = await _remove(ctx, store)
    assert (done["keys"], done["versions"]) == (1, 1) and await _entries(ctx, held) == []
    assert len(await _entries(ctx, retained)) == 1  # still locked: put off again


def test_an_order_of_ten_thousand_pages_is_checked_in_linear_time() -> None:
    stored = [SimpleNamespace(id=uuid.uuid4(), status=PageStatus.stored) for _ in range(10_000)]
    pending = SimpleNamespace(id=uuid.uuid4(), status=PageStatus.pending)
    pages: dict[uuid.UUID, Any] = {p.id: p for p in [*stored, pending]}
    order = [p.id for p in reversed(stored)]
    started = time.perf_counter()
    assert services._order_problems(order, pages) == []
    problems = services._order_problems([*order[:-1], order[0], pending.id], pages)
    assert time.perf_counter() - started < 1.0
    assert [(e.field, e.message) for e in problems] == [
        ("pageIds.9999", "listed twice"), ("pageIds.10000", "not stored yet: complete it first"),
        ("pageIds", f"1 stored pages are missing from the order, e.g. {stored[0].id}")]
