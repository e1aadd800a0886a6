"""Both object stores, each behind a real HTTP server: the local store behind the app's own
endpoints (in process), the S3 store against moto's S3 server on a loopback port."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
from moto.server import ThreadedMotoServer

from app.storage import LocalStore, ObjectStore, S3Store

MOTO_KEYS = {"access_key": "testing", "secret_key": "testing"}


@dataclass
class Backend:
    name: str
    store: ObjectStore
    http: httpx.AsyncClient  # a plain HTTP client that reaches the store's presigned URLs
    # moto (5.x) verifies neither presigned signatures nor their expiry, nor upload
    # checksums; AWS S3 and MinIO do all three. The local store always does.
    checks_signatures: bool
    make_incomplete: Callable[[str], Awaitable[None]]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # port 0: a free one
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_store(moto_endpoint: str) -> S3Store:
    # A run-specific prefix: moto's state lives as long as the process.
    return S3Store(moto_endpoint, **MOTO_KEYS, region="us-east-1", bucket_prefix=f"cs{uuid.uuid4().hex[:6]}-")


@pytest.fixture(scope="session")
def local_settings(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return msgspec.structs.replace(settings, data_dir=tmp_path_factory.mktemp("storage-data"))


@pytest.fixture(scope="session")
async def local_app(db: Any, local_settings: Any) -> Any:
    from app.asgi import create_app

    return create_app(local_settings, database=db)


@pytest.fixture(scope="session")
def local_store(local_app: Any) -> LocalStore:
    store = local_app.state.store
    assert isinstance(store, LocalStore)
    return store


@pytest.fixture
async def local_http(local_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    # The app's own endpoints, in process: every URL the local store signs routes to them.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=local_app)) as client:
        yield client


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, local_store: LocalStore, local_http: httpx.AsyncClient,
                  s3_store: S3Store) -> AsyncIterator[Backend]:
    if request.param == "local":
        async def interrupted_local(tenant: str) -> None:
            # What a crash mid-upload leaves (a handled failure removes its own file).
            incoming = local_store.root / local_store.bucket_name(tenant) / ".incoming"
            incoming.mkdir(exist_ok=True)
            (incoming / f"{uuid.uuid4().hex}.part").write_bytes(b"half an upl")

        yield Backend("local", local_store, local_http, checks_signatures=True, make_incomplete=interrupted_local)
        return

    async def interrupted_s3(tenant: str) -> None:
        s3_store._client._create_multipart_upload(s3_store.bucket_name(tenant), "scans/partial.pdf", {})

    async with httpx.AsyncClient(timeout=10) as client:
        yield Backend("s3", s3_store, client, checks_signatures=False, make_incomplete=interrupted_s3)


@pytest.fixture
def tenant() -> str:
    """A fresh slug (with an underscore, which bucket names cannot hold)."""
    return f"st_{uuid.uuid4().hex[:10]}"
