"""The sign-in (its page and its form), token and password-reset endpoints are rate-limited
per client IP and per endpoint: above the limit a 429 problem with Retry-After. Other
endpoints are not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from tests.identity.conftest import assert_problem

LIMIT = 3


@pytest.fixture
async def limited(db: Any, settings: Any) -> AsyncIterator[Any]:
    """An app of its own with a low limit (its callers' addresses are no other test's, so the
    counts, shared by every app on this database, are its own)."""
    from app.asgi import create_app

    app = create_app(msgspec.structs.replace(settings, auth_rate_limit=LIMIT), database=db)

    def client(ip: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 4321)),
                                 base_url="http://testserver")

    yield client


async def test_limits_and_retry_after(limited: Any) -> None:
    async with limited("203.0.113.7") as one, limited("203.0.113.8") as other:
        for _ in range(LIMIT):
            assert (await one.post("/oauth/password-reset", json={"username": "nobody"})).status_code == 202
        refused = await one.post("/oauth/password-reset", json={"username": "nobody"})
        body = assert_problem(refused, 429, "rate-limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 60 and "try again" in body["detail"]

        # Each endpoint counts on its own; other callers are not affected.
        for _ in range(LIMIT):
            answer = await one.post("/oauth/token", data={"grant_type": "client_credentials"})
            assert answer.status_code in (400, 401), answer.text
        assert_problem(await one.post("/oauth/token", data={"grant_type": "client_credentials"}), 429,
                       "rate-limited")
        for _ in range(LIMIT):
            assert (await one.post("/oauth/password-reset/confirm",
                                   json={"token": "x", "newPassword": "Aa-1234567890"})).status_code == 403
        assert_problem(await one.post("/oauth/password-reset/confirm",
                                      json={"token": "x", "newPassword": "Aa-1234567890"}), 429, "rate-limited")
        for _ in range(LIMIT):
            assert (await one.post("/oauth/authorize", data={})).status_code == 400
        limited_authorize = await one.post("/oauth/authorize", data={})
        assert_problem(limited_authorize, 429, "rate-limited")
        assert "retry-after" in limited_authorize.headers

        # The sign-in page is limited like its form (each counts on its own).
        for _ in range(LIMIT):
            assert (await one.get("/oauth/authorize")).status_code == 400
        assert (await one.get("/oauth/authorize")).status_code == 429

        assert (await other.post("/oauth/password-reset", json={"username": "nobody"})).status_code == 202
        # The rest of the API is not limited here.
        for _ in range(LIMIT + 2):
            assert (await one.get("/health/live")).status_code == 200


def test_settings() -> None:
    from app.config import SettingsError, load_settings

    defaults = load_settings({})
    assert defaults.auth_rate_limit == 30 and defaults.smtp_url is None
    assert load_settings({"CORNERSTONE_AUTH_RATE_LIMIT": "500"}).auth_rate_limit == 500
    with pytest.raises(SettingsError, match="CORNERSTONE_AUTH_RATE_LIMIT"):
        load_settings({"CORNERSTONE_AUTH_RATE_LIMIT": "0"})
    with pytest.raises(SettingsError, match="CORNERSTONE_SMTP_URL") as caught:
        load_settings({"CORNERSTONE_SMTP_URL": "http://user:hunter2@mail.example"})
    assert "hunter2" not in str(caught.value)  # the URL may carry the relay's password
