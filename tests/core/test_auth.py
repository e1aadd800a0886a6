"""Authentication and the scope guard: every way a token can be wrong is refused with the
right problem, key rotation keeps tokens valid, and the OpenAPI document says all of it."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select

from app.auth.scopes import PLATFORM_SCOPES, SCOPES, TENANT_SCOPES
from app.auth.tokens import CLOCK_SKEW, KeyRing, SigningKey, rotate_keys
from app.core.ids import new_id
from tests.conftest import bearer

PROBLEM = "urn:cornerstone:problem:"
BRANCHES = "/api/v1/org/branches"
TENANTS = "/platform/v1/tenants"


@pytest.fixture
async def tenant(new_tenant: Any) -> str:
    return await new_tenant("auth")


async def _active_key(db: Any) -> ECKey:
    async with db.platform_session() as session:
        row = await session.scalar(
            select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc())
        )
    return ECKey.import_key(row.private_jwk)


def _claims(settings: Any, tenant: str | None, **override: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.issuer, "aud": settings.audience, "sub": "crafted@test", "client_id": "test-client",
        "iat": now, "exp": now + 300, "jti": str(new_id()), "scope": " ".join(sorted(TENANT_SCOPES)),
    }
    if tenant is not None:
        claims["tenant"] = tenant
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(key: ECKey, claims: dict[str, Any], *, typ: str | None = "at+jwt", kid: str | None = None) -> str:
    header: dict[str, Any] = {"alg": "ES256", "kid": kid or key.kid}
    if typ is not None:
        header["typ"] = typ
    return jwt.encode(header, claims, key, default_type=None)


def _assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEM + slug and body["status"] == status
    return body


async def test_missing_or_malformed_authorization(client: Any) -> None:
    missing = await client.get(BRANCHES)
    _assert_problem(missing, 401, "unauthenticated")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for header in ["Basic x", "Bearer", "Bearer   ", "Token abc"]:
        response = await client.get(BRANCHES, headers={"Authorization": header})
        _assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")
    # The operator API is guarded the same way.
    _assert_problem(await client.get(TENANTS), 401, "unauthenticated")


@pytest.mark.parametrize("token", [
    "garbage",
    "a.b.c",
    "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",  # a header without kid, an empty payload, a junk signature
    "%%%.%%%.%%%",
    base64.urlsafe_b64encode(b'["not", "an", "object"]').decode().rstrip("=") + ".e30.x",
])
async def test_garbage_tokens(client: Any, token: str) -> None:
    response = await client.get(BRANCHES, headers=bearer(token))
    _assert_problem(response, 401, "invalid-token")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_expired_token(client: Any, mint: Any, tenant: str) -> None:
    past = int(time.time()) - 3600  # far beyond the clock-skew leeway
    token = mint(tenant=tenant, extra={"iat": past - 900, "exp": past})
    _assert_problem(await client.get(BRANCHES, headers=bearer(token)), 401, "invalid-token")
    # Just inside the leeway still passes: hosts' clocks differ by a few seconds.
    fresh = mint(tenant=tenant, extra={"exp": int(time.time()) - 5})
    assert (await client.get(BRANCHES, headers=bearer(fresh))).status_code == 200


async def test_token_verified_then_expired_is_refused(client: Any, mint: Any, tenant: str) -> None:
    # The verified-token cache must not outlive the token's own expiry.
    # Valid for 3 more seconds counting the verifier's leeway: ample for the first call.
    expires = int(time.time()) - CLOCK_SKEW + 3
    token = mint(tenant=tenant, extra={"exp": expires})
    assert (await client.get(BRANCHES, headers=bearer(token))).status_code == 200
    await asyncio.sleep(max(0.0, expires + CLOCK_SKEW + 1 - time.time()))
    _assert_problem(await client.get(BRANCHES, headers=bearer(token)), 401, "invalid-token")


async def test_foreign_signing_key(client: Any, settings: Any, db: Any, tenant: str) -> None:
    foreign = ECKey.generate_key("P-256", auto_kid=True)  # same kid format as ours, unknown kid
    token = _sign(foreign, _claims(settings, tenant))
    _assert_problem(await client.get(BRANCHES, headers=bearer(token)), 401, "invalid-token")
    # A foreign key claiming the kid of our real key fails on the signature.
    real = await _active_key(db)
    spoofed = _sign(foreign, _claims(settings, tenant), kid=real.kid)
    _assert_problem(await client.get(BRANCHES, headers=bearer(spoofed)), 401, "invalid-token")
    # Sanity: the same claims signed by the real key pass, so the refusals above are about the key.
    assert (await client.get(BRANCHES, headers=bearer(_sign(real, _claims(settings, tenant))))).status_code == 200


async def test_alg_none_is_refused(client: Any, settings: Any, db: Any, tenant: str) -> None:
    real = await _active_key(db)

    def b64(obj: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    token = f'{b64({"alg": "none", "kid": real.kid, "typ": "at+jwt"})}.{b64(_claims(settings, tenant))}.'
    _assert_problem(await client.get(BRANCHES, headers=bearer(token)), 401, "invalid-token")


@pytest.mark.parametrize("override", [
    {"aud": "someone-else"},
    {"iss": "https://evil.example"},
    {"aud": None},  # absent
    {"iss": None},
    {"exp": None},
    {"sub": None},
    {"client_id": None},
    {"nbf": int(time.time()) + 3600},  # not valid yet
], ids=["aud", "iss", "no-aud", "no-iss", "no-exp", "no-sub", "no-client-id", "nbf-future"])
async def test_wrong_claims(client: Any, settings: Any, db: Any, tenant: str, override: dict[str, Any]) -> None:
    token = _sign(await _active_key(db), _claims(settings, tenant, **override))
    _assert_problem(await client.get(BRANCHES, headers=bearer(token)), 401, "invalid-token")


@pytest.mark.parametrize("typ", [None, "JWT", "id_token+jwt"])
async def test_token_must_be_an_access_token(client: Any, settings: Any, db: Any, tenant: str,
                                             typ: str | None) -> None:
    token = _sign(await _active_key(db), _claims(settings, tenant), typ=typ)
    _assert_problem(await client.get(BRANCHES, headers=bearer(token)), 401, "invalid-token")


async def test_sign_in_ticket_is_not_an_access_token(client: Any, key_ring: Any, tenant: str) -> None:
    # Signed by the same key, but another typ and audience: it must never open the API.
    ticket = key_ring.sign_ticket({"sub": "user@test", "client_id": "test-client", "tenant": tenant,
                                   "scope": " ".join(sorted(TENANT_SCOPES))}, 300)
    _assert_problem(await client.get(BRANCHES, headers=bearer(ticket)), 401, "invalid-token")


async def test_scopes(client: Any, mint: Any, tenant: str) -> None:
    read_only = bearer(mint(tenant=tenant, scopes=["org:read"]))
    refused = await client.post(BRANCHES, json={"code": "SZ", "name": "Shenzhen"}, headers=read_only)
    _assert_problem(refused, 403, "insufficient-scope")
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith("Bearer") and 'error="insufficient_scope"' in challenge
    assert 'scope="org:write"' in challenge
    nothing = bearer(mint(tenant=tenant, scopes=[]))
    _assert_problem(await client.get(BRANCHES, headers=nothing), 403, "insufficient-scope")
    # Exactly the required scope is enough, for reads and for writes.
    assert (await client.get(BRANCHES, headers=read_only)).status_code == 200
    write_only = bearer(mint(tenant=tenant, scopes=["org:write"]))
    created = await client.post(BRANCHES, json={"code": "SZ", "name": "Shenzhen"}, headers=write_only)
    assert created.status_code == 201, created.text
    _assert_problem(await client.get(BRANCHES, headers=write_only), 403, "insufficient-scope")


async def test_token_kinds_stay_on_their_side(client: Any, mint: Any, tenant: str) -> None:
    # Even holding every scope, an operator token is not a tenant token, and vice versa.
    everything = sorted(SCOPES)
    operator = bearer(mint(scopes=everything))
    _assert_problem(await client.get(BRANCHES, headers=operator), 403, "forbidden")
    _assert_problem(await client.get("/api/v1/org/group", headers=operator), 403, "forbidden")
    tenant_token = bearer(mint(tenant=tenant, scopes=everything))
    _assert_problem(await client.get(TENANTS, headers=tenant_token), 403, "forbidden")
    _assert_problem(await client.post(TENANTS, json={"slug": "sneaky", "displayName": "x"}, headers=tenant_token),
                    403, "forbidden")
    assert (await client.get(TENANTS, headers=bearer(mint(scopes=sorted(PLATFORM_SCOPES))))).status_code == 200
    # An operator token without the operator scope is short of scope, not of kind.
    _assert_problem(await client.get(TENANTS, headers=bearer(mint(scopes=[]))), 403, "insufficient-scope")


async def test_token_for_unknown_tenant(client: Any, mint: Any) -> None:
    token = bearer(mint(tenant="no_such_tenant_here"))
    body = _assert_problem(await client.get(BRANCHES, headers=token), 401, "invalid-token")
    assert "tenant" in body["detail"]


async def test_key_rotation(client: Any, mint: Any, key_ring: Any, db: Any, settings: Any, tenant: str) -> None:
    old_token = bearer(mint(tenant=tenant))
    assert (await client.get(BRANCHES, headers=old_token)).status_code == 200  # the app has loaded the old key
    old_kid = KeyRing.kid_of(old_token["Authorization"].split()[1])

    async with db.platform_transaction() as session:
        new_key = await rotate_keys(session, token_ttl=settings.access_token_ttl)
    try:
        # Another process (here, a fresh ring) signs with the new key straight away.
        ring = KeyRing(issuer=settings.issuer, audience=settings.audience, token_ttl=settings.access_token_ttl)
        async with db.platform_session() as session:
            await ring.refresh(session, force=True)
        new_token = ring.mint(subject="rotated@test", client_id="test-client", scopes=sorted(TENANT_SCOPES),
                              tenant=tenant)
        assert KeyRing.kid_of(new_token) == new_key.kid != old_kid
        # The app has never seen that kid: it must reload the keys rather than refuse.
        assert (await client.get(BRANCHES, headers=bearer(new_token))).status_code == 200
        # The retired key still verifies the tokens it signed (a new one, so no cache helps).
        still_old = mint(tenant=tenant, subject="old-key@test")
        assert KeyRing.kid_of(still_old) == old_kid
        assert (await client.get(BRANCHES, headers=bearer(still_old))).status_code == 200
        assert (await client.get(BRANCHES, headers=old_token)).status_code == 200
    finally:
        # The session's minting ring follows the rotation so that later tests sign with the active key.
        async with db.platform_session() as session:
            await key_ring.refresh(session, force=True)
    assert KeyRing.kid_of(mint(tenant=tenant)) == new_key.kid


async def test_health_is_public(client: Any) -> None:
    live = await client.get("/health/live")
    assert live.status_code == 200 and live.json()["status"] == "ok"
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ok"
    assert {c["name"]: c["ok"] for c in body["checks"]} == {"database": True, "broker": True}


async def test_openapi_document(client: Any, app: Any) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    flows = doc["components"]["securitySchemes"]["oauth2"]["flows"]
    assert set(flows["clientCredentials"]["scopes"]) == set(SCOPES)

    # What each operation declares to the guard, read from the app's own routes.
    declared: dict[str, tuple[str, ...]] = {}
    for route in app.routes:
        if not route.path.startswith(("/api/", "/platform/")):
            continue
        for handler in getattr(route, "route_handlers", []):
            if handler.operation_id and isinstance(handler.operation_id, str):
                declared[handler.operation_id] = tuple(handler.opt.get("scopes", ()))

    seen: list[str] = []
    for path, item in doc["paths"].items():
        if not path.startswith(("/api/", "/platform/")):
            continue
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            where = f"{method.upper()} {path}"
            assert op.get("operationId"), f"{where} has no operationId"
            assert op.get("summary"), f"{where} has no summary"
            assert op.get("tags"), f"{where} has no tag"
            scopes = declared.get(op["operationId"])
            assert scopes, f"{where}: no route handler declares scopes for {op['operationId']}"
            assert op.get("security") == [{"oauth2": list(scopes)}], f"{where} security {op.get('security')}"
            for code in ("401", "403", "422"):
                documented = op["responses"].get(code)
                assert documented, f"{where} does not document {code}"
                assert documented["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"}, f"{where} {code} is not a problem response"
            seen.append(op["operationId"])
    assert len(seen) == len(set(seen)), "operationIds must be unique"
    # The document covers every operation the app serves under /api and /platform.
    assert set(seen) == {op for op, scopes in declared.items() if scopes}
