"""The OAuth 2.1 authorization server over real HTTP: a uvicorn subprocess on loopback, real
PostgreSQL, authlib's httpx client playing the app, httpx playing the user's browser.

Each test names the behaviour it proves; docs/oauth-security.md maps RFC 9700 onto them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyotp
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from app.auth.models import Account, AuthorizationCode, ClientKind, OAuthClient, RefreshToken
from app.auth.server import CODE_TTL, digest
from app.auth.services import create_client
from app.auth.tokens import KeyRing, SigningKey, rotate_keys
from app.core.audit import Actor
from app.core.clock import utcnow
from app.core.problems import ProblemError
from tests.auth.conftest import (
    CONFIDENTIAL_SCOPES,
    HTTP_TIMEOUT,
    LiveServer,
    Person,
    Realm,
    audit_rows,
    auth_params,
    hidden_fields,
    pkce_pair,
    query_of,
    sign_in,
)
from tests.conftest import OPERATOR

BRANCHES = "/api/v1/org/branches"
ACCESS_TTL_LIMIT = 900  # our policy: access tokens live at most 15 minutes


# ------------------------------------------------------------------------------ helpers


def public_app(live: LiveServer, realm: Realm, scope: str = "jobs:read org:read") -> AsyncOAuth2Client:
    """The mobile app: a public client, no secret, PKCE S256."""
    return AsyncOAuth2Client(client_id=realm.public_client, token_endpoint_auth_method="none",
                             revocation_endpoint_auth_method="none", redirect_uri=realm.redirect_uri,
                             scope=scope, code_challenge_method="S256", timeout=HTTP_TIMEOUT)


def partner(live: LiveServer, realm: Realm, method: str = "client_secret_basic", **kw: Any) -> AsyncOAuth2Client:
    """The partner back end: a confidential client."""
    return AsyncOAuth2Client(client_id=realm.confidential_client, client_secret=realm.confidential_secret,
                             token_endpoint_auth_method=method, timeout=HTTP_TIMEOUT, **kw)


async def code_for(agent: httpx.AsyncClient, realm: Realm, person: Person | None = None,
                   **params: str) -> tuple[str, str]:
    """Sign in through the pages; returns (code, code_verifier)."""
    verifier, challenge = pkce_pair()
    response = await sign_in(agent, auth_params(realm, challenge, **params), person or realm.staff)
    assert response.status_code == 302, response.text
    return query_of(response.headers["location"])["code"], verifier


async def exchange(agent: httpx.AsyncClient, realm: Realm, code: str, verifier: str | None,
                   client_id: str | None = None) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": realm.redirect_uri,
            "client_id": client_id or realm.public_client}
    if verifier is not None:
        data["code_verifier"] = verifier
    return await agent.post("/oauth/token", data=data)


async def signed_in_tokens(agent: httpx.AsyncClient, realm: Realm) -> dict[str, Any]:
    code, verifier = await code_for(agent, realm)
    response = await exchange(agent, realm, code, verifier)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def refresh(agent: httpx.AsyncClient, realm: Realm, refresh_token: str) -> httpx.Response:
    return await agent.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token,
                                                  "client_id": realm.public_client})


async def refreshed(agent: httpx.AsyncClient, realm: Realm, refresh_token: str) -> str:
    """Refresh, which must succeed; returns the new refresh token."""
    response = await refresh(agent, realm, refresh_token)
    assert response.status_code == 200, response.text
    return str(response.json()["refresh_token"])


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert response.headers["cache-control"] == "no-store"


async def verified(live: LiveServer, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of an access token, its signature checked against the server's JWKS."""
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        jwks = (await http.get(live.url("/.well-known/jwks.json"))).json()
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    return dict(decoded.header), dict(decoded.claims)


async def api_get(live: LiveServer, token: str, path: str = BRANCHES) -> httpx.Response:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        return await http.get(live.url(path), headers={"Authorization": f"Bearer {token}"})


async def family_of(db: Any, refresh_token: str) -> list[RefreshToken]:
    """Every refresh token of the family ``refresh_token`` belongs to, oldest first."""
    async with db.platform_session() as session:
        row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest(refresh_token)))
        assert row is not None, "the refresh token is not stored"
        return list((await session.scalars(select(RefreshToken).where(RefreshToken.family_id == row.family_id)
                                           .order_by(RefreshToken.issued_at))).all())


# ------------------------------------------------------------------- authorization code


async def test_code_flow_with_pkce_end_to_end(live_server: LiveServer, realm: Realm,
                                              browser_agent: httpx.AsyncClient) -> None:
    async with public_app(live_server, realm) as app:
        verifier = pkce_pair()[0]
        url, state = app.create_authorization_url(live_server.authorize, code_verifier=verifier)
        request = query_of(url)
        assert request["code_challenge_method"] == "S256" and request["code_challenge"]

        # The user's browser: password, then TOTP (staff), then back to the app.
        response = await sign_in(browser_agent, request, realm.staff)
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(realm.redirect_uri + "?")
        answer = query_of(location)
        assert set(answer) == {"code", "state", "iss"}
        assert answer["state"] == state
        assert answer["iss"] == live_server.issuer  # RFC 9207

        token = await app.fetch_token(live_server.token, authorization_response=location, state=state,
                                      code_verifier=verifier)
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "jobs:read org:read"
        assert 0 < token["expires_in"] <= ACCESS_TTL_LIMIT
        assert token["refresh_token"]

        header, claims = await verified(live_server, token["access_token"])
        assert header["typ"] == "at+jwt" and header["alg"] == "ES256" and header["kid"]
        assert claims["iss"] == live_server.issuer and claims["aud"] == "cornerstone-api"
        assert claims["sub"] == str(realm.staff.id) and claims["client_id"] == realm.public_client
        assert claims["tenant"] == realm.slug and claims["scope"] == "jobs:read org:read"
        assert claims["exp"] - claims["iat"] <= ACCESS_TTL_LIMIT

        branches = await app.get(live_server.url(BRANCHES))
        assert branches.status_code == 200, branches.text


@pytest.mark.parametrize("variant", ["plain", "missing"])
async def test_pkce_plain_or_missing_challenge_is_refused(live_server: LiveServer, realm: Realm,
                                                          browser_agent: httpx.AsyncClient, variant: str) -> None:
    verifier, challenge = pkce_pair()
    params = auth_params(realm, challenge, state="st-" + variant)
    if variant == "plain":
        params.update(code_challenge=verifier, code_challenge_method="plain")
    else:
        del params["code_challenge"], params["code_challenge_method"]

    response = await browser_agent.get("/oauth/authorize", params=params)
    # The client and redirect URI are verified, so the error goes back to the app (RFC 6749 §4.1.2.1).
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(realm.redirect_uri + "?")
    answer = query_of(location)
    assert answer["error"] == "invalid_request"
    assert answer["state"] == "st-" + variant and answer["iss"] == live_server.issuer
    assert "code" not in answer


@pytest.mark.parametrize("verifier, error", [(None, "invalid_request"), ("wrong", "invalid_grant")])
async def test_token_request_needs_the_right_code_verifier(realm: Realm, browser_agent: httpx.AsyncClient,
                                                           verifier: str | None, error: str) -> None:
    code, right = await code_for(browser_agent, realm)
    sent = pkce_pair()[0] if verifier == "wrong" else None
    assert_oauth_error(await exchange(browser_agent, realm, code, sent), 400, error)
    # The failed attempt spent the code: guessing verifiers against one code is not possible.
    assert_oauth_error(await exchange(browser_agent, realm, code, right), 400, "invalid_grant")


@pytest.mark.parametrize("override", [
    {"redirect_uri": "https://evil.example/callback"},
    {"redirect_uri": "{redirect}/extra"},  # a longer path: no prefix matching
    {"redirect_uri": "{redirect}?next=https://evil.example/"},  # extra query: no loose matching
    {"redirect_uri": "http://localhost:{port}/callback"},  # same host by another name: not registered
    {"client_id": "no-such-client"},
    {"response_type": "token", "redirect_uri": "https://evil.example/callback"},
])
async def test_unverified_client_or_redirect_uri_gets_an_error_page(realm: Realm, browser_agent: httpx.AsyncClient,
                                                                    override: dict[str, str]) -> None:
    port = str(urlsplit(realm.redirect_uri).port)
    wanted = {k: v.replace("{redirect}", realm.redirect_uri).replace("{port}", port) for k, v in override.items()}
    params = auth_params(realm, pkce_pair()[1], **wanted)
    for response in [await browser_agent.get("/oauth/authorize", params=params),
                     await browser_agent.post("/oauth/authorize", data=params)]:
        assert response.status_code == 400, response.text
        assert "location" not in response.headers  # never an open redirector
        assert response.headers["content-type"].startswith("text/html")
        assert "无法继续" in response.text  # the error page, not the sign-in form
        assert 'name="password"' not in response.text


async def test_code_replay_revokes_the_tokens_issued_for_it(db: Any, realm: Realm,
                                                            browser_agent: httpx.AsyncClient) -> None:
    code, verifier = await code_for(browser_agent, realm)
    first = await exchange(browser_agent, realm, code, verifier)
    assert first.status_code == 200, first.text
    tokens = first.json()

    assert_oauth_error(await exchange(browser_agent, realm, code, verifier), 400, "invalid_grant")
    # RFC 6749 §4.1.2 / RFC 9700 §4.5: what the code bought is revoked.
    assert_oauth_error(await refresh(browser_agent, realm, tokens["refresh_token"]), 400, "invalid_grant")
    family = await family_of(db, tokens["refresh_token"])
    assert [(t.revoked_reason, t.spent_at) for t in family] == [("code replayed", None)]
    audits = await audit_rows(db, realm, "oauth.refresh.reuse_detected", entity_id=str(family[0].family_id))
    assert [a["after"] for a in audits] == [{"reason": "code replayed", "revoked": 1}]


async def test_code_is_bound_to_its_client_and_redirect_uri(db: Any, realm: Realm,
                                                            browser_agent: httpx.AsyncClient) -> None:
    code, verifier = await code_for(browser_agent, realm)
    # Another client of the same tenant cannot redeem it (and does not burn it).
    stolen = await exchange(browser_agent, realm, code, verifier, client_id=realm.third_party_client)
    assert_oauth_error(stolen, 400, "invalid_grant")
    assert (await exchange(browser_agent, realm, code, verifier)).status_code == 200

    # The redirect URI of the token request must be the authorization request's.
    code, verifier = await code_for(browser_agent, realm)
    wrong_uri = await browser_agent.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": realm.redirect_uri + "/other", "client_id": realm.public_client})
    assert_oauth_error(wrong_uri, 400, "invalid_grant")


async def test_code_lives_sixty_seconds(db: Any, realm: Realm, browser_agent: httpx.AsyncClient) -> None:
    code, verifier = await code_for(browser_agent, realm)
    async with db.platform_transaction() as session:
        row = await session.get(AuthorizationCode, digest(code))
        assert row is not None and row.used_at is None
        assert row.expires_at - row.auth_time == CODE_TTL == timedelta(seconds=60)
        # Age it past its lifetime instead of sleeping a minute.
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert_oauth_error(await exchange(browser_agent, realm, code, verifier), 400, "invalid_grant")


async def test_consent_page_for_a_third_party_client(live_server: LiveServer, realm: Realm,
                                                     browser_agent: httpx.AsyncClient) -> None:
    verifier, challenge = pkce_pair()
    params = auth_params(realm, challenge, client_id=realm.third_party_client, scope="org:read owner:self",
                         state="consent-1")
    page = await browser_agent.get("/oauth/authorize", params=params)
    assert "Partner &lt;b&gt;app&lt;/b&gt;" in page.text and "<b>app</b>" not in page.text  # escaped
    consent = await browser_agent.post("/oauth/authorize", data={
        **hidden_fields(page.text), "username": realm.owner.username, "password": realm.owner.password})
    assert consent.status_code == 200 and 'name="step" value="consent"' in consent.text
    # Only what the client may ask for AND the owner may hold is offered.
    assert "<b>owner:self</b>" in consent.text and "<b>org:read</b>" not in consent.text

    allowed = await browser_agent.post("/oauth/authorize", data={**hidden_fields(consent.text), "decision": "allow"})
    assert allowed.status_code == 302
    answer = query_of(allowed.headers["location"])
    assert answer["state"] == "consent-1" and answer["iss"] == live_server.issuer
    token = await exchange(browser_agent, realm, answer["code"], verifier, client_id=realm.third_party_client)
    assert token.status_code == 200 and token.json()["scope"] == "owner:self"
    # An owner token cannot read the organisation (scope ∧ account ceiling).
    assert (await api_get(live_server, token.json()["access_token"])).status_code == 403

    denied = await sign_in(browser_agent, dict(params, state="consent-2"), realm.owner, decision="deny")
    assert denied.status_code == 302
    answer = query_of(denied.headers["location"])
    assert answer["error"] == "access_denied" and "code" not in answer
    assert answer["state"] == "consent-2" and answer["iss"] == live_server.issuer


# ----------------------------------------------------------------- refused grant types


async def test_implicit_grant_is_refused(live_server: LiveServer, realm: Realm,
                                         browser_agent: httpx.AsyncClient) -> None:
    params = auth_params(realm, pkce_pair()[1], response_type="token", state="imp")
    response = await browser_agent.get("/oauth/authorize", params=params)
    # The redirect URI is registered, so the refusal goes back to it: no token, no fragment.
    assert response.status_code == 302
    location = response.headers["location"]
    assert "#" not in location and "access_token" not in location
    answer = query_of(location)
    assert answer["error"] == "unsupported_response_type"
    assert answer["state"] == "imp" and answer["iss"] == live_server.issuer


async def test_password_grant_is_refused(live_server: LiveServer, realm: Realm,
                                         browser_agent: httpx.AsyncClient) -> None:
    for auth, extra in [(None, {"client_id": realm.public_client}),
                        ((realm.confidential_client, realm.confidential_secret), {})]:
        response = await browser_agent.post("/oauth/token", auth=auth, data={
            "grant_type": "password", "username": realm.staff.username, "password": realm.staff.password, **extra})
        assert_oauth_error(response, 400, "unsupported_grant_type")
        assert "access_token" not in response.json()


# ---------------------------------------------------------------- client credentials


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_client_credentials(live_server: LiveServer, realm: Realm, method: str) -> None:
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async with partner(live_server, realm, method, event_hooks={"request": [record]}) as app:
        token = await app.fetch_token(live_server.token, grant_type="client_credentials", scope="org:read")
        assert token["scope"] == "org:read" and "refresh_token" not in token
        assert 0 < token["expires_in"] <= ACCESS_TTL_LIMIT
        assert (await app.get(live_server.url(BRANCHES))).status_code == 200

    # The client really authenticated the way the test says.
    body = sent[0].content.decode()
    if method == "client_secret_basic":
        assert sent[0].headers["authorization"].startswith("Basic ") and "client_secret" not in body
    else:
        assert "authorization" not in sent[0].headers and "client_secret=" in body
    _, claims = await verified(live_server, token["access_token"])
    assert claims["sub"] == claims["client_id"] == realm.confidential_client and claims["tenant"] == realm.slug


@pytest.mark.parametrize("asked, granted", [
    (None, "jobs:read org:read"),  # no scope asked: the client's allowed scopes (RFC 6749 §3.3)
    ("org:read org:write", "org:read"),  # more than allowed: fewer are granted
    ("org:write", "invalid_scope"),  # nothing asked is allowed
    ("platform:admin", "invalid_scope"),  # an operator scope, never for a tenant client
    ("no:such-scope", "invalid_scope"),  # not in the catalogue
])
async def test_client_credentials_scopes_are_capped_by_the_client(live_server: LiveServer, realm: Realm,
                                                                   browser_agent: httpx.AsyncClient,
                                                                   asked: str | None, granted: str) -> None:
    assert CONFIDENTIAL_SCOPES == ["jobs:read", "org:read"]
    data = {"grant_type": "client_credentials", **({"scope": asked} if asked else {})}
    response = await browser_agent.post("/oauth/token", data=data,
                                        auth=(realm.confidential_client, realm.confidential_secret))
    if granted == "invalid_scope":
        assert_oauth_error(response, 400, "invalid_scope")
        return
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == granted
    _, claims = await verified(live_server, response.json()["access_token"])
    assert claims["scope"] == granted
    # What was not granted is not usable: creating a branch needs org:write.
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        create = await http.post(live_server.url(BRANCHES), json={"code": "X1", "name": "X"},
                                 headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert create.status_code == 403, create.text


async def test_client_secret_is_stored_as_a_digest_only(db: Any, realm: Realm) -> None:
    async with db.platform_session() as session:
        row = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == realm.confidential_client))
    assert row is not None and row.secret_hash == digest(realm.confidential_secret)
    assert realm.confidential_secret not in str(row.secret_hash)
    assert len(realm.confidential_secret) >= 43  # 256 bits, URL-safe base64


@pytest.mark.parametrize("uri, allowed", [
    ("https://app.example.com/callback", True),
    ("http://127.0.0.1:7777/callback", True),  # loopback for native apps (RFC 8252 §7.3)
    ("com.example.app:/oauth/callback", True),  # private-use scheme (RFC 8252 §7.1)
    ("http://app.example.com/callback", False),  # plain http off loopback
    ("https://app.example.com/callback#frag", False),  # fragments are forbidden (RFC 6749 §3.1.2)
    ("javascript:alert(1)", False),
])
async def test_redirect_uri_registration_rules(db: Any, realm: Realm, uri: str, allowed: bool) -> None:
    async with db.platform_session() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        try:
            await create_client(session, tenant_id=realm.tenant_id, name="probe", kind=ClientKind.public,
                                redirect_uris=[uri], allowed_scopes=["org:read"])
            accepted = True
        except ProblemError:
            accepted = False
        finally:
            await session.rollback()  # only the verdict matters
    assert accepted is allowed


@pytest.mark.parametrize("style", ["basic", "post"])
async def test_client_credentials_with_a_wrong_secret(realm: Realm, browser_agent: httpx.AsyncClient,
                                                      style: str) -> None:
    data = {"grant_type": "client_credentials"}
    if style == "basic":
        response = await browser_agent.post("/oauth/token", data=data, auth=(realm.confidential_client, "wrong"))
    else:
        response = await browser_agent.post("/oauth/token", data={
            **data, "client_id": realm.confidential_client, "client_secret": realm.confidential_secret + "x"})
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_public_client_cannot_use_client_credentials(realm: Realm, browser_agent: httpx.AsyncClient) -> None:
    response = await browser_agent.post("/oauth/token", data={"grant_type": "client_credentials",
                                                              "client_id": realm.public_client})
    # A public client has no credentials to authenticate with at this grant.
    assert_oauth_error(response, 401, "invalid_client")


# -------------------------------------------------------------------- refresh tokens


async def test_refresh_tokens_rotate(db: Any, live_server: LiveServer, realm: Realm,
                                     browser_agent: httpx.AsyncClient) -> None:
    first = await signed_in_tokens(browser_agent, realm)
    async with public_app(live_server, realm) as app:
        app.token = first
        seen = [first["refresh_token"]]
        for _ in range(2):
            token = await app.refresh_token(live_server.token, refresh_token=seen[-1])
            assert token["refresh_token"] not in seen  # a new one every time
            assert token["scope"] == "jobs:read org:read"
            seen.append(token["refresh_token"])
            assert (await app.get(live_server.url(BRANCHES))).status_code == 200

    family = await family_of(db, seen[0])
    assert [t.token_hash for t in family] == [digest(r) for r in seen]
    assert [t.parent_id for t in family] == [None, family[0].id, family[1].id]
    assert [t.spent_at is not None for t in family] == [True, True, False]  # the old ones are spent
    assert all(t.revoked_at is None for t in family)


async def test_refresh_token_reuse_revokes_the_whole_family(db: Any, realm: Realm,
                                                            browser_agent: httpx.AsyncClient) -> None:
    r0 = (await signed_in_tokens(browser_agent, realm))["refresh_token"]
    r1 = await refreshed(browser_agent, realm, r0)
    r2 = await refreshed(browser_agent, realm, r1)

    assert_oauth_error(await refresh(browser_agent, realm, r0), 400, "invalid_grant")  # replay of a spent one
    # The newest token, never used, went down with its family.
    assert_oauth_error(await refresh(browser_agent, realm, r2), 400, "invalid_grant")

    family = await family_of(db, r0)
    assert len(family) == 3
    assert all(t.revoked_at is not None and t.revoked_reason == "refresh token reuse" for t in family)
    audits = await audit_rows(db, realm, "oauth.refresh.reuse_detected", entity_id=str(family[0].family_id))
    assert [a["after"] for a in audits] == [{"reason": "refresh token reuse", "revoked": 3}]
    assert audits[0]["client_id"] == realm.public_client


async def test_concurrent_refresh_with_one_token(db: Any, live_server: LiveServer, realm: Realm,
                                                 browser_agent: httpx.AsyncClient) -> None:
    """Two refreshes with the same token at once. RotatingRefreshGrant spends the token with
    one ``UPDATE … WHERE spent_at IS NULL``: the second UPDATE waits for the first one's row
    lock, then matches nothing, so that request sees a spent token, which is reuse: it gets
    invalid_grant and revokes the family, including the token the winner was just given.
    Several rounds, so that the requests surely overlap at least once (they used to hang then)."""
    for _ in range(3):
        r0 = (await signed_in_tokens(browser_agent, realm))["refresh_token"]
        data = {"grant_type": "refresh_token", "refresh_token": r0, "client_id": realm.public_client}
        # Two connections, so the server handles both at the same time.
        async with httpx.AsyncClient(base_url=live_server.base_url, timeout=HTTP_TIMEOUT) as a, \
                httpx.AsyncClient(base_url=live_server.base_url, timeout=HTTP_TIMEOUT) as b:
            responses = await asyncio.gather(a.post("/oauth/token", data=data), b.post("/oauth/token", data=data))

        assert sorted(r.status_code for r in responses) == [200, 400], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200).json()
        assert_oauth_error(next(r for r in responses if r.status_code == 400), 400, "invalid_grant")

        family = await family_of(db, r0)
        assert [t.token_hash for t in family] == [digest(r0), digest(winner["refresh_token"])]
        assert all(t.revoked_reason == "refresh token reuse" for t in family)
        assert_oauth_error(await refresh(browser_agent, realm, winner["refresh_token"]), 400, "invalid_grant")
        audits = await audit_rows(db, realm, "oauth.refresh.reuse_detected", entity_id=str(family[0].family_id))
        assert [a["after"] for a in audits] == [{"reason": "refresh token reuse", "revoked": 2}]


# ----------------------------------------------------------- revocation, introspection


async def test_revocation(db: Any, live_server: LiveServer, realm: Realm, browser_agent: httpx.AsyncClient) -> None:
    tokens = await signed_in_tokens(browser_agent, realm)
    async with public_app(live_server, realm) as app:
        # Another client cannot revoke it (RFC 7009 §2.1: the token must be the caller's).
        other = await browser_agent.post("/oauth/revoke", data={
            "token": tokens["refresh_token"], "client_id": realm.third_party_client})
        assert_oauth_error(other, 400, "invalid_grant")

        response = await app.revoke_token(live_server.revoke, token=tokens["refresh_token"],
                                          token_type_hint="refresh_token")
        assert response.status_code == 200 and response.json() == {}
        # Unknown tokens are answered 200 too (RFC 7009 §2.2): nothing to learn by probing.
        unknown = await app.revoke_token(live_server.revoke, token="not-a-token", token_type_hint="refresh_token")
        assert unknown.status_code == 200 and unknown.json() == {}

    assert_oauth_error(await refresh(browser_agent, realm, tokens["refresh_token"]), 400, "invalid_grant")
    family = await family_of(db, tokens["refresh_token"])
    assert [t.revoked_reason for t in family] == ["revoked by client"]
    audits = await audit_rows(db, realm, "oauth.token.revoke", entity_id=str(family[0].family_id))
    assert len(audits) == 1 and audits[0]["client_id"] == realm.public_client


async def test_introspection(live_server: LiveServer, realm: Realm, other_realm: Realm,
                             browser_agent: httpx.AsyncClient) -> None:
    tokens = await signed_in_tokens(browser_agent, realm)
    access, refresh_token = tokens["access_token"], tokens["refresh_token"]
    async with partner(live_server, realm) as rs, partner(live_server, other_realm) as stranger:
        answer = (await rs.introspect_token(live_server.introspect, token=access)).json()
        assert answer["active"] is True
        assert answer["scope"] == "jobs:read org:read" and answer["client_id"] == realm.public_client
        assert answer["sub"] == str(realm.staff.id) and answer["tenant"] == realm.slug
        assert answer["iss"] == live_server.issuer and answer["token_type"] == "Bearer"

        answer = (await rs.introspect_token(live_server.introspect, token=refresh_token,
                                            token_type_hint="refresh_token")).json()
        assert answer["active"] is True and answer["token_type"] == "refresh_token"

        # Another tenant's resource server learns nothing about this tenant's tokens.
        for token in (access, refresh_token):
            response = await stranger.introspect_token(live_server.introspect, token=token)
            assert response.status_code == 200 and response.json() == {"active": False}

        assert (await rs.introspect_token(live_server.introspect, token="garbage")).json() == {"active": False}

        async with public_app(live_server, realm) as app:
            assert (await app.revoke_token(live_server.revoke, token=refresh_token)).status_code == 200
        answer = await rs.introspect_token(live_server.introspect, token=refresh_token)
        assert answer.json() == {"active": False}

    # A public client has no credentials: it may not introspect.
    response = await browser_agent.post("/oauth/introspect", data={"token": access, "client_id": realm.public_client})
    assert_oauth_error(response, 401, "invalid_client")


# ------------------------------------------------------------------ discovery and keys


async def test_metadata(live_server: LiveServer, browser_agent: httpx.AsyncClient) -> None:
    meta = (await browser_agent.get("/.well-known/oauth-authorization-server")).json()
    issuer = live_server.issuer
    assert meta["issuer"] == issuer
    assert meta["authorization_endpoint"] == live_server.authorize
    assert meta["token_endpoint"] == live_server.token
    assert meta["revocation_endpoint"] == live_server.revoke
    assert meta["introspection_endpoint"] == live_server.introspect
    assert meta["jwks_uri"] == issuer + "/.well-known/jwks.json"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert sorted(meta["grant_types_supported"]) == ["authorization_code", "client_credentials", "refresh_token"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert "none" not in meta["introspection_endpoint_auth_methods_supported"]


async def test_jwks_publishes_the_signing_key(db: Any, live_server: LiveServer, realm: Realm) -> None:
    async with partner(live_server, realm) as app:
        token = (await app.fetch_token(live_server.token, grant_type="client_credentials"))["access_token"]
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await http.get(live_server.url("/.well-known/jwks.json"))
    assert response.status_code == 200
    keys = {k["kid"]: k for k in response.json()["keys"]}
    kid = KeyRing.kid_of(token)
    assert kid in keys
    assert all("d" not in k for k in keys.values())  # public halves only
    async with db.platform_session() as session:
        row = await session.get(SigningKey, kid)
    assert row is not None and keys[kid] == row.public_jwk
    header, _ = await verified(live_server, token)
    assert header["kid"] == kid


async def test_access_tokens_are_checked_for_issuer_and_audience(live_server: LiveServer, realm: Realm,
                                                                 mint: Any, db: Any, settings: Any) -> None:
    # Signed with the server's own key, but issued for another issuer (the in-process harness's).
    assert settings.issuer != live_server.issuer
    foreign_issuer = await api_get(live_server, mint(tenant=realm.slug, scopes=["org:read"]))
    assert foreign_issuer.status_code == 401 and "iss" in foreign_issuer.json()["detail"]

    ring = KeyRing(issuer=live_server.issuer, audience="some-other-api", token_ttl=settings.access_token_ttl)
    async with db.platform_session() as session:
        await ring.refresh(session, force=True)
    wrong_audience = ring.mint(subject="x", client_id=realm.confidential_client, scopes=["org:read"],
                               tenant=realm.slug)
    response = await api_get(live_server, wrong_audience)
    assert response.status_code == 401 and "aud" in response.json()["detail"]


# ------------------------------------------------------------------- sign-in defences


async def test_sign_in_pages_refuse_framing_and_forged_posts(live_server: LiveServer, realm: Realm,
                                                             browser_agent: httpx.AsyncClient) -> None:
    params = auth_params(realm, pkce_pair()[1])
    page = await browser_agent.get("/oauth/authorize", params=params)
    totp = await browser_agent.post("/oauth/authorize", data={
        **hidden_fields(page.text), "username": realm.staff.username, "password": realm.staff.password})
    for response in (page, totp):
        assert response.status_code == 200
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'"

    # CSRF: a post whose csrf field does not match the cookie (double submit) is refused.
    forged = await browser_agent.post("/oauth/authorize", data={
        **hidden_fields(page.text), "csrf": "forged", "username": realm.staff.username,
        "password": realm.staff.password})
    assert forged.status_code == 400 and "页面已过期" in forged.text and "location" not in forged.headers
    # ... and so is one from a browser without the cookie (another site's form).
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=HTTP_TIMEOUT) as stranger:
        cross_site = await stranger.post("/oauth/authorize", data={
            **hidden_fields(page.text), "username": realm.staff.username, "password": realm.staff.password})
    assert cross_site.status_code == 400 and "页面已过期" in cross_site.text
    assert 'name="step" value="totp"' not in cross_site.text


async def test_staff_sign_in_needs_a_valid_totp_code(live_server: LiveServer, realm: Realm, new_staff: Any,
                                                     browser_agent: httpx.AsyncClient) -> None:
    person: Person = await new_staff("mfa")
    params = auth_params(realm, pkce_pair()[1])
    page = await browser_agent.get("/oauth/authorize", params=params)
    second = await browser_agent.post("/oauth/authorize", data={
        **hidden_fields(page.text), "username": person.username, "password": person.password})
    # The right password alone only gets the TOTP step.
    assert second.status_code == 200 and "location" not in second.headers
    assert 'name="step" value="totp"' in second.text and "两步验证" in second.text
    fields = hidden_fields(second.text)

    # Skipping the TOTP step with its ticket, or stepping without any ticket, starts over.
    skip = await browser_agent.post("/oauth/authorize", data={**fields, "step": "consent", "decision": "allow"})
    assert skip.status_code == 400 and "登录已超时" in skip.text and "location" not in skip.headers
    no_ticket = {k: v for k, v in fields.items() if k != "ticket"}
    bare = await browser_agent.post("/oauth/authorize", data={**no_ticket, "code": person.totp()})
    assert bare.status_code == 400 and "location" not in bare.headers

    # A code outside the accepted window (±1 step around now).
    totp, now = pyotp.TOTP(person.totp_secret or ""), time.time()
    near = {totp.at(now + step) for step in (-30, 0, 30)}
    wrong_code = next(c for c in ("000000", "111111", "222222", "333333") if c not in near)
    for code in ["", wrong_code]:
        wrong = await browser_agent.post("/oauth/authorize", data={**fields, "code": code})
        assert wrong.status_code == 401 and "验证码不正确" in wrong.text and "location" not in wrong.headers

    right = await browser_agent.post("/oauth/authorize", data={**fields, "code": person.totp()})
    assert right.status_code == 302 and "code" in query_of(right.headers["location"])


async def test_wrong_passwords_are_throttled_not_locked(db: Any, realm: Realm, new_staff: Any,
                                                       browser_agent: httpx.AsyncClient) -> None:
    """Five wrong passwords in a row from one source make that source wait before its next
    attempt for that username, the right password included; the account itself is not locked
    (anyone knowing a username could lock its owner out: tests/auth/test_account_existence.py
    shows the owner, elsewhere, signing in meanwhile)."""
    person: Person = await new_staff("lock")
    page = await browser_agent.get("/oauth/authorize", params=auth_params(realm, pkce_pair()[1]))
    fields = hidden_fields(page.text)
    outcomes = []
    for attempt in range(1, 7):
        password = person.password if attempt == 6 else f"Wrong-{attempt}-password"
        response = await browser_agent.post("/oauth/authorize", data={
            **fields, "username": person.username, "password": password})
        assert "location" not in response.headers and 'name="step" value="totp"' not in response.text
        outcomes.append((response.status_code, "尝试次数过多" in response.text, "用户名或密码不正确" in response.text))
    # 1-5: wrong password; the 6th, with the right password, must wait.
    assert outcomes == [(401, False, True)] * 5 + [(429, True, False)]

    async with db.platform_session() as session:
        account = await session.get(Account, person.id)
    assert account is not None and account.failed_sign_ins == 0 and account.locked_until is None
    audits = await audit_rows(db, realm, "auth.sign_in.failed", actor_id=str(person.id))
    assert [a["after"]["locked"] for a in audits] == [False] * 5
    assert all(a["after"]["username"] == person.username and a["client_id"] == realm.public_client for a in audits)
    throttled = [a for a in await audit_rows(db, realm, "auth.sign_in.throttled")
                 if a["after"]["username"] == person.username]
    assert len(throttled) == 1 and throttled[0]["after"]["retryAfter"] >= 1


async def test_token_issuance_is_audited(db: Any, live_server: LiveServer, realm: Realm,
                                         browser_agent: httpx.AsyncClient) -> None:
    async def issued(client_id: str) -> list[dict[str, Any]]:
        return await audit_rows(db, realm, "oauth.token.issue", entity_id=client_id)

    before_partner, before_app = len(await issued(realm.confidential_client)), len(await issued(realm.public_client))
    async with partner(live_server, realm) as app:
        await app.fetch_token(live_server.token, grant_type="client_credentials", scope="org:read")
        await app.fetch_token(live_server.token, grant_type="client_credentials")
    failed = await browser_agent.post("/oauth/token", data={"grant_type": "client_credentials"},
                                      auth=(realm.confidential_client, "wrong"))
    assert failed.status_code == 401
    tokens = await signed_in_tokens(browser_agent, realm)
    await refreshed(browser_agent, realm, tokens["refresh_token"])
    assert_oauth_error(await refresh(browser_agent, realm, "nope"), 400, "invalid_grant")

    partner_rows = (await issued(realm.confidential_client))[before_partner:]
    assert [(r["actor_kind"], r["actor_id"], r["after"]) for r in partner_rows] == [
        ("client", realm.confidential_client, {"grant_type": "client_credentials", "scope": "org:read"}),
        ("client", realm.confidential_client, {"grant_type": "client_credentials", "scope": "jobs:read org:read"}),
    ]
    app_rows = (await issued(realm.public_client))[before_app:]
    assert [(r["actor_kind"], r["actor_id"], r["after"]["grant_type"]) for r in app_rows] == [
        ("user", str(realm.staff.id), "authorization_code"), ("user", str(realm.staff.id), "refresh_token")]


# ----------------------------------------------------------------------- key rotation


async def test_key_rotation_keeps_old_tokens_and_accepts_new_ones(db: Any, live_server: LiveServer, realm: Realm,
                                                                  settings: Any, key_ring: Any) -> None:
    async with partner(live_server, realm) as app:
        before = (await app.fetch_token(live_server.token, grant_type="client_credentials"))["access_token"]
    assert (await api_get(live_server, before)).status_code == 200
    old_kid = KeyRing.kid_of(before)

    async with db.platform_transaction() as session:
        new_key = await rotate_keys(session, token_ttl=settings.access_token_ttl)
    try:
        # Another process signs with the new key at once (a ring for the live server's issuer).
        ring = KeyRing(issuer=live_server.issuer, audience=settings.audience, token_ttl=settings.access_token_ttl)
        async with db.platform_session() as session:
            await ring.refresh(session, force=True)
        after = ring.mint(subject=realm.confidential_client, client_id=realm.confidential_client,
                          scopes=["org:read"], tenant=realm.slug)
        assert KeyRing.kid_of(after) == new_key.kid != old_kid
        # The server has never seen that kid: it reloads the key set instead of refusing.
        assert (await api_get(live_server, after)).status_code == 200
        # The retired key still verifies what it signed.
        assert (await api_get(live_server, before)).status_code == 200
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            kids = {k["kid"] for k in (await http.get(live_server.url("/.well-known/jwks.json"))).json()["keys"]}
        assert {old_kid, new_key.kid} <= kids
        # Having reloaded, the server itself now signs with the new key.
        async with partner(live_server, realm) as app:
            fresh = (await app.fetch_token(live_server.token, grant_type="client_credentials"))["access_token"]
        assert KeyRing.kid_of(fresh) == new_key.kid
        assert (await api_get(live_server, fresh)).status_code == 200
    finally:
        # The harness's minting ring follows the rotation, as tests/core/test_auth.py does.
        async with db.platform_session() as session:
            await key_ring.refresh(session, force=True)
