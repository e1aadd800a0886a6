"""One's own account: read it, change the password, enrol an authenticator, recovery codes.
Wrong passwords and codes count towards the lock-out even though the request fails."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pyotp
from sqlalchemy import select

from app.auth import accounts
from app.auth.models import Account
from tests.conftest import bearer
from tests.identity.conftest import (
    add_refresh_tokens,
    assert_no_secrets,
    assert_problem,
    audit_rows,
    live_refresh_tokens,
    strong_password,
)

ME = "/api/v1/me"


async def _account(db: Any, account_id: uuid.UUID) -> Account:
    async with db.platform_session() as session:
        row = await session.scalar(select(Account).where(Account.id == account_id))
    assert row is not None
    return row


async def test_me_is_the_signed_in_account(client: Any, new_tenant: Any, person: Any, mint: Any) -> None:
    slug = await new_tenant("idme")
    me = await person(slug)
    answer = await client.get(ME, headers=me.auth(mint))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == str(me.id) and body["username"] == me.username and body["passwordSet"] is True
    assert_no_secrets(body)

    # A client's own token (subject == client id) has no account behind it; nor does an
    # account of another tenant.
    assert_problem(await client.get(ME, headers=bearer(mint(tenant=slug, subject="test-client",
                                                            scopes=["account:self"]))), 403, "forbidden")
    other = await new_tenant("idme_b")
    assert_problem(await client.get(ME, headers=bearer(mint(tenant=other, subject=str(me.id),
                                                            scopes=["account:self"]))), 403, "forbidden")
    assert_problem(await client.get(ME, headers=me.auth(mint, ["org:read"])), 403, "insufficient-scope")


async def test_change_password(client: Any, db: Any, new_tenant: Any, person: Any, mint: Any) -> None:
    slug = await new_tenant("idpwd")
    me = await person(slug)
    auth = me.auth(mint)
    await add_refresh_tokens(db, me.id)

    wrong = await client.post(ME + "/password", json={"currentPassword": "not-it", "newPassword": strong_password()},
                              headers=auth)
    assert assert_problem(wrong, 403, "forbidden")["errors"][0]["field"] == "currentPassword"
    assert (await _account(db, me.id)).failed_sign_ins == 1  # counted although the request failed

    weak = await client.post(ME + "/password", json={"currentPassword": me.password,
                                                     "newPassword": me.username + "aaaaaaaaaa"}, headers=auth)
    body = assert_problem(weak, 422, "validation")
    messages = {e["message"] for e in body["errors"] if e["field"] == "newPassword"}
    assert any("three of" in m for m in messages) and any("username" in m for m in messages), body
    short = await client.post(ME + "/password", json={"currentPassword": me.password, "newPassword": "Aa1!"},
                              headers=auth)
    assert assert_problem(short, 422, "validation")["errors"][0]["field"] == "newPassword"

    new = strong_password()
    changed = await client.post(ME + "/password", json={"currentPassword": me.password, "newPassword": new},
                                headers=auth)
    assert changed.status_code == 204, changed.text
    row = await _account(db, me.id)
    assert await accounts.verify_password(row.password_hash, new)
    assert not await accounts.verify_password(row.password_hash, me.password)
    assert await live_refresh_tokens(db, account_id=me.id) == 0  # every app signs in again

    actions = [r.action for r in await audit_rows(db, slug, me.id)]
    assert actions == ["account.credential_refused", "account.password.change"], actions


async def test_locked_account_is_refused(client: Any, db: Any, new_tenant: Any, person: Any, mint: Any) -> None:
    slug = await new_tenant("idlock")
    me = await person(slug)
    auth = me.auth(mint)
    for _ in range(accounts.LOCK_AFTER):
        wrong = await client.post(ME + "/password", json={"currentPassword": "nope", "newPassword": strong_password()},
                                  headers=auth)
        assert wrong.status_code == 403
    locked = await client.post(ME + "/password", json={"currentPassword": me.password,
                                                       "newPassword": strong_password()}, headers=auth)
    assert_problem(locked, 429, "rate-limited")
    assert int(locked.headers["retry-after"]) >= 1


async def test_totp_enrolment_and_recovery_codes(client: Any, db: Any, new_tenant: Any, person: Any,
                                                 mint: Any) -> None:
    slug = await new_tenant("idmfa")
    me = await person(slug)
    auth = me.auth(mint)

    assert_problem(await client.post(ME + "/mfa/totp/confirm", json={"code": "123456"}, headers=auth), 409, "conflict")
    started = await client.post(ME + "/mfa/totp", headers=auth)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauthUri"].startswith("otpauth://totp/") and f"secret={secret}" in started.json()[
        "otpauthUri"]
    assert (await client.get(ME, headers=auth)).json()["mfaEnabled"] is False  # pending until confirmed

    wrong_code = f"{(int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000:06d}"
    refused = await client.post(ME + "/mfa/totp/confirm", json={"code": wrong_code}, headers=auth)
    assert assert_problem(refused, 403, "forbidden")["errors"][0]["field"] == "code"
    assert_problem(await client.post(ME + "/mfa/totp/confirm", json={"code": "12345a"}, headers=auth), 422,
                   "validation")

    confirmed = await client.post(ME + "/mfa/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=auth)
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recoveryCodes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    row = await _account(db, me.id)
    assert row.totp_confirmed_at is not None
    assert row.recovery_code_hashes == [accounts.recovery_digest(c) for c in codes]  # hashed at rest
    assert not any(c in str(row.recovery_code_hashes) for c in codes)
    me_now = (await client.get(ME, headers=auth)).json()
    assert me_now["mfaEnabled"] is True and me_now["recoveryCodesLeft"] == 10
    assert_problem(await client.post(ME + "/mfa/totp", headers=auth), 409, "conflict")

    # Regenerate: needs a current authenticator code; the old codes stop working.
    assert_problem(await client.post(ME + "/mfa/recovery-codes", json={"code": wrong_code}, headers=auth), 403,
                   "forbidden")
    # A code is accepted once (RFC 6238 §5.2): the next time step's, which the window accepts too.
    next_code = pyotp.TOTP(secret).at(time.time() + 30)
    regenerated = await client.post(ME + "/mfa/recovery-codes", json={"code": next_code}, headers=auth)
    assert regenerated.status_code == 200, regenerated.text
    fresh = regenerated.json()["recoveryCodes"]
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    row = await _account(db, me.id)
    assert row.recovery_code_hashes == [accounts.recovery_digest(c) for c in fresh]
    assert not accounts.use_recovery_code(row, codes[0]) and accounts.use_recovery_code(row, fresh[0])

    actions = [r.action for r in await audit_rows(db, slug, me.id)]
    assert actions == ["account.mfa.enrolment_start", "account.credential_refused", "account.mfa.enrol",
                       "account.credential_refused", "account.mfa.recovery_codes.regenerate"], actions
    for r in await audit_rows(db, slug, me.id):
        assert secret not in str(r) and not any(c in str(r) for c in [*codes, *fresh])
