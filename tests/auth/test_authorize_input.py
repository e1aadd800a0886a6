"""Odd characters in authorization parameters: a ", a line break or a backslash in
redirect_uri or response_type made authlib raise while building its own error (a 500 and a
traceback per request). Every such request now gets the 400 error page, never a redirect to
an unverified URI; and GET /oauth/authorize is rate-limited like POST."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest

from tests.auth.conftest import Realm, auth_params, pkce_pair

ODD = ['"', "\n", "\\", "\r\n", "\x00", "\x7f", "<", " ", "é", "\u2028", "%", "%0A", "%5C"]
PARAMS = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
          "code_challenge_method", "ui_locales"]


def _odd_params(realm: Realm, name: str, odd: str) -> dict[str, str]:
    params = auth_params(realm, pkce_pair()[1], ui_locales="en")
    params[name] = odd if name == "response_type" else params[name] + odd
    return params


@pytest.mark.parametrize("odd", ODD)
async def test_odd_characters_in_any_parameter_never_fail(client: Any, realm: Realm, odd: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    for name in PARAMS:
        params = _odd_params(realm, name, odd)
        for answer in (await client.get("/oauth/authorize", params=params),
                       await client.post("/oauth/authorize", data=params)):
            # 200: the sign-in page (a value the syntax allows, e.g. a state with a space);
            # 302: an error sent to the verified redirect URI; 400: the error page.
            assert answer.status_code in (200, 302, 400), (name, odd, answer.status_code, answer.text[:300])
            if name in ("redirect_uri", "response_type") and odd in ('"', "\n", "\\", "\r\n"):
                assert answer.status_code == 400 and "location" not in answer.headers, (name, odd)
                assert answer.headers["content-type"].startswith("text/html")
                assert "malformed" in answer.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a traceback was logged"


@pytest.mark.parametrize("name", ["grant_type", "code", "redirect_uri", "client_id", "refresh_token", "scope",
                                  "code_verifier", "client_secret"])
async def test_odd_characters_at_the_token_endpoint(client: Any, realm: Realm, name: str) -> None:
    for odd in ('"', "\n", "\\", "\x00"):
        data = {"grant_type": "authorization_code", "client_id": realm.public_client, "code": "c",
                "redirect_uri": realm.redirect_uri, "code_verifier": "v" * 43}
        data[name] = data.get(name, "x") + odd
        answer = await client.post("/oauth/token", data=data)
        assert answer.status_code in (400, 401), (name, odd, answer.text)
        assert answer.json()["error"] in ("invalid_request", "invalid_client", "invalid_grant",
                                          "unsupported_grant_type"), answer.text
    for endpoint in ("/oauth/revoke", "/oauth/introspect"):
        for param in ("token", "token_type_hint", "client_id"):
            answer = await client.post(endpoint, data={"token": "t", param: 'x"\n\\'})
            assert answer.status_code in (200, 400, 401), (endpoint, param, answer.text)


async def test_get_authorize_is_rate_limited(db: Any, settings: Any, realm: Realm) -> None:
    import httpx

    from app.asgi import create_app

    limit = 3
    app = create_app(msgspec.structs.replace(settings, auth_rate_limit=limit), database=db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.23", 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as one:
        params = auth_params(realm, pkce_pair()[1])
        for _ in range(limit):
            assert (await one.get("/oauth/authorize", params=params)).status_code == 200
        refused = await one.get("/oauth/authorize", params=params)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        # The POST of the same page counts on its own.
        assert (await one.post("/oauth/authorize", data=params)).status_code == 400  # no csrf cookie
