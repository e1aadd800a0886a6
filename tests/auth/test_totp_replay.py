"""A TOTP code is accepted once (RFC 6238 §5.2): the verifier refuses a code whose time step
is not later than the last one the account used, at sign-in and on /api/v1/me alike. A code
used to be good for every request within its window."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyotp

from app.auth import accounts
from tests.auth.conftest import Person, Realm, auth_params, hidden_fields, pkce_pair, query_of
from tests.conftest import bearer


async def _totp_page(agent: httpx.AsyncClient, realm: Realm, person: Person) -> dict[str, str]:
    page = await agent.get("/oauth/authorize", params=auth_params(realm, pkce_pair()[1]))
    second = await agent.post("/oauth/authorize", data={**hidden_fields(page.text), "username": person.username,
                                                         "password": person.password})
    assert second.status_code == 200 and 'name="step" value="totp"' in second.text, second.text
    return hidden_fields(second.text)


async def test_a_code_signs_in_once(client: Any, realm: Realm, new_staff: Any) -> None:
    person: Person = await new_staff("replay")
    assert person.totp_secret is not None
    code = pyotp.TOTP(person.totp_secret).now()
    first = await client.post("/oauth/authorize", data={**await _totp_page(client, realm, person), "code": code})
    assert first.status_code == 302 and "code" in query_of(first.headers["location"]), first.text

    # The same code again, in a sign-in of its own: refused, like a wrong one.
    again = await client.post("/oauth/authorize", data={**await _totp_page(client, realm, person), "code": code})
    assert again.status_code == 401 and "location" not in again.headers
    assert "验证码不正确" in again.text

    # An earlier step's code is refused too; the next step's is accepted (the window allows it).
    totp = pyotp.TOTP(person.totp_secret)
    earlier = await client.post("/oauth/authorize", data={**await _totp_page(client, realm, person),
                                                          "code": totp.at(time.time() - 30)})
    assert earlier.status_code == 401
    later = await client.post("/oauth/authorize", data={**await _totp_page(client, realm, person),
                                                        "code": totp.at(time.time() + 30)})
    assert later.status_code == 302, later.text


def test_steps_are_compared_not_codes() -> None:
    secret = pyotp.random_base32()
    totp, now = pyotp.TOTP(secret), time.time()
    step = int(now) // 30
    assert accounts.totp_step(secret, totp.at(now), after=None) == step
    assert accounts.totp_step(secret, totp.at(now), after=step) is None
    assert accounts.totp_step(secret, totp.at(now + 30), after=step) == step + 1
    assert accounts.totp_step(secret, totp.at(now - 30), after=step - 2) == step - 1
    assert accounts.totp_step(secret, totp.at(now + 90), after=None) is None  # outside the window
    assert accounts.totp_step(secret, "12a456", after=None) is None


async def test_a_code_confirms_once_on_my_account(client: Any, db: Any, realm: Realm, mint: Any) -> None:
    """Regenerating recovery codes with the code that just turned two-step verification on is
    refused (counted as a wrong code); the next step's code works."""
    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from tests.conftest import OPERATOR

    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        account = await create_account(session, tenant_id=realm.tenant_id, kind=AccountKind.staff,
                                       username=f"me{time.time_ns()}", display_name="Me", password=None,
                                       scopes=["account:self"])
    auth = bearer(mint(tenant=realm.slug, subject=str(account.id), scopes=["account:self"]))
    started = await client.post("/api/v1/me/mfa/totp", headers=auth)
    assert started.status_code == 200, started.text
    totp = pyotp.TOTP(started.json()["secret"])
    code = totp.now()
    assert (await client.post("/api/v1/me/mfa/totp/confirm", json={"code": code}, headers=auth)).status_code == 200
    reused = await client.post("/api/v1/me/mfa/recovery-codes", json={"code": code}, headers=auth)
    assert reused.status_code == 403 and reused.json()["errors"][0]["field"] == "code", reused.text
    fresh = await client.post("/api/v1/me/mfa/recovery-codes", json={"code": totp.at(time.time() + 30)},
                              headers=auth)
    assert fresh.status_code == 200, fresh.text
