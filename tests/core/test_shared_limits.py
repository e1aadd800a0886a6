"""The sign-in rate limit is shared by every API process (Redis when configured, else the
database): it used to count in each process's memory, so N workers allowed N times the
limit. The caller's address is the TCP peer unless that peer is a configured proxy
(uvicorn, as `cornerstone run` started it, believed X-Forwarded-For from any loopback peer);
a made-up X-Forwarded-For never escapes the limit."""

from __future__ import annotations

import ipaddress
import os
import uuid
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import select

from app.config import SettingsError, load_settings
from app.core.audit import tenant_audit
from app.core.request_context import client_address
from tests.conftest import TEST_CLIENT, bearer

LIMIT = 3
STORES = ["database", *(["redis"] if os.environ.get("REDIS_URL") else [])]


def _app(db: Any, settings: Any, store: str, **changes: Any) -> Any:
    from app.asgi import create_app

    redis_url = settings.redis_url if store == "redis" else None
    return create_app(msgspec.structs.replace(settings, auth_rate_limit=LIMIT, redis_url=redis_url, **changes),
                      database=db)


def _client(app: Any, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 5555)), base_url="http://testserver")


@pytest.mark.parametrize("store", STORES)
async def test_two_processes_share_one_limit(db: Any, settings: Any, store: str) -> None:
    """Two apps stand for two workers: each has its own memory, both have the same counters."""
    ip = f"192.0.2.{uuid.uuid4().int % 250 + 1}"
    first, second = _app(db, settings, store), _app(db, settings, store)
    async with _client(first, ip) as a, _client(second, ip) as b:
        answers = [await c.post("/oauth/password-reset", json={"username": "nobody"}) for c in (a, b, a, b)]
    assert [r.status_code for r in answers] == [202, 202, 202, 429], [r.text for r in answers]


@pytest.mark.parametrize("store", STORES)
async def test_a_forwarded_for_header_does_not_escape_the_limit(db: Any, settings: Any, store: str) -> None:
    ip = f"198.18.0.{uuid.uuid4().int % 250 + 1}"
    async with _client(_app(db, settings, store), ip) as c:
        answers = [await c.post("/oauth/password-reset", json={"username": "nobody"},
                                headers={"X-Forwarded-For": f"203.0.113.{n}", "X-Real-IP": f"203.0.113.{n}"})
                   for n in range(LIMIT + 1)]
    assert [r.status_code for r in answers] == [202] * LIMIT + [429]


async def _audited_ip(app: Any, db: Any, slug: str, mint: Any, peer: str, forwarded: str) -> str | None:
    async with _client(app, peer) as c:
        created = await c.post("/api/v1/org/branches", json={"code": f"X{uuid.uuid4().hex[:8]}", "name": "代理"},
                               headers={**bearer(mint(tenant=slug, subject=TEST_CLIENT)), "X-Forwarded-For": forwarded})
    assert created.status_code == 201, created.text
    async with db.tenant_session(f"t_{slug}") as session:
        return await session.scalar(select(tenant_audit.c.ip).where(tenant_audit.c.entity_id == created.json()["id"]))


async def test_forwarded_for_is_believed_from_configured_proxies_only(db: Any, settings: Any, new_tenant: Any,
                                                                     mint: Any) -> None:
    slug = await new_tenant("xff")
    plain = _app(db, settings, "database")
    assert await _audited_ip(plain, db, slug, mint, "127.0.0.1", "203.0.113.9") == "127.0.0.1"
    proxied = _app(db, settings, "database", trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    assert await _audited_ip(proxied, db, slug, mint, "10.1.2.3", "203.0.113.9, 198.51.100.7") == "198.51.100.7"
    # A peer that is no configured proxy (loopback included) is the caller, whatever it forwards.
    assert await _audited_ip(proxied, db, slug, mint, "127.0.0.1", "198.51.100.7") == "127.0.0.1"


def test_client_address_walks_back_over_trusted_proxies_only() -> None:
    proxies = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))
    assert client_address("192.0.2.1", ["198.51.100.7"], proxies) == "192.0.2.1"
    assert client_address("10.0.0.2", ["198.51.100.7"], proxies) == "198.51.100.7"
    assert client_address("10.0.0.2", ["1.1.1.1, 198.51.100.7, 10.0.0.9"], proxies) == "198.51.100.7"
    assert client_address("10.0.0.2", ["1.1.1.1", "198.51.100.7"], proxies) == "198.51.100.7"  # two headers
    assert client_address("fd00::2", ["2001:db8::1"], proxies) == "2001:db8::1"
    assert client_address("10.0.0.2", ["not-an-ip, 198.51.100.7"], proxies) == "198.51.100.7"
    assert client_address("10.0.0.2", ["198.51.100.7, garbage"], proxies) == "10.0.0.2"  # stop at a bad hop
    assert client_address("10.0.0.2", [], proxies) == "10.0.0.2"
    assert client_address("10.0.0.2", ["198.51.100.7"], ()) == "10.0.0.2"


def test_trusted_proxies_setting() -> None:
    assert load_settings({}).trusted_proxies == ()
    parsed = load_settings({"CORNERSTONE_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7 ,::1"}).trusted_proxies
    assert parsed == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.7/32"),
                      ipaddress.ip_network("::1/128"))
    with pytest.raises(SettingsError, match="CORNERSTONE_TRUSTED_PROXIES"):
        load_settings({"CORNERSTONE_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})
