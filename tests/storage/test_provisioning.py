"""Buckets follow the tenant lifecycle: made at provisioning (through the tenant seeders),
left empty and reused after a provisioning that rolled back, purged with the tenant."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.audit import Actor, platform_audit
from app.core.problems import ProblemError
from app.storage import BucketNotFound, LocalStore, RetentionMode, get_store
from app.tenants.schemas import TenantCreate
from app.tenants.services import change_status, create_tenant, get_tenant, purge_tenant
from tests.conftest import OPERATOR


class Rollback(Exception):
    pass


async def _put(store: LocalStore, app: Any, tenant: str, key: str, data: bytes) -> str:
    signed = await store.presign_put(tenant, key, size=len(data), content_type="application/pdf",
                                     sha256=hashlib.sha256(data).hexdigest(), expires=timedelta(minutes=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        response = await http.put(signed.url, content=data, headers=signed.headers)
    assert response.status_code == 200, response.text
    return response.headers["x-amz-version-id"]


async def _purge(db: Any, slug: str) -> dict[str, Any]:
    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        tenant = await get_tenant(session, slug, lock=True)
        await change_status(session, tenant, "delete", "test")
        await purge_tenant(session, tenant, slug, "test")
    async with db.platform_session() as session:
        after = await session.scalar(select(platform_audit.c.after).where(
            platform_audit.c.action == "tenant.purge", platform_audit.c.entity_id == slug))
    return after["storage"]


async def test_provisioning_makes_the_bucket(new_tenant: Any) -> None:
    slug = await new_tenant("bucket")
    info = await get_store().describe_bucket(slug)
    assert info.object_lock and info.versioning and info.name == get_store().bucket_name(slug)


async def test_a_rolled_back_provisioning_leaves_an_empty_bucket_that_is_reused(db: Any) -> None:
    slug = f"rb_{uuid.uuid4().hex[:10]}"
    with pytest.raises(Rollback):
        async with db.platform_transaction() as session:
            session.info["actor"] = Actor(kind="operator", id=OPERATOR)
            await create_tenant(session, TenantCreate(slug=slug, display_name=slug))
            raise Rollback
    async with db.platform_session() as session:
        with pytest.raises(ProblemError) as raised:
            await get_tenant(session, slug)
        assert raised.value.slug == "not-found"
    # The documented leftover: an empty bucket no URL can reach (the tenant does not exist).
    assert (await get_store().describe_bucket(slug)).object_lock
    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        await create_tenant(session, TenantCreate(slug=slug, display_name=slug))
    assert (await get_store().describe_bucket(slug)).versioning


async def test_purge_removes_the_bucket_unless_a_lock_keeps_versions(db: Any, app: Any, new_tenant: Any) -> None:
    store = get_store()
    assert isinstance(store, LocalStore)  # the test settings use the embedded default
    plain = await new_tenant("purge_plain")
    await _put(store, app, plain, "drafts/a.pdf", b"draft")
    assert await _purge(db, plain) == {"existed": True, "deleted_versions": 1, "kept_locked": 0,
                                       "bucket_removed": True}
    with pytest.raises(BucketNotFound):
        await store.describe_bucket(plain)

    kept = await new_tenant("purge_kept")
    version = await _put(store, app, kept, "filed/deed.pdf", b"deed")
    await _put(store, app, kept, "drafts/b.pdf", b"draft")
    await store.set_retention(kept, "filed/deed.pdf", version, RetentionMode.COMPLIANCE,
                              datetime.now(UTC) + timedelta(days=1))
    assert await _purge(db, kept) == {"existed": True, "deleted_versions": 1, "kept_locked": 1,
                                      "bucket_removed": False}
    assert (await store.stat(kept, "filed/deed.pdf", version)).size == 4
