"""Archive volumes against a real S3 HTTP endpoint (moto's server on loopback, the app built
with S3 settings): the end-to-end path of a volume and its locked objects, what a reader
without clearance gets and what a cleared one downloads, and a storage server stopped
mid-test: 503 with Retry-After on the archive endpoints, everything else working, nothing
recorded as stored that is not.

Each test here runs its own moto server: the session-wide one of tests/storage is never
stopped, and these tests stop theirs."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

from app.core import jobs
from app.core.audit import SYSTEM, tenant_audit
from app.domains.archives import services
from app.domains.archives import tasks as archive_tasks
from app.domains.archives.models import ArchiveObjectRemoval, ArchivePage, ArchiveVolume, PageStatus, VolumeStatus
from app.storage import ObjectLocked, RetentionMode, S3Store
from tests.routes import Ctx  # first: it loads the route catalogue

# isort: split
from tests.catalogue.archives import (
    ASSEMBLER,
    SETTINGS,
    add_pages,
    advance,
    client_token,
    declare,
    fill,
    new_volume,
    ok,
    person,
    put_bytes,
    scan,
    volume_in,
)
from tests.conftest import bearer, subject_of

PROBLEM = "urn:cornerstone:problem:"


def _moto() -> ThreadedMotoServer:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server


def _s3_settings(settings: Any, server: ThreadedMotoServer) -> Any:
    host, port = server.get_host_and_port()
    # A prefix of the run's own: moto keeps its buckets as long as the process lives.
    return msgspec.structs.replace(settings, s3_endpoint=f"http://{host}:{port}", s3_access_key="testing",
                                   s3_secret_key="testing", s3_region="us-east-1", s3_secure=False,
                                   s3_bucket_prefix=f"ar{uuid.uuid4().hex[:6]}-")


@pytest.fixture
def moto_server() -> Iterator[ThreadedMotoServer]:
    server = _moto()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def s3_ctx(db: Any, settings: Any, new_tenant: Any, mint: Any,
                 moto_server: ThreadedMotoServer) -> AsyncIterator[tuple[Ctx, S3Store, Any]]:
    from app.asgi import create_app

    app = create_app(_s3_settings(settings, moto_server), database=db)
    store = app.state.store
    assert isinstance(store, S3Store)
    slug = await new_tenant("s3arch")
    # Provisioning made the bucket in the process's own (embedded) store; this app's is S3.
    bucket = await store.ensure_bucket(slug)
    assert bucket.object_lock and bucket.versioning
    admin = bearer(mint(tenant=slug))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api:
        yield Ctx(client=api, db=db, tenant=slug, subject=subject_of(admin), auth=admin,
                  mark=uuid.uuid4().hex[:8]), store, app


async def test_a_volume_end_to_end_on_s3(s3_ctx: tuple[Ctx, S3Store, Any], mint: Any) -> None:
    ctx, store, _ = s3_ctx
    c, admin = ctx.client, ctx.auth
    # The group keeps its archives under COMPLIANCE: nobody may delete before the date.
    got = await c.get(SETTINGS, headers=admin)
    policy = (await ok(got))["policy"]
    await ok(await c.put(SETTINGS, headers={**admin, "If-Match": got.headers["etag"]},
                         json={**policy, "retentionMode": "COMPLIANCE"}))
    volume, url = await new_volume(ctx, classification="secret", retention="10_years")

    # Pages straight to S3 through presigned PUTs, with a plain HTTP client.
    files = [scan(4000), scan(6000, "image/tiff"), scan(3000, "image/jpeg")]
    issued = await ok(await c.post(f"{url}/pages", headers=admin, json={"pages": [
        declare(files[0]), declare(files[1], "image/tiff"), declare(files[2], "image/jpeg")]}), 201)
    endpoint = store._client._base_url._url.netloc  # the S3 server's own address
    async with httpx.AsyncClient(timeout=10) as plain:
        for item, data in zip(issued["items"], files, strict=True):
            assert item["upload"]["url"].startswith(f"http://{endpoint}/")
            assert item["upload"]["headers"]["x-amz-checksum-sha256"]
            await ok(await put_bytes(plain, item["upload"], data))
    page_ids = [i["page"]["id"] for i in issued["items"]]
    done = await ok(await c.post(f"{url}/pages/complete", headers=admin, json={"pageIds": page_ids}))
    pages = done["items"]
    assert [(p["status"], p["pageNumber"]) for p in pages] == [("stored", 1), ("stored", 2), ("stored", 3)]
    keys = [f"volumes/{volume['id']}/pages/{p}" for p in page_ids]
    for key, page, data in zip(keys, pages, files, strict=True):
        info = await store.stat(ctx.tenant, key)
        assert (info.version_id, info.size) == (page["versionId"], len(data))
    # The background re-verification, run here with this app's store, records each page as ok.
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        assert await services.reverify_pages(session, store, [uuid.UUID(p) for p in page_ids]) == {"ok": 3}

    await fill(ctx, volume["id"], 3)
    await advance(ctx, url, "assemble", await client_token(ctx, ASSEMBLER))
    await advance(ctx, url, "review", admin, {"reviewerName": "李审核"})
    filed = await advance(ctx, url, "file", admin)
    assert filed["status"] == "filed" and filed["retentionMode"] == "COMPLIANCE"

    # At the storage level: a locked object version can be neither deleted nor overwritten.
    for key, page in zip(keys, pages, strict=True):
        info = await store.stat(ctx.tenant, key, page["versionId"])
        assert info.retention_mode is RetentionMode.COMPLIANCE
        assert info.retain_until is not None and info.retain_until.isoformat().startswith(filed["retainUntil"][:10])
        for bypass in (False, True):  # COMPLIANCE gives way to no bypass
            with pytest.raises(ObjectLocked):
                await store.delete(ctx.tenant, key, page["versionId"], bypass_governance=bypass)
    forged = scan(4000)
    signed = await store.presign_put(ctx.tenant, keys[0], size=len(forged), content_type="application/pdf",
                                     sha256=hashlib.sha256(forged).hexdigest(), expires=services.UPLOAD_GRACE)
    async with httpx.AsyncClient(timeout=10) as plain:
        overwrite = await plain.put(signed.url, content=forged, headers=signed.headers)
    # S3 keeps every version: the PUT made another one, the filed version is untouched and locked.
    assert overwrite.status_code == 200 and overwrite.headers["x-amz-version-id"] != pages[0]["versionId"]
    assert await store.sha256_of(ctx.tenant, keys[0], pages[0]["versionId"]) == hashlib.sha256(files[0]).hexdigest()
    assert (await store.stat(ctx.tenant, keys[0], pages[0]["versionId"])).retention_mode is RetentionMode.COMPLIANCE
    # And through the API a filed volume takes no new page.
    assert (await c.post(f"{url}/pages", headers=admin, json={"pages": [declare(forged)]})).status_code == 409

    # A reader without clearance for "secret" is refused; a cleared one downloads, audited.
    _, uncleared = await person(ctx, mint, ["archives.read", "archives.clearance.1"])
    cleared_id, cleared = await person(ctx, mint, ["archives.read", "archives.clearance.2"])
    refused = await ok(await c.post(f"/api/v1/archives/pages/{page_ids[0]}/download", headers=uncleared), 403)
    assert refused["type"] == PROBLEM + "forbidden"
    download = await ok(await c.post(f"/api/v1/archives/pages/{page_ids[0]}/download",
                                     headers={**cleared, "X-Request-Id": "s3-dl"}))
    assert download["versionId"] == pages[0]["versionId"] and "X-Amz-Signature" in download["url"]
    async with httpx.AsyncClient(timeout=10) as plain:
        got_bytes = await plain.get(download["url"])
    # The recorded version, not the newer one the overwrite attempt made.
    assert got_bytes.status_code == 200 and got_bytes.content == files[0]
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        record = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.action == "archives.page.download", tenant_audit.c.request_id == "s3-dl"))).one()
    assert (record.actor_id, record.client_id, record.entity_id) == (cleared_id, "test-client", page_ids[0])
    assert record.after["versionId"] == pages[0]["versionId"] and record.occurred_at is not None

    # The integrity job against S3: all four properties hold, including the lock (security).
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        job = await jobs.create_job(session, services.VERIFY_KIND)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM

        async def work(progress: jobs.Progress) -> dict[str, Any]:
            return await services.verify_volume(session, store, uuid.UUID(volume["id"]), job.id, progress)

        assert await jobs.run_job(session, job.id, services.VERIFY_KIND, work)
        report = (await session.get(jobs.Job, job.id)).result  # type: ignore[union-attr]
    assert report["ok"] and report["checked"] == 3 and all(report["properties"].values())


async def test_an_upload_that_is_not_the_declared_file_is_not_stored(s3_ctx: tuple[Ctx, S3Store, Any]) -> None:
    ctx, store, _ = s3_ctx
    volume, url = await new_volume(ctx)
    data = scan(5000)
    issued = await ok(await ctx.client.post(f"{url}/pages", headers=ctx.auth, json={"pages": [declare(data)]}), 201)
    other = scan(5000)  # same size, other bytes: moto does not check the signed checksum, completion does
    async with httpx.AsyncClient(timeout=10) as plain:
        await ok(await put_bytes(plain, issued["items"][0]["upload"], other))
    page_id = issued["items"][0]["page"]["id"]
    refused = await ok(await ctx.client.post(f"{url}/pages/complete", headers=ctx.auth,
                                             json={"pageIds": [page_id]}), 422)
    assert refused["errors"][0]["field"] == "pageIds.0" and "SHA-256" in refused["errors"][0]["message"]
    page = await ok(await ctx.client.get(f"/api/v1/archives/pages/{page_id}", headers=ctx.auth))
    assert (page["status"], page["versionId"]) == ("pending", None)
    # The right bytes under another type (moto does not hold the client to the signed header):
    # the object would be served as what it is not.
    async with httpx.AsyncClient(timeout=10) as plain:
        upload = issued["items"][0]["upload"]
        await ok(await put_bytes(plain, {**upload, "headers": {**upload["headers"], "Content-Type": "text/html"}},
                                 data))
    refused = await ok(await ctx.client.post(f"{url}/pages/complete", headers=ctx.auth,
                                             json={"pageIds": [page_id]}), 422)
    assert "stored as text/html, declared application/pdf" in refused["errors"][0]["message"]
    # Uploaded again, right this time (the URL is still valid): now it completes.
    async with httpx.AsyncClient(timeout=10) as plain:
        await ok(await put_bytes(plain, issued["items"][0]["upload"], data))
    done = await ok(await ctx.client.post(f"{url}/pages/complete", headers=ctx.auth, json={"pageIds": [page_id]}))
    assert done["items"][0]["status"] == "stored"
    assert await store.sha256_of(ctx.tenant, f"volumes/{volume['id']}/pages/{page_id}",
                                 done["items"][0]["versionId"]) == hashlib.sha256(data).hexdigest()


async def test_storage_down_answers_503_and_records_nothing(s3_ctx: tuple[Ctx, S3Store, Any],
                                                            moto_server: ThreadedMotoServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, _, _ = s3_ctx
    # The removal a delete sends is recorded, not sent: the run's worker stores to the local
    # store, not to this test's S3 server, and would clear the queued removal there (or not,
    # depending on when it takes the message).
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(archive_tasks.remove_objects, "apply_async", lambda kwargs: sent.append(kwargs))
    c, admin = ctx.client, ctx.auth
    async with httpx.AsyncClient(timeout=10) as plain:
        volume, url, stored = await volume_in(ctx, "pages", pages=1, uploader=plain)
        waiting = (await add_pages(c, admin, volume["id"], [scan()], complete=False, uploader=plain))[0]
        reviewed, reviewed_url, _ = await volume_in(ctx, "reviewed", uploader=plain)

    moto_server.stop()  # the S3 server goes away mid-test

    def unavailable(response: httpx.Response) -> None:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert response.json()["type"] == PROBLEM + "service-unavailable"

    unavailable(await c.post(f"{url}/pages", headers=admin, json={"pages": [declare(scan())]}))
    unavailable(await c.post(f"{url}/pages/complete", headers=admin, json={"pageIds": [waiting["id"]]}))
    unavailable(await c.post(f"/api/v1/archives/pages/{stored[0]['id']}/download", headers=admin))
    unavailable(await c.post(f"{reviewed_url}/file", headers={**admin, "If-Match": f'"{reviewed["version"]}"'}))

    # Nothing was recorded as stored, filed or issued.
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        statuses = dict((await session.execute(select(ArchivePage.status, func.count()).where(
            ArchivePage.volume_id == uuid.UUID(volume["id"])).group_by(ArchivePage.status))).all())
        assert statuses == {PageStatus.stored: 1, PageStatus.pending: 1}
        assert (await session.get(ArchivePage, uuid.UUID(waiting["id"]))).object_version is None  # type: ignore[union-attr]
        after = await session.get(ArchiveVolume, uuid.UUID(reviewed["id"]))
        assert after is not None and (after.status, after.retain_until) == (VolumeStatus.reviewed, None)
        locked = await session.scalar(select(func.count()).where(
            ArchivePage.volume_id == after.id, ArchivePage.locked_until.is_not(None)))
        assert locked == 0
        downloads = await session.scalar(select(func.count()).select_from(tenant_audit).where(
            tenant_audit.c.action == "archives.page.download", tenant_audit.c.entity_id == stored[0]["id"]))
        assert downloads == 0

    # Everything that needs no storage keeps working, archive metadata included.
    assert (await ok(await c.get(url, headers=admin)))["pendingUploads"] == 1
    assert (await c.get(f"{url}/manifest", headers=admin)).status_code == 200
    assert (await c.get("/api/v1/org/group", headers=admin)).status_code == 200
    branch = await c.post("/api/v1/org/branches", headers=admin, json={"code": f"B{uuid.uuid4().hex[:8]}",
                                                                        "name": "存储故障期间新建"})
    assert branch.status_code == 201, branch.text
    # Deleting needs no storage either: the page goes, its key waits on the removal list.
    deleted = await c.delete(f"/api/v1/archives/pages/{waiting['id']}",
                             headers={**admin, "If-Match": f'"{waiting["version"]}"'})
    assert deleted.status_code == 204, deleted.text
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        assert await session.get(ArchivePage, uuid.UUID(waiting["id"])) is None
        queued = await session.scalar(select(func.count()).where(
            ArchiveObjectRemoval.object_key == f"volumes/{volume['id']}/pages/{waiting['id']}"))
    assert queued == 2  # now, and again once its upload URL has expired
    assert sent == [{"tenant": ctx.tenant}]
