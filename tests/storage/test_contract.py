"""The contract every object store keeps, run against both adapters over real HTTP.

Where moto (the S3 server these tests use) does not model a behaviour of AWS S3 and
MinIO, the S3 case checks what moto allows and says so; the local store is always held
to the full contract.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.storage import (
    BucketNotFound,
    ChecksumMismatch,
    InvalidArgument,
    InvalidKey,
    ObjectLocked,
    ObjectNotFound,
    RetentionMode,
    S3Store,
    StorageUnavailable,
)
from app.storage.base import is_valid_bucket_name
from tests.storage.conftest import Backend

MINUTE = timedelta(minutes=1)


def blob(size: int = 150_000) -> tuple[bytes, str]:
    data = os.urandom(size)
    return data, hashlib.sha256(data).hexdigest()


async def upload(b: Backend, tenant: str, key: str, data: bytes, content_type: str = "application/pdf") -> str:
    """Upload through a presigned PUT, as a client would; returns the new version id."""
    sha = hashlib.sha256(data).hexdigest()
    signed = await b.store.presign_put(tenant, key, size=len(data), content_type=content_type, sha256=sha,
                                       expires=MINUTE)
    assert signed.method == "PUT" and signed.expires_at > datetime.now(UTC)
    response = await b.http.put(signed.url, content=data, headers=signed.headers)
    assert response.status_code == 200, response.text
    info = await b.store.verify(tenant, key, size=len(data), sha256=sha)
    assert response.headers["x-amz-version-id"] == info.version_id
    return info.version_id


async def test_ensure_bucket_is_idempotent_with_object_lock_and_versioning(backend: Backend, tenant: str) -> None:
    with pytest.raises(ObjectNotFound):
        await backend.store.describe_bucket(tenant)
    first = await backend.store.ensure_bucket(tenant)
    again = await backend.store.ensure_bucket(tenant)
    assert first == again
    described = await backend.store.describe_bucket(tenant)
    assert described.object_lock and described.versioning
    assert described.name == backend.store.bucket_name(tenant) and is_valid_bucket_name(described.name)
    assert "_" not in described.name
    await backend.store.health()


async def test_presigned_put_then_stat_read_and_verify(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    data, sha = blob()
    version = await upload(backend, tenant, "volumes/v1/scan-001.pdf", data)

    info = await backend.store.stat(tenant, "volumes/v1/scan-001.pdf")
    assert (info.size, info.content_type, info.version_id) == (len(data), "application/pdf", version)
    assert info.etag and info.sha256 in (None, sha)  # a server that records the checksum has the right one
    assert (info.retention_mode, info.retain_until, info.legal_hold) == (None, None, False)
    assert await backend.store.sha256_of(tenant, "volumes/v1/scan-001.pdf") == sha
    assert b"".join([c async for c in backend.store.read(tenant, "volumes/v1/scan-001.pdf")]) == data

    with pytest.raises(ChecksumMismatch):
        await backend.store.verify(tenant, "volumes/v1/scan-001.pdf", size=len(data), sha256="0" * 64)
    with pytest.raises(ChecksumMismatch):
        await backend.store.verify(tenant, "volumes/v1/scan-001.pdf", size=len(data) + 1, sha256=sha)


async def test_other_bytes_never_pass_as_the_declared_ones(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    data, sha = blob(4096)
    forged = bytes([data[0] ^ 1]) + data[1:]  # same size, one bit off
    signed = await backend.store.presign_put(tenant, "in/forged.bin", size=len(data),
                                             content_type="application/octet-stream", sha256=sha, expires=MINUTE)
    response = await backend.http.put(signed.url, content=forged, headers=signed.headers)
    if backend.checks_signatures:
        assert response.status_code == 400, response.text
        with pytest.raises(ObjectNotFound):
            await backend.store.stat(tenant, "in/forged.bin")
    else:
        # moto stores the bytes without checking x-amz-checksum-sha256; confirming the
        # upload is what catches them (AWS S3 and MinIO refuse the PUT with BadDigest).
        assert response.status_code == 200
        with pytest.raises(ChecksumMismatch):
            await backend.store.verify(tenant, "in/forged.bin", size=len(data), sha256=sha)


async def test_a_second_upload_is_a_new_version_and_the_old_one_stays(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    (one, sha_one), (two, sha_two) = blob(1000), blob(2000)
    v1 = await upload(backend, tenant, "notes/a.txt", one, "text/plain")
    v2 = await upload(backend, tenant, "notes/a.txt", two, "text/plain")
    assert v1 != v2
    assert (await backend.store.stat(tenant, "notes/a.txt")).version_id == v2
    assert (await backend.store.stat(tenant, "notes/a.txt", v1)).size == 1000
    assert await backend.store.sha256_of(tenant, "notes/a.txt", v1) == sha_one
    assert await backend.store.sha256_of(tenant, "notes/a.txt", v2) == sha_two
    assert b"".join([c async for c in backend.store.read(tenant, "notes/a.txt", v1)]) == one


async def test_presigned_get_returns_the_exact_bytes_and_expires(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    (old, _), (new, _) = blob(3000), blob(5000)
    v1 = await upload(backend, tenant, "plans/site.pdf", old)
    await upload(backend, tenant, "plans/site.pdf", new)

    latest = await backend.store.presign_get(tenant, "plans/site.pdf", expires=MINUTE, download_name="Plan Süd.pdf")
    response = await backend.http.get(latest.url, headers=latest.headers)
    assert response.status_code == 200 and response.content == new
    assert response.headers["content-type"].startswith("application/pdf")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment") and "filename*=UTF-8''Plan%20S%C3%BCd.pdf" in disposition

    pinned = await backend.store.presign_get(tenant, "plans/site.pdf", version_id=v1, expires=MINUTE)
    response = await backend.http.get(pinned.url)
    assert response.status_code == 200 and response.content == old

    short = await backend.store.presign_get(tenant, "plans/site.pdf", expires=timedelta(seconds=1))
    assert short.expires_at <= datetime.now(UTC) + timedelta(seconds=2)
    await asyncio.sleep(2.1)
    expired = await backend.http.get(short.url)
    if backend.checks_signatures:
        assert expired.status_code == 403
    else:
        # moto serves expired URLs; what S3 checks is in the signed query.
        query = parse_qs(urlsplit(short.url).query)
        assert query["X-Amz-Expires"] == ["1"] and "host" in query["X-Amz-SignedHeaders"][0]


async def test_compliance_retention_forbids_deleting_the_version(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    v1 = await upload(backend, tenant, "filed/deed.pdf", blob(500)[0])
    v2 = await upload(backend, tenant, "filed/deed.pdf", blob(600)[0])
    until = datetime.now(UTC) + timedelta(days=1)
    await backend.store.set_retention(tenant, "filed/deed.pdf", v1, RetentionMode.COMPLIANCE, until)

    info = await backend.store.stat(tenant, "filed/deed.pdf", v1)
    assert info.retention_mode is RetentionMode.COMPLIANCE
    assert info.retain_until is not None and abs(info.retain_until - until) < timedelta(seconds=1)
    with pytest.raises(ObjectLocked):
        await backend.store.delete(tenant, "filed/deed.pdf", v1)
    with pytest.raises(ObjectLocked):  # no bypass for COMPLIANCE
        await backend.store.delete(tenant, "filed/deed.pdf", v1, bypass_governance=True)
    assert (await backend.store.stat(tenant, "filed/deed.pdf", v1)).size == 500
    await backend.store.delete(tenant, "filed/deed.pdf", v2)  # the lock is on v1 only
    with pytest.raises(ObjectNotFound):
        await backend.store.stat(tenant, "filed/deed.pdf", v2)


async def test_legal_hold_forbids_deleting_until_cleared(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    version = await upload(backend, tenant, "filed/claim.pdf", blob(700)[0])
    await backend.store.set_legal_hold(tenant, "filed/claim.pdf", version, True)
    assert (await backend.store.stat(tenant, "filed/claim.pdf", version)).legal_hold is True
    for bypass in (False, True):  # a hold is not governance: no bypass lifts it
        with pytest.raises(ObjectLocked):
            await backend.store.delete(tenant, "filed/claim.pdf", version, bypass_governance=bypass)
    await backend.store.set_legal_hold(tenant, "filed/claim.pdf", version, False)
    assert (await backend.store.stat(tenant, "filed/claim.pdf", version)).legal_hold is False
    await backend.store.delete(tenant, "filed/claim.pdf", version)
    with pytest.raises(ObjectNotFound):
        await backend.store.stat(tenant, "filed/claim.pdf", version)
    with pytest.raises(ObjectNotFound):
        await backend.store.delete(tenant, "filed/claim.pdf", version)


async def test_governance_retention_gives_way_only_to_an_explicit_bypass(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    version = await upload(backend, tenant, "filed/memo.pdf", blob(800)[0])
    await backend.store.set_retention(tenant, "filed/memo.pdf", version, RetentionMode.GOVERNANCE,
                                      datetime.now(UTC) + timedelta(days=30))
    assert (await backend.store.stat(tenant, "filed/memo.pdf", version)).retention_mode is RetentionMode.GOVERNANCE
    with pytest.raises(ObjectLocked):
        await backend.store.delete(tenant, "filed/memo.pdf", version)
    await backend.store.delete(tenant, "filed/memo.pdf", version, bypass_governance=True)
    with pytest.raises(ObjectNotFound):
        await backend.store.stat(tenant, "filed/memo.pdf", version)


BAD_KEYS = ["", "/a", "a/", "a//b", "../x", "a/../b", "./a", "A.pdf", "a b", "a/.v/x", ".hidden", "a\nb",
            "a\\b", "a?b", "a#b", "ä.pdf", "x" * 101, "/".join(["a"] * 11), "a/%2e%2e/b"]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_keys_outside_the_pattern_are_refused(backend: Backend, tenant: str, key: str) -> None:
    store = backend.store
    with pytest.raises(InvalidKey):
        await store.presign_put(tenant, key, size=1, content_type="text/plain", sha256="a" * 64, expires=MINUTE)
    with pytest.raises(InvalidKey):
        await store.presign_get(tenant, key, expires=MINUTE)
    with pytest.raises(InvalidKey):
        await store.stat(tenant, key)
    with pytest.raises(InvalidKey):
        await store.delete(tenant, key, "v")
    with pytest.raises(InvalidKey):
        await store.set_legal_hold(tenant, key, "v", True)


@pytest.mark.parametrize("slug", ["Acme", "acme-group", "a", "acme__x", "_acme", "acme/../x", "x" * 41])
async def test_tenants_that_are_not_slugs_are_refused(backend: Backend, slug: str) -> None:
    with pytest.raises(InvalidKey):
        await backend.store.ensure_bucket(slug)
    with pytest.raises(InvalidKey):
        await backend.store.stat(slug, "a.pdf")


async def test_upload_declarations_are_checked(backend: Backend, tenant: str) -> None:
    ok: dict[str, Any] = {"size": 10, "content_type": "application/pdf", "sha256": "a" * 64, "expires": MINUTE}
    for bad in ({"size": -1}, {"size": 5 * 1024**3 + 1}, {"content_type": "PDF"},
                {"content_type": "text/plain; charset=utf-8"}, {"sha256": "A" * 64}, {"sha256": "abc"},
                {"expires": timedelta(0)}, {"expires": timedelta(days=8)}):
        with pytest.raises(InvalidArgument):
            await backend.store.presign_put(tenant, "a.pdf", **{**ok, **bad})
    await backend.store.ensure_bucket(tenant)
    version = await upload(backend, tenant, "a.pdf", b"x")
    with pytest.raises(InvalidArgument):  # retention dates are aware and in the future
        await backend.store.set_retention(tenant, "a.pdf", version, RetentionMode.GOVERNANCE,
                                          datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(InvalidArgument):
        await backend.store.set_retention(tenant, "a.pdf", version, RetentionMode.GOVERNANCE,
                                          datetime.now() + timedelta(days=1))


async def test_missing_objects_versions_and_buckets(backend: Backend, tenant: str) -> None:
    with pytest.raises(ObjectNotFound):
        await backend.store.stat(tenant, "nothing.pdf")  # no bucket yet
    await backend.store.ensure_bucket(tenant)
    with pytest.raises(ObjectNotFound):
        await backend.store.stat(tenant, "nothing.pdf")
    version = await upload(backend, tenant, "something.pdf", b"%PDF")
    for unknown in ("0" * 24, "no-such-version"):
        with pytest.raises(ObjectNotFound):
            await backend.store.stat(tenant, "something.pdf", unknown)
        with pytest.raises(ObjectNotFound):
            await backend.store.delete(tenant, "something.pdf", unknown)
    if backend.name == "local":  # moto answers 500 here (an AttributeError in moto); S3 says NoSuchKey
        with pytest.raises(ObjectNotFound):
            await backend.store.set_legal_hold(tenant, "nothing.pdf", version, True)


async def test_incomplete_uploads_are_listed_and_aborted(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    assert await backend.store.list_incomplete(tenant, timedelta(0)) == []
    await backend.make_incomplete(tenant)
    found = await backend.store.list_incomplete(tenant, timedelta(0))
    assert len(found) == 1 and found[0].upload_id
    assert await backend.store.abort_incomplete(tenant, timedelta(0)) == 1
    assert await backend.store.list_incomplete(tenant, timedelta(0)) == []


async def test_purging_keeps_locked_versions_and_removes_an_empty_bucket(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    kept = await upload(backend, tenant, "filed/keep.pdf", b"keep")
    await upload(backend, tenant, "drafts/a.pdf", b"a")
    await upload(backend, tenant, "drafts/a.pdf", b"a2")
    await backend.store.set_retention(tenant, "filed/keep.pdf", kept, RetentionMode.COMPLIANCE,
                                      datetime.now(UTC) + timedelta(days=1))
    await backend.make_incomplete(tenant)
    report = await backend.store.purge_bucket(tenant)
    assert (report.existed, report.deleted_versions, report.kept_locked, report.bucket_removed) == (True, 2, 1, False)
    assert (await backend.store.stat(tenant, "filed/keep.pdf", kept)).size == 4
    with pytest.raises(ObjectNotFound):
        await backend.store.stat(tenant, "drafts/a.pdf")
    assert await backend.store.list_incomplete(tenant, timedelta(0)) == []

    other = tenant + "_b"
    await backend.store.ensure_bucket(other)
    await upload(backend, other, "drafts/b.pdf", b"b")
    report = await backend.store.purge_bucket(other)
    assert (report.existed, report.deleted_versions, report.kept_locked, report.bucket_removed) == (True, 1, 0, True)
    with pytest.raises(BucketNotFound if backend.name == "local" else ObjectNotFound):
        await backend.store.describe_bucket(other)
    assert (await backend.store.purge_bucket(other)).existed is False


async def test_an_unreachable_s3_server_is_unavailable_not_a_hang(tenant: str) -> None:
    # A port nobody listens on: connection refused, answered within the short timeouts.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = S3Store(f"http://127.0.0.1:{port}", access_key="a", secret_key="b", bucket_prefix="cs-")
    for call in (dead.health(), dead.ensure_bucket(tenant), dead.stat(tenant, "a.pdf"),
                 dead.set_legal_hold(tenant, "a.pdf", "v", True), dead.purge_bucket(tenant)):
        with pytest.raises(StorageUnavailable):
            await asyncio.wait_for(call, 30)
    with pytest.raises(StorageUnavailable):
        async for _ in dead.read(tenant, "a.pdf"):
            pass
    # Signing needs no server: a URL can still be made, it is the transfer that fails.
    signed = await dead.presign_get(tenant, "a.pdf", expires=MINUTE)
    assert signed.url.startswith(f"http://127.0.0.1:{port}/")


async def test_delete_key_removes_every_version_and_stops_at_a_lock(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    for n in range(3):
        await upload(backend, tenant, "uploads/abandoned.pdf", blob(100 + n)[0])
    assert await backend.store.delete_key(tenant, "uploads/abandoned.pdf") == 3
    with pytest.raises(ObjectNotFound):
        await backend.store.stat(tenant, "uploads/abandoned.pdf")
    assert await backend.store.delete_key(tenant, "uploads/abandoned.pdf") == 0  # nothing left: nothing to do

    kept = await upload(backend, tenant, "filed/kept.pdf", b"kept")
    await upload(backend, tenant, "filed/kept.pdf", b"newer, unlocked")
    await backend.store.set_legal_hold(tenant, "filed/kept.pdf", kept, True)
    with pytest.raises(ObjectLocked):  # the newer version goes, the held one stays
        await backend.store.delete_key(tenant, "filed/kept.pdf")
    assert (await backend.store.stat(tenant, "filed/kept.pdf")).version_id == kept


async def test_a_presigned_get_serves_the_type_it_names(backend: Backend, tenant: str) -> None:
    """Downloads name the type they are served as, whatever the object was stored with: an
    upload's declared type, never something a browser would render."""
    await backend.store.ensure_bucket(tenant)
    page = b"<html><script>alert(1)</script></html>"
    await upload(backend, tenant, "drafts/page", page, content_type="text/html")
    signed = await backend.store.presign_get(tenant, "drafts/page", expires=MINUTE, content_type="image/png",
                                             download_name="x.png")
    response = await backend.http.get(signed.url)
    assert response.status_code == 200 and response.content == page
    assert response.headers["content-type"].split(";")[0] == "image/png"
    assert response.headers["content-disposition"] == 'attachment; filename="x.png"'
    with pytest.raises(InvalidArgument):
        await backend.store.presign_get(tenant, "drafts/page", expires=MINUTE, content_type="text/html; charset=x")
    if backend.checks_signatures:  # the type is signed: it cannot be changed in the URL
        altered = await backend.http.get(signed.url.replace("type=image%2Fpng", "type=text%2Fhtml"))
        assert "type=image%2Fpng" in signed.url and altered.status_code == 403
