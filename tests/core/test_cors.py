"""Browser front ends on another origin (the Fetch standard's CORS protocol): the origins
CORNERSTONE_CORS_ORIGINS lists, and those the group's OAuth clients register, pass the
preflight and may read every answer, errors included; any other origin gets no grant; the
allowed set comes from memory, not from a query per request; and an origin one group
registered grants no access to another group's data, which the token alone decides.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import event

from app.config import SettingsError, load_settings
from tests.conftest import TEST_CLIENT, bearer
from tests.identity.conftest import assert_problem, audit_rows

FRONT_END = "https://portal.example.com"
STRANGER = "https://evil.example.net"
CLIENTS = "/api/v1/identity/clients"
BRANCHES = "/api/v1/org/branches"
PROBLEM = "urn:cornerstone:problem:"


@pytest.fixture(scope="module")
async def cors_client(db: Any, settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    from app.asgi import create_app

    app = create_app(msgspec.structs.replace(settings, cors_origins=(FRONT_END,)), database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


def preflight_headers(origin: str, method: str = "POST", asked: str | None = None) -> dict[str, str]:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    return {**headers, "Access-Control-Request-Headers": asked} if asked else headers


def listed(value: str) -> set[str]:
    return {h.strip().lower() for h in value.split(",") if h.strip()}


def assert_granted(answer: httpx.Response, origin: str) -> None:
    assert answer.headers.get("access-control-allow-origin") == origin, (answer.status_code, dict(answer.headers))
    assert {"etag", "location", "retry-after", "idempotent-replayed", "x-request-id", "www-authenticate"} \
        <= listed(answer.headers["access-control-expose-headers"])
    assert "origin" in listed(answer.headers["vary"])
    assert "access-control-allow-credentials" not in answer.headers


def assert_refused_preflight(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == PROBLEM + "cors-origin-refused"
    assert not [h for h in answer.headers if h.startswith("access-control-")]
    assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["x-request-id"]


async def test_an_allowed_origin_passes_the_preflight_and_reads_the_answer(
        cors_client: httpx.AsyncClient, new_tenant: Any, mint: Any) -> None:
    preflight = await cors_client.options(BRANCHES, headers=preflight_headers(
        FRONT_END, asked="Authorization, content-type, idempotency-key, change-reason, x-request-id, x-evil"))
    assert preflight.status_code == 204 and preflight.content == b""
    assert preflight.headers["access-control-allow-origin"] == FRONT_END  # the origin itself, never *
    assert {"get", "post", "put", "patch", "delete"} <= listed(preflight.headers["access-control-allow-methods"])
    # The asked headers the API reads, and only those.
    assert listed(preflight.headers["access-control-allow-headers"]) == {
        "authorization", "content-type", "idempotency-key", "change-reason", "x-request-id"}
    assert preflight.headers["access-control-max-age"] == "600"
    assert "origin" in listed(preflight.headers["vary"])
    assert "access-control-allow-credentials" not in preflight.headers
    # Answered before any route, it still carries what every answer does.
    assert preflight.headers["x-content-type-options"] == "nosniff" and preflight.headers["x-request-id"]
    # A header the API does not read is not granted (the browser then refuses the request).
    odd = await cors_client.options(BRANCHES, headers=preflight_headers(FRONT_END, "PATCH", "x-evil"))
    assert odd.status_code == 204 and "access-control-allow-headers" not in odd.headers

    slug = await new_tenant("cors")
    created = await cors_client.post(BRANCHES, headers={
        **bearer(mint(tenant=slug, subject=TEST_CLIENT)), "Origin": FRONT_END, "Idempotency-Key": "cors-1"},
        json={"code": f"C{uuid.uuid4().hex[:8]}", "name": "跨域"})
    assert created.status_code == 201, created.text
    assert_granted(created, FRONT_END)


async def test_error_answers_are_readable_by_an_allowed_origin(cors_client: httpx.AsyncClient, new_tenant: Any,
                                                                mint: Any) -> None:
    # A 401 (no token), a 404 (no route), a 422 (bad body): a page must read why.
    unauthenticated = await cors_client.get(BRANCHES, headers={"Origin": FRONT_END})
    assert unauthenticated.status_code == 401 and "www-authenticate" in unauthenticated.headers
    assert_granted(unauthenticated, FRONT_END)
    missing = await cors_client.get("/api/v1/no-such-thing", headers={"Origin": FRONT_END})
    assert missing.status_code == 404
    assert_granted(missing, FRONT_END)
    slug = await new_tenant("corserr")
    invalid = await cors_client.post(BRANCHES, headers={**bearer(mint(tenant=slug, subject=TEST_CLIENT)),
                                                        "Origin": FRONT_END}, json={"code": ""})
    assert invalid.status_code in (400, 422) and invalid.json()["type"].startswith(PROBLEM)
    assert_granted(invalid, FRONT_END)
    # The token endpoint answers a browser too (a public client's code exchange), its errors included.
    assert (await cors_client.options("/oauth/token", headers=preflight_headers(FRONT_END))).status_code == 204
    refused = await cors_client.post("/oauth/token", headers={"Origin": FRONT_END},
                                     data={"grant_type": "authorization_code", "code": "nope", "client_id": "nope",
                                           "code_verifier": "x" * 43, "redirect_uri": FRONT_END + "/cb"})
    assert refused.status_code in (400, 401) and "error" in refused.json()
    assert_granted(refused, FRONT_END)


async def test_another_origin_gets_no_grant(cors_client: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    assert_refused_preflight(await cors_client.options(BRANCHES, headers=preflight_headers(STRANGER)))
    # "null" (a sandboxed frame, a file: page) is never an allowed origin.
    assert_refused_preflight(await cors_client.options(BRANCHES, headers=preflight_headers("null")))
    # An actual request is answered as usual, without a grant: the browser hides the answer.
    answer = await cors_client.get(BRANCHES, headers={"Origin": STRANGER})
    assert answer.status_code == 401 and "access-control-allow-origin" not in answer.headers
    assert "origin" in listed(answer.headers["vary"])
    # Without an Origin nothing changes but Vary, so no cache serves one origin's answer to another.
    plain = await cors_client.get("/health/live")
    assert "access-control-allow-origin" not in plain.headers and "origin" in listed(plain.headers["vary"])
    # An OPTIONS that is not a preflight still gets the Allow header.
    allow = await cors_client.options(BRANCHES, headers={"Origin": STRANGER})
    assert allow.status_code == 204 and "POST" in allow.headers["allow"]
    # With the setting empty (the default) and no client registering it, an origin is refused.
    assert_refused_preflight(await client.options(BRANCHES, headers=preflight_headers(FRONT_END, "GET")))


async def test_a_client_registers_its_origins(client: httpx.AsyncClient, db: Any, new_tenant: Any,
                                              mint: Any) -> None:
    mark = uuid.uuid4().hex[:8]
    spa, admin_added = f"https://spa-{mark}.example.org", f"https://console-{mark}.example.org"
    assert_refused_preflight(await client.options(BRANCHES, headers=preflight_headers(spa)))
    slug = await new_tenant("corscli")
    auth = bearer(mint(tenant=slug))
    created = await client.post(CLIENTS, headers=auth, json={
        "kind": "public", "name": "Partner portal", "allowedScopes": ["org:read"],
        "redirectUris": [f"{spa}/callback", "com.partner.app:/cb", f"{spa}:443/other"],
        "allowedOrigins": [f"HTTPS://Console-{mark}.Example.org:443/"]})
    assert created.status_code == 201, created.text
    c = created.json()["client"]
    assert c["allowedOrigins"] == [admin_added]  # lower case, no default port, no slash
    assert c["browserOrigins"] == [spa, admin_added]  # the app scheme has no web origin
    # Allowed at once by this process (the cache is dropped when the change commits).
    for origin in (spa, admin_added):
        answer = await client.options(BRANCHES, headers=preflight_headers(origin, "GET", "authorization"))
        assert answer.status_code == 204 and answer.headers["access-control-allow-origin"] == origin

    url, etag = created.headers["location"], created.headers["etag"]
    patched = await client.patch(url, headers={**auth, "If-Match": etag}, json={"allowedOrigins": []})
    assert patched.status_code == 200 and patched.json()["browserOrigins"] == [spa], patched.text
    assert_refused_preflight(await client.options(BRANCHES, headers=preflight_headers(admin_added)))
    rows = [r for r in await audit_rows(db, slug, c["clientId"]) if r.action == "oauth_client.update"]
    assert len(rows) == 1 and rows[0].before["allowed_origins"] == [admin_added] \
        and rows[0].after["allowed_origins"] == [], rows

    # A disabled client's origins are no longer allowed.
    disabled = await client.post(url + "/disable", json={"reason": "portal retired"},
                                 headers={**auth, "If-Match": patched.headers["etag"]})
    assert disabled.status_code == 200, disabled.text
    assert_refused_preflight(await client.options(BRANCHES, headers=preflight_headers(spa)))


async def test_a_suspended_groups_origins_are_closed(client: httpx.AsyncClient, new_tenant: Any,
                                                     mint: Any) -> None:
    origin = f"https://s-{uuid.uuid4().hex[:8]}.example.org"
    slug = await new_tenant("corssus")
    made = await client.post(CLIENTS, headers=bearer(mint(tenant=slug)), json={
        "kind": "public", "name": "portal", "redirectUris": [origin + "/cb"]})
    assert made.status_code == 201, made.text
    assert (await client.options(BRANCHES, headers=preflight_headers(origin))).status_code == 204
    operator = bearer(mint())
    tenant = await client.get(f"/platform/v1/tenants/{slug}", headers=operator)
    suspended = await client.post(f"/platform/v1/tenants/{slug}/suspend", json={"reason": "unpaid"},
                                  headers={**operator, "If-Match": tenant.headers["etag"]})
    assert suspended.status_code == 200, suspended.text
    assert_refused_preflight(await client.options(BRANCHES, headers=preflight_headers(origin)))
    # Resumed: open again.
    resumed = await client.post(f"/platform/v1/tenants/{slug}/resume", json={"reason": "paid"},
                                headers={**operator, "If-Match": suspended.headers["etag"]})
    assert resumed.status_code == 200, resumed.text
    assert (await client.options(BRANCHES, headers=preflight_headers(origin))).status_code == 204


async def test_origins_are_checked(client: httpx.AsyncClient, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("corsbad")
    auth = bearer(mint(tenant=slug))
    base = {"kind": "public", "name": "x", "redirectUris": ["https://app.example.com/cb"]}
    for bad in ["https://a.example.com/app", "https://*.example.com", "*", "ftp://a.example.com",
                "https://user@a.example.com", "a.example.com", "https://a.example.com?x=1", "https://",
                "https://a.example.com:99999", "null"]:
        answer = await client.post(CLIENTS, headers=auth, json={**base, "allowedOrigins": ["https://ok.example", bad]})
        body = assert_problem(answer, 422, "validation")
        assert body["errors"][0]["field"] == "allowedOrigins[1]", (bad, body)
    # A back end (client credentials) has no browser origins.
    created = await client.post(CLIENTS, headers=auth, json={"kind": "confidential", "name": "back end"})
    assert created.status_code == 201, created.text
    answer = await client.patch(created.headers["location"], json={"allowedOrigins": ["https://b.example.com"]},
                                headers={**auth, "If-Match": created.headers["etag"]})
    assert assert_problem(answer, 422, "validation")["errors"][0]["field"] == "allowedOrigins"


async def test_an_origin_grants_no_data(client: httpx.AsyncClient, new_tenant: Any, mint: Any) -> None:
    """Tenant A's client registers an origin; from it, tenant B's data needs B's token, and
    A's token reads only A's."""
    origin = f"https://a-{uuid.uuid4().hex[:8]}.example.org"
    tenant_a, tenant_b = await new_tenant("corsa"), await new_tenant("corsb")
    made = await client.post(CLIENTS, headers=bearer(mint(tenant=tenant_a)), json={
        "kind": "public", "name": "A's portal", "redirectUris": [origin + "/cb"]})
    assert made.status_code == 201, made.text
    mine = await client.get(CLIENTS, headers={**bearer(mint(tenant=tenant_a)), "Origin": origin})
    assert_granted(mine, origin)
    assert [c["name"] for c in mine.json()["items"]] == ["A's portal"]
    theirs = await client.get(CLIENTS, headers={**bearer(mint(tenant=tenant_b)), "Origin": origin})
    assert theirs.status_code == 200 and theirs.json()["items"] == []
    nothing = await client.get(f"{CLIENTS}/{made.json()['client']['id']}",
                               headers={**bearer(mint(tenant=tenant_b)), "Origin": origin})
    assert nothing.status_code == 404


@pytest.fixture
def queries(db: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_the_allowed_set_is_served_from_memory(cors_client: httpx.AsyncClient, queries: list[str]) -> None:
    await cors_client.options(BRANCHES, headers=preflight_headers("https://warm-up.example.com"))
    queries.clear()
    for i in range(20):
        await cors_client.options(BRANCHES, headers=preflight_headers(f"https://o{i}.example.com"))
        await cors_client.options(BRANCHES, headers=preflight_headers(FRONT_END))
    assert queries == []


def test_the_setting_takes_origins_only() -> None:
    assert load_settings({"CORNERSTONE_CORS_ORIGINS": "https://a.example.com/, http://LOCALHOST:5173, "
                                                      "https://b.example.com:443"}).cors_origins \
        == ("https://a.example.com", "http://localhost:5173", "https://b.example.com")
    assert load_settings({}).cors_origins == ()
    for bad in ("a.example.com", "https://a.example.com/app", "ftp://a.example.com", "https://*.example.com"):
        with pytest.raises(SettingsError, match="CORNERSTONE_CORS_ORIGINS"):
            load_settings({"CORNERSTONE_CORS_ORIGINS": bad})


def test_origins_are_normalised_as_browsers_serialise_them() -> None:
    from app.core.cors import normalise_origin, origin_of

    assert normalise_origin("HTTPS://Portal.Example.com:443/") == "https://portal.example.com"
    assert normalise_origin("http://example.com:80") == "http://example.com"
    assert normalise_origin("http://example.com:443") == "http://example.com:443"  # not http's default
    assert normalise_origin("http://[::1]:5173") == "http://[::1]:5173"
    for bad in ("https://a.example.com/x", "https://a.example.com?", "https://a.example.com#", "https://*.a.com",
                "https://u:p@a.example.com", "ws://a.example.com", "https://a.example.com:x", "//a.example.com"):
        with pytest.raises(ValueError):
            normalise_origin(bad)
    assert origin_of("https://Spa.example.org:443/callback?x=1") == "https://spa.example.org"
    assert origin_of("http://127.0.0.1:8765/callback") == "http://127.0.0.1:8765"
    assert origin_of("com.example.app:/oauth/callback") is None
