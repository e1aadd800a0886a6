"""RFC conformance of the token-side endpoints, in-process: an unknown token_type_hint is
ignored and every type searched (RFC 7662 §2.1, RFC 7009 §2.1); a 429 from the token endpoint
carries an OAuth ``error``; one client authentication method per request (RFC 6749 §2.3);
one authorization code per consent."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from tests.auth.conftest import Realm, auth_params, hidden_fields, pkce_pair, query_of


async def _client_token(client: Any, realm: Realm) -> str:
    issued = await client.post("/oauth/token", auth=(realm.confidential_client, realm.confidential_secret),
                               data={"grant_type": "client_credentials", "scope": "org:read"})
    assert issued.status_code == 200, issued.text
    return str(issued.json()["access_token"])


async def test_an_unknown_token_type_hint_is_ignored(client: Any, realm: Realm) -> None:
    token = await _client_token(client, realm)
    partner = (realm.confidential_client, realm.confidential_secret)
    for hint in ("no_such_type", "refresh_token", "access_token", "urn:x:whatever", ""):
        answer = await client.post("/oauth/introspect", auth=partner, data={"token": token, "token_type_hint": hint})
        assert answer.status_code == 200, (hint, answer.text)
        assert answer.json()["active"] is True and answer.json()["client_id"] == realm.confidential_client, hint
    unknown = await client.post("/oauth/introspect", auth=partner, data={"token": "nope", "token_type_hint": "x"})
    assert unknown.status_code == 200 and unknown.json() == {"active": False}
    revoked = await client.post("/oauth/revoke", auth=partner, data={"token": "nope", "token_type_hint": "x"})
    assert revoked.status_code == 200, revoked.text


async def test_one_client_authentication_method_per_request(client: Any, realm: Realm) -> None:
    partner = (realm.confidential_client, realm.confidential_secret)
    grant = {"grant_type": "client_credentials", "scope": "org:read"}
    twice = [
        {**grant, "client_secret": realm.confidential_secret},
        {**grant, "client_id": realm.confidential_client, "client_secret": realm.confidential_secret},
        {**grant, "client_id": realm.public_client},
        {**grant, "client_secret": "wrong"},
    ]
    for data in twice:
        answer = await client.post("/oauth/token", auth=partner, data=data)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request", (data, answer.text)
        assert "one client authentication method" in answer.json()["error_description"]
    for endpoint in ("/oauth/introspect", "/oauth/revoke"):
        answer = await client.post(endpoint, auth=partner, data={"token": "t", "client_secret": "x"})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request", answer.text
    # Each method alone works; the client naming itself in the body as well is no second method.
    assert (await client.post("/oauth/token", auth=partner, data=grant)).status_code == 200
    assert (await client.post("/oauth/token", auth=partner,
                              data={**grant, "client_id": realm.confidential_client})).status_code == 200
    assert (await client.post("/oauth/token", data={**grant, "client_id": realm.confidential_client,
                                                    "client_secret": realm.confidential_secret})).status_code == 200


async def test_a_429_from_the_token_endpoint_is_an_oauth_error(db: Any, settings: Any) -> None:
    from app.asgi import create_app

    limit = 2
    app = create_app(msgspec.structs.replace(settings, auth_rate_limit=limit), database=db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.40", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as one:
        for _ in range(limit):
            await one.post("/oauth/token", data={"grant_type": "client_credentials"})
        refused = await one.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    body = refused.json()
    assert body["error"] == "slow_down" and "try again" in body["error_description"]
    assert body["type"] == "urn:cornerstone:problem:rate-limited"  # still the API's problem document


async def test_one_code_per_consent(client: Any, realm: Realm) -> None:
    """Re-posting the consent form (the browser's back button, a double click, a replay)
    issued a new authorization code each time."""
    params = auth_params(realm, pkce_pair()[1], client_id=realm.third_party_client, scope="owner:self")
    page = await client.get("/oauth/authorize", params=params)
    consent = await client.post("/oauth/authorize", data={**hidden_fields(page.text), "username": realm.owner.username,
                                                           "password": realm.owner.password})
    assert consent.status_code == 200 and 'name="step" value="consent"' in consent.text, consent.text
    form = {**hidden_fields(consent.text), "decision": "allow"}
    first = await client.post("/oauth/authorize", data=form)
    assert first.status_code == 302 and "code" in query_of(first.headers["location"])
    for decision in ("allow", "deny"):
        again = await client.post("/oauth/authorize", data={**form, "decision": decision})
        assert again.status_code == 400 and "location" not in again.headers, again.text
