"""Storage errors reach clients as problem documents: an S3 server that does not answer
makes a 503 with Retry-After, through the handlers the app installs."""

from __future__ import annotations

import socket
from typing import Any

import httpx
from litestar import Litestar, get

from app.storage import LocalStore, ObjectNotFound, S3Store
from app.storage.problems import STORAGE_EXCEPTION_HANDLERS


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_storage_down_is_503_with_retry_after(local_store: LocalStore) -> None:
    dead = S3Store(f"http://127.0.0.1:{_closed_port()}", access_key="a", secret_key="b", bucket_prefix="cs-")

    @get("/down")
    async def down() -> None:
        await dead.stat("acme", "a.pdf")

    @get("/missing")
    async def missing() -> None:
        await local_store.stat("nobody_here", "a.pdf")

    app = Litestar([down, missing], exception_handlers=STORAGE_EXCEPTION_HANDLERS)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/down")
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert response.json()["type"] == "urn:cornerstone:problem:service-unavailable"
        response = await client.get("/missing")
        assert response.status_code == 404 and response.json()["type"] == "urn:cornerstone:problem:not-found"


async def test_the_app_installs_the_storage_handlers(app: Any) -> None:
    assert app.exception_handlers[ObjectNotFound.__mro__[1]] is STORAGE_EXCEPTION_HANDLERS[ObjectNotFound.__mro__[1]]
