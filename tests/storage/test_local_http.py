"""The local store's signed-URL endpoints, through the app in process, and its own rules
that moto cannot show for S3 (retention that only grows, the signing key)."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import msgspec
import pytest

from app.storage import LocalStore, ObjectLocked, ObjectNotFound, RetentionMode
from app.storage.local import load_or_create_key

MINUTE = timedelta(minutes=1)


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _nothing_stored(store: LocalStore, tenant: str, key: str) -> None:
    with pytest.raises(ObjectNotFound):
        await store.stat(tenant, key)
    incoming = store.root / store.bucket_name(tenant) / ".incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []


@pytest.fixture
async def bucket(local_store: LocalStore, tenant: str) -> str:
    await local_store.ensure_bucket(tenant)
    return tenant


async def _signed_put(store: LocalStore, tenant: str, data: bytes, key: str = "in/doc.pdf",
                      content_type: str = "application/pdf") -> Any:
    return await store.presign_put(tenant, key, size=len(data), content_type=content_type,
                                   sha256=hashlib.sha256(data).hexdigest(), expires=MINUTE)


async def test_an_upload_that_is_not_the_signed_one_stores_nothing(local_store: LocalStore,
                                                                 local_http: httpx.AsyncClient, bucket: str) -> None:
    data = os.urandom(3000)
    signed = await _signed_put(local_store, bucket, data)

    cases = [
        ("other bytes, same size", bytes(len(data)), signed.headers),
        ("fewer bytes", data[:-1], {**signed.headers, "Content-Length": str(len(data) - 1)}),
        ("more bytes", data + b"!", {**signed.headers, "Content-Length": str(len(data) + 1)}),
        ("another type", data, {**signed.headers, "Content-Type": "text/html"}),
        ("no type", data, {"Content-Length": str(len(data))}),
    ]
    for what, body, headers in cases:
        response = await local_http.put(signed.url, content=body, headers=headers)
        assert response.status_code == 400, (what, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "Nothing was stored" in response.json()["detail"]
        await _nothing_stored(local_store, bucket, "in/doc.pdf")

    async def chunked() -> Any:  # no Content-Length: counted as it arrives, and cut off
        yield data
        yield b"and more"

    response = await local_http.put(signed.url, content=chunked(), headers={"Content-Type": "application/pdf"})
    assert response.status_code == 400
    await _nothing_stored(local_store, bucket, "in/doc.pdf")

    response = await local_http.put(signed.url, content=data, headers=signed.headers)
    assert response.status_code == 200
    assert (await local_store.stat(bucket, "in/doc.pdf")).size == len(data)


async def test_altered_or_expired_urls_are_forbidden(local_store: LocalStore, local_http: httpx.AsyncClient,
                                                     bucket: str) -> None:
    data = b"%PDF-1.7 minimal"
    signed = await _signed_put(local_store, bucket, data)
    sig = parse_qs(urlsplit(signed.url).query)["sig"][0]
    tampered = [
        _with(signed.url, sig=("A" if sig[0] != "A" else "B") + sig[1:]),
        _with(signed.url, size=str(len(data) + 1)),
        _with(signed.url, type="text/html"),
        _with(signed.url, sha256="0" * 64),
        _with(signed.url, exp=str(int(datetime.now(UTC).timestamp()) + 86400)),
        signed.url.replace("/in/doc.pdf", "/in/other.pdf"),
        signed.url.replace(local_store.bucket_name(bucket), local_store.bucket_name(bucket) + "x"),
        signed.url + "&sig=" + sig,  # a repeated parameter
        signed.url.split("?")[0],
    ]
    for url in tampered:
        response = await local_http.put(url, content=data, headers=signed.headers)
        assert response.status_code == 403, (url, response.text)
        assert response.json()["type"] == "urn:cornerstone:problem:forbidden"
    await _nothing_stored(local_store, bucket, "in/doc.pdf")

    assert (await local_http.put(signed.url, content=data, headers=signed.headers)).status_code == 200
    get = await local_store.presign_get(bucket, "in/doc.pdf", expires=MINUTE, download_name="a.pdf")
    # A PUT signature does not open a GET, nor the other way round; the download name is signed.
    assert (await local_http.get(signed.url)).status_code == 403
    assert (await local_http.put(get.url, content=data, headers=signed.headers)).status_code == 403
    assert (await local_http.get(_with(get.url, dn="evil.html"))).status_code == 403
    response = await local_http.get(get.url)
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-disposition"] == 'attachment; filename="a.pdf"'
    assert response.headers["x-content-type-options"] == "nosniff"

    past = int(datetime.now(UTC).timestamp()) - 1
    expired_sig = local_store._signature("GET", local_store.bucket_name(bucket), "in/doc.pdf", "", str(past),
                                         "", "", "", "")
    response = await local_http.get(get.url.split("?")[0] + "?" + urlencode({"exp": past, "sig": expired_sig}))
    assert response.status_code == 403 and "expired" in response.json()["detail"]


async def test_a_url_reaches_its_own_tenant_key_and_version_only(local_store: LocalStore,
                                                                local_http: httpx.AsyncClient, bucket: str) -> None:
    other = bucket + "_b"
    await local_store.ensure_bucket(other)
    old, new, theirs = b"%PDF first", b"%PDF second", b"%PDF another tenant's"
    for tenant, data in ((bucket, old), (bucket, new), (other, theirs)):
        signed = await _signed_put(local_store, tenant, data)
        assert (await local_http.put(signed.url, content=data, headers=signed.headers)).status_code == 200
    versions = sorted(p.name[:-5] for p in (local_store.root / local_store.bucket_name(bucket) / "in" / "doc.pdf"
                                            / ".v").glob("*.data"))
    first = versions[0]
    pinned = await local_store.presign_get(bucket, "in/doc.pdf", version_id=first, expires=MINUTE)
    assert (await local_http.get(pinned.url)).content == old
    params = parse_qs(urlsplit(pinned.url).query)
    unpinned = urlunsplit(urlsplit(pinned.url)._replace(query=urlencode({"exp": params["exp"][0],
                                                                          "sig": params["sig"][0]})))
    for url in (
        # The same key in another tenant's bucket (which exists, and holds one).
        pinned.url.replace(f"/{local_store.bucket_name(bucket)}/", f"/{local_store.bucket_name(other)}/"),
        _with(pinned.url, v=versions[1]),  # another version of the key
        unpinned,  # no version: it would be the newest
    ):
        response = await local_http.get(url)
        assert response.status_code == 403, (url, response.text)
    # A PUT URL for one tenant cannot write into another's bucket either.
    signed = await _signed_put(local_store, bucket, theirs, key="in/new.pdf")
    moved = signed.url.replace(f"/{local_store.bucket_name(bucket)}/", f"/{local_store.bucket_name(other)}/")
    assert (await local_http.put(moved, content=theirs, headers=signed.headers)).status_code == 403
    with pytest.raises(ObjectNotFound):
        await local_store.stat(other, "in/new.pdf")


async def test_a_deleted_version_is_gone_even_with_a_valid_url(local_store: LocalStore,
                                                              local_http: httpx.AsyncClient, bucket: str) -> None:
    data = b"draft"
    signed = await _signed_put(local_store, bucket, data, key="drafts/x.txt", content_type="text/plain")
    version = (await local_http.put(signed.url, content=data, headers=signed.headers)).headers["x-amz-version-id"]
    get = await local_store.presign_get(bucket, "drafts/x.txt", version_id=version, expires=MINUTE)
    await local_store.delete(bucket, "drafts/x.txt", version)
    response = await local_http.get(get.url)
    assert response.status_code == 404 and response.json()["type"] == "urn:cornerstone:problem:not-found"


async def test_retention_can_grow_but_never_shrink(local_store: LocalStore, local_http: httpx.AsyncClient,
                                                   bucket: str) -> None:
    # S3 enforces the same server-side (moto does not model it, so only the local store shows it).
    data = b"deed"
    signed = await _signed_put(local_store, bucket, data)
    version = (await local_http.put(signed.url, content=data, headers=signed.headers)).headers["x-amz-version-id"]
    soon = datetime.now(UTC) + timedelta(days=1)
    later = soon + timedelta(days=365)

    await local_store.set_retention(bucket, "in/doc.pdf", version, RetentionMode.GOVERNANCE, soon)
    with pytest.raises(ObjectLocked):
        await local_store.set_retention(bucket, "in/doc.pdf", version, RetentionMode.GOVERNANCE,
                                        soon - timedelta(hours=1))
    await local_store.set_retention(bucket, "in/doc.pdf", version, RetentionMode.COMPLIANCE, soon)
    with pytest.raises(ObjectLocked):
        await local_store.set_retention(bucket, "in/doc.pdf", version, RetentionMode.GOVERNANCE, later)
    with pytest.raises(ObjectLocked):
        await local_store.set_retention(bucket, "in/doc.pdf", version, RetentionMode.COMPLIANCE,
                                        soon - timedelta(seconds=5))
    await local_store.set_retention(bucket, "in/doc.pdf", version, RetentionMode.COMPLIANCE, later)
    info = await local_store.stat(bucket, "in/doc.pdf", version)
    assert info.retention_mode is RetentionMode.COMPLIANCE and abs(info.retain_until - later) < timedelta(seconds=1)


async def test_a_fresh_upload_is_not_an_old_incomplete_one(local_store: LocalStore, bucket: str) -> None:
    incoming = local_store.root / local_store.bucket_name(bucket) / ".incoming"
    incoming.mkdir()
    (incoming / "abc.part").write_bytes(b"x")
    assert await local_store.list_incomplete(bucket, timedelta(hours=1)) == []
    assert await local_store.abort_incomplete(bucket, timedelta(hours=1)) == 0
    old = datetime.now().timestamp() - 7200
    os.utime(incoming / "abc.part", (old, old))  # as a crash two hours ago leaves it
    assert [u.upload_id for u in await local_store.list_incomplete(bucket, timedelta(hours=1))] == ["abc"]
    assert await local_store.abort_incomplete(bucket, timedelta(hours=1)) == 1


def test_the_signing_key_is_made_once_private_and_shared(tmp_path: Any) -> None:
    path = tmp_path / "data" / "storage.key"
    key = load_or_create_key(path)
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["storage.key"]  # no temporary left behind


async def test_urls_verify_across_workers_and_the_secret_setting_wins(tmp_path: Any) -> None:
    common = {"base_url": "http://api.test", "bucket_prefix": "cs-"}
    one = LocalStore(tmp_path / "objects", key_file=tmp_path / "storage.key", **common)
    two = LocalStore(tmp_path / "objects", key_file=tmp_path / "storage.key", **common)
    signed = await one.presign_get("acme", "a.pdf", expires=MINUTE)
    query = parse_qs(urlsplit(signed.url).query)
    assert two.verify_url("GET", "cs-acme", "a.pdf", query)["exp"] == query["exp"][0]

    configured = LocalStore(tmp_path / "other", secret=b"k" * 32, key_file=tmp_path / "unused.key", **common)
    other = await configured.presign_get("acme", "a.pdf", expires=MINUTE)
    assert not (tmp_path / "unused.key").exists()
    assert parse_qs(urlsplit(other.url).query)["sig"] != query["sig"]


async def test_the_endpoints_exist_only_for_the_local_store(db: Any, settings: Any,
                                                           client: httpx.AsyncClient) -> None:
    from app.asgi import create_app

    s3 = msgspec.structs.replace(settings, s3_endpoint="http://127.0.0.1:9", s3_access_key="a", s3_secret_key="b")
    app = create_app(s3, database=db)
    assert not [r.path for r in app.routes if r.path.startswith("/storage/")]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as s3_client:
        assert (await s3_client.get("/storage/v1/cs-acme/a.pdf?exp=1&sig=x")).status_code == 404
    # The local store's routes are not API operations: the document leaves them out.
    doc = (await client.get("/schema/openapi.json")).json()
    assert not [p for p in doc["paths"] if p.startswith("/storage")]
