"""Browser front ends on another origin: the origins CORNERSTONE_CORS_ORIGINS allows may call
the API (preflight, then the request, with the headers the API reads and answers readable);
any other origin gets no CORS grant, and the setting refuses what is not an origin."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from app.config import SettingsError, load_settings
from tests.conftest import TEST_CLIENT, bearer

FRONT_END = "https://portal.example.com"


@pytest.fixture(scope="module")
async def cors_client(db: Any, settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    from app.asgi import create_app

    app = create_app(msgspec.structs.replace(settings, cors_origins=(FRONT_END,)), database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def test_an_allowed_origin_passes_the_preflight_and_reads_the_answer(
        cors_client: httpx.AsyncClient, new_tenant: Any, mint: Any) -> None:
    preflight = await cors_client.options("/api/v1/org/branches", headers={
        "Origin": FRONT_END, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key, change-reason",
    })
    assert preflight.status_code in (200, 204), preflight.text
    assert preflight.headers["access-control-allow-origin"] == FRONT_END
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "change-reason", "if-match"} <= allowed

    slug = await new_tenant("cors")
    created = await cors_client.post("/api/v1/org/branches", headers={
        **bearer(mint(tenant=slug, subject=TEST_CLIENT)), "Origin": FRONT_END, "Idempotency-Key": "cors-1"},
        json={"code": f"C{uuid.uuid4().hex[:8]}", "name": "跨域"})
    assert created.status_code == 201, created.text
    assert created.headers["access-control-allow-origin"] == FRONT_END
    exposed = {h.strip().lower() for h in created.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "location", "x-request-id", "idempotent-replayed", "retry-after"} <= exposed


async def test_another_origin_gets_no_grant(cors_client: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    stranger = await cors_client.options("/api/v1/org/branches", headers={
        "Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in stranger.headers
    # With the setting empty (the default), no origin is granted.
    default = await client.options("/api/v1/org/branches", headers={
        "Origin": FRONT_END, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in default.headers


def test_the_setting_takes_origins_only() -> None:
    assert load_settings({"CORNERSTONE_CORS_ORIGINS": "https://a.example.com/, http://LOCALHOST:5173"}).cors_origins \
        == ("https://a.example.com", "http://localhost:5173")
    assert load_settings({}).cors_origins == ()
    for bad in ("a.example.com", "https://a.example.com/app", "ftp://a.example.com"):
        with pytest.raises(SettingsError, match="CORNERSTONE_CORS_ORIGINS"):
            load_settings({"CORNERSTONE_CORS_ORIGINS": bad})
