"""A refused refresh leaves the refresh token as it was. The token used to be spent before
the request was checked: a refresh refused for a wider scope, or sent by another client,
spent it and committed, so the next legitimate use looked like reuse and revoked the whole
family (the user signed out, by anyone who could name the token from another client)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.auth.conftest import Realm
from tests.auth.test_flows import assert_oauth_error, family_of, refresh, refreshed, signed_in_tokens


async def _refresh_with(agent: httpx.AsyncClient, token: str, **data: str) -> httpx.Response:
    return await agent.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token, **data})


async def test_refused_refreshes_spend_nothing(db: Any, realm: Realm, browser_agent: httpx.AsyncClient) -> None:
    r0 = (await signed_in_tokens(browser_agent, realm))["refresh_token"]

    # A scope the token was never granted.
    wider = await _refresh_with(browser_agent, r0, client_id=realm.public_client, scope="org:read org:write")
    assert_oauth_error(wider, 400, "invalid_scope")
    # Another client of the same tenant, public or confidential.
    foreign = await _refresh_with(browser_agent, r0, client_id=realm.third_party_client)
    assert foreign.status_code in (400, 401) and foreign.json()["error"] in ("invalid_grant", "unauthorized_client")
    partner = await browser_agent.post("/oauth/token", auth=(realm.confidential_client, realm.confidential_secret),
                                       data={"grant_type": "refresh_token", "refresh_token": r0})
    assert partner.status_code in (400, 401) and partner.json()["error"] in ("invalid_grant", "unauthorized_client")
    # The app's own client with a broken request.
    assert_oauth_error(await _refresh_with(browser_agent, r0, client_id=realm.public_client, scope="nonsense"),
                       400, "invalid_scope")

    family = await family_of(db, r0)
    assert [(t.spent_at, t.revoked_at) for t in family] == [(None, None)], "a refused refresh changed the token"

    # The legitimate refresh still works, with a narrower scope too, and nothing was revoked.
    narrower = await _refresh_with(browser_agent, r0, client_id=realm.public_client, scope="org:read")
    assert narrower.status_code == 200, narrower.text
    assert narrower.json()["scope"] == "org:read"
    r2 = await refreshed(browser_agent, realm, narrower.json()["refresh_token"])
    family = await family_of(db, r0)
    assert len(family) == 3 and all(t.revoked_at is None for t in family)
    assert [t.spent_at is not None for t in family] == [True, True, False]
    assert (await refresh(browser_agent, realm, r2)).status_code == 200


async def test_reuse_is_still_detected(db: Any, realm: Realm, browser_agent: httpx.AsyncClient) -> None:
    r0 = (await signed_in_tokens(browser_agent, realm))["refresh_token"]
    r1 = await refreshed(browser_agent, realm, r0)
    assert_oauth_error(await refresh(browser_agent, realm, r0), 400, "invalid_grant")
    assert_oauth_error(await refresh(browser_agent, realm, r1), 400, "invalid_grant")
    assert all(t.revoked_reason == "refresh token reuse" for t in await family_of(db, r0))
