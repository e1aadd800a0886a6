"""The group administrator's accounts API: invite, owners, change, disable/enable, MFA reset,
with ETags, idempotency, audit in the tenant's log, tenant isolation and scope refusals."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text

from app.auth import accounts
from app.auth.models import Account, PasswordReset
from app.core.audit import platform_audit
from app.core.clock import utcnow
from app.tenants.models import Tenant
from tests.conftest import bearer
from tests.identity.conftest import (
    add_refresh_tokens,
    assert_no_secrets,
    assert_problem,
    audit_rows,
    code_in,
    live_refresh_tokens,
    outbox_for,
    strong_password,
)

ACCOUNTS = "/api/v1/identity/accounts"


def _invite(mark: str, **extra: Any) -> dict[str, Any]:
    return {"username": f"Staff.{mark}", "displayName": f"Staff {mark}", "email": f"staff.{mark}@example.com",
            "scopes": ["org:read", "account:self"], **extra}


async def test_tenant_session_reaches_platform_tables(db: Any, new_tenant: Any) -> None:
    # The identity API reads accounts through the tenant-bound session: the translation map
    # renames only the placeholder schema "tenant", so platform.* is addressed as itself,
    # while tenant tables still land in the tenant's schema.
    slug = await new_tenant("idp")
    async with db.tenant_session(f"t_{slug}") as session:
        assert await session.scalar(select(Tenant.slug).where(Tenant.slug == slug)) == slug
        assert await session.scalar(text("SELECT current_schema()")) == "public"  # no search_path games


async def test_invite_staff_and_manage_the_account(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("idacc")
    auth = bearer(mint(tenant=slug))
    mark = uuid.uuid4().hex[:8]

    created = await client.post(ACCOUNTS + "/staff", json=_invite(mark), headers=auth)
    assert created.status_code == 201, created.text
    account = created.json()
    assert_no_secrets(account)
    assert account["username"] == f"staff.{mark}" and account["kind"] == "staff" and account["status"] == "active"
    assert account["passwordSet"] is False and account["mfaEnabled"] is False
    assert sorted(account["scopes"]) == ["account:self", "org:read"]
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"{ACCOUNTS}/{account['id']}"
    url = created.headers["location"]

    # The invitation is in the outbox, with a code that sets the password once.
    [mail] = await outbox_for(db, f"staff.{mark}@example.com")
    assert mail.status.value == "pending" and mail.tenant_id is not None
    assert mail.data["kind"] == "invitation" and mail.data["accountId"] == account["id"]
    code = code_in(mail)
    assert code not in str(mail.data)
    async with db.platform_session() as session:
        stored = (await session.scalars(select(PasswordReset.token_hash).where(
            PasswordReset.account_id == uuid.UUID(account["id"])))).all()
    assert len(stored) == 1 and code not in stored[0]  # only a digest at rest
    password = strong_password()
    set_it = await client.post("/oauth/password-reset/confirm", json={"token": code, "newPassword": password})
    assert set_it.status_code == 204, set_it.text

    fetched = await client.get(url, headers=auth)
    assert fetched.status_code == 200 and fetched.json()["passwordSet"] is True
    etag = fetched.headers["etag"]

    listed = await client.get(ACCOUNTS, params={"kind": "staff", "status": "active", "q": mark}, headers=auth)
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()["items"]] == [account["id"]] and listed.json()["total"] == 1
    assert_no_secrets(listed.json())
    by_name = (await client.get(ACCOUNTS, params={"sort": "-username"}, headers=auth)).json()["items"]
    assert [a["username"] for a in by_name] == sorted((a["username"] for a in by_name), reverse=True)
    assert_problem(await client.get(ACCOUNTS, params={"sort": "passwordHash"}, headers=auth), 422, "validation")
    assert (await client.get(ACCOUNTS, params={"kind": "owner", "q": mark}, headers=auth)).json()["total"] == 0

    # PATCH with If-Match: missing 428, stale 412, current 200.
    change = {"displayName": "王经理", "scopes": ["org:read", "org:write", "account:self"]}
    assert_problem(await client.patch(url, json=change, headers=auth), 428, "precondition-required")
    assert_problem(await client.patch(url, json=change, headers={**auth, "If-Match": '"99"'}), 412,
                   "precondition-failed")
    patched = await client.patch(url, json=change, headers={**auth, "If-Match": etag, "Change-Reason": "promoted"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["displayName"] == "王经理" and "org:write" in patched.json()["scopes"]
    assert patched.headers["etag"] != etag
    etag = patched.headers["etag"]
    cleared = await client.patch(url, json={"email": None}, headers={**auth, "If-Match": etag})
    assert cleared.status_code == 200 and cleared.json()["email"] is None
    etag = cleared.headers["etag"]

    # Disable (refresh tokens revoked), disable again (409), enable.
    await add_refresh_tokens(db, uuid.UUID(account["id"]))
    disabled = await client.post(url + "/disable", json={"reason": "left the company"},
                                 headers={**auth, "If-Match": etag})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled"
    assert await live_refresh_tokens(db, account_id=uuid.UUID(account["id"])) == 0
    etag = disabled.headers["etag"]
    assert_problem(await client.post(url + "/disable", json={"reason": "again"}, headers={**auth, "If-Match": etag}),
                   409, "conflict")
    enabled = await client.post(url + "/enable", json={"reason": "came back"}, headers={**auth, "If-Match": etag})
    assert enabled.status_code == 200 and enabled.json()["status"] == "active"
    etag = enabled.headers["etag"]

    # MFA reset clears the authenticator and the recovery codes.
    async with db.platform_transaction() as session:
        row = await session.get(Account, uuid.UUID(account["id"]))
        assert row is not None
        row.totp_secret, row.totp_confirmed_at = accounts.new_totp_secret(), utcnow()
        row.recovery_code_hashes = [accounts.recovery_digest(c) for c in accounts.new_recovery_codes()]
    etag = (await client.get(url, headers=auth)).headers["etag"]
    assert (await client.get(url, headers=auth)).json()["mfaEnabled"] is True
    reset = await client.post(url + "/mfa/reset", json={"reason": "lost phone"}, headers={**auth, "If-Match": etag})
    assert reset.status_code == 200, reset.text
    assert reset.json()["mfaEnabled"] is False and reset.json()["recoveryCodesLeft"] == 0
    async with db.platform_session() as session:
        row = await session.get(Account, uuid.UUID(account["id"]))
        assert row is not None and row.totp_secret is None and row.recovery_code_hashes == []

    # Every write is in the tenant's log, with its reason, and none in the platform's.
    rows = await audit_rows(db, slug, account["id"])
    actions = [r.action for r in rows]
    assert actions == ["account.create", "account.invite", "account.password_reset", "account.update",
                       "account.update", "account.disable", "account.enable", "account.mfa.reset"], actions
    reasons = {r.action: r.reason for r in rows}
    assert reasons["account.disable"] == "left the company" and reasons["account.enable"] == "came back"
    assert reasons["account.mfa.reset"] == "lost phone" and rows[3].reason == "promoted"
    for r in rows:
        assert "password_hash" not in (r.after or {}) and "totp_secret" not in (r.before or {})
    async with db.platform_session() as session:
        leaked = await session.scalar(select(platform_audit.c.id).where(platform_audit.c.entity_id == account["id"]))
    assert leaked is None


async def test_owner_accounts(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("idown")
    auth = bearer(mint(tenant=slug))
    mark = uuid.uuid4().hex[:8]
    body = {"username": f"owner{mark}", "displayName": "李业主", "email": f"owner{mark}@example.com"}
    created = await client.post(ACCOUNTS + "/owners", json=body, headers=auth)
    assert created.status_code == 201, created.text
    owner = created.json()
    assert owner["kind"] == "owner" and owner["scopes"] == ["account:self", "owner:self"]
    assert len(await outbox_for(db, f"owner{mark}@example.com")) == 1

    # Owners hold owner scopes only: in the create schema, and through PATCH too.
    staff_scope = await client.post(ACCOUNTS + "/owners", json={**body, "username": f"o2{mark}",
                                                                 "scopes": ["org:write"]}, headers=auth)
    assert_problem(staff_scope, 422, "validation")
    patched = await client.patch(f"{ACCOUNTS}/{owner['id']}", json={"scopes": ["org:write"]},
                                 headers={**auth, "If-Match": created.headers["etag"]})
    body_ = assert_problem(patched, 422, "validation")
    assert body_["errors"][0]["field"] == "scopes"

    duplicate = await client.post(ACCOUNTS + "/owners", json={**body, "username": f"OWNER{mark}"}, headers=auth)
    assert_problem(duplicate, 409, "duplicate")


async def test_invite_is_idempotent(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("idemp")
    mark = uuid.uuid4().hex[:8]
    auth = bearer(mint(tenant=slug), **{"Idempotency-Key": f"invite-{mark}"})
    first = await client.post(ACCOUNTS + "/staff", json=_invite(mark), headers=auth)
    again = await client.post(ACCOUNTS + "/staff", json=_invite(mark), headers=auth)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(await outbox_for(db, f"staff.{mark}@example.com")) == 1  # one invitation, not two


async def test_validation_problems(client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("idval")
    auth = bearer(mint(tenant=slug))
    mark = uuid.uuid4().hex[:8]

    unknown = await client.post(ACCOUNTS + "/staff", json=_invite(mark, scopes=["org:read", "org:delete"]),
                                headers=auth)
    body = assert_problem(unknown, 422, "validation")
    assert body["errors"][0]["field"] == "scopes[1]", body
    platform = await client.post(ACCOUNTS + "/staff", json=_invite(mark, scopes=["platform:admin"]), headers=auth)
    assert_problem(platform, 422, "validation")
    bad_email = await client.post(ACCOUNTS + "/staff", json=_invite(mark, email="not-an-address"), headers=auth)
    assert assert_problem(bad_email, 422, "validation")["errors"][0]["field"] == "email"
    no_email = {k: v for k, v in _invite(mark).items() if k != "email"}
    assert assert_problem(await client.post(ACCOUNTS + "/staff", json=no_email, headers=auth),
                          422, "validation")["errors"][0]["field"] == "email"
    typo = await client.post(ACCOUNTS + "/staff", json={**_invite(mark), "password": "x"}, headers=auth)
    assert assert_problem(typo, 422, "validation")["errors"][0]["field"] == "password"


async def test_scope_refusals(client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("idscp")
    mark = uuid.uuid4().hex[:8]
    reader = bearer(mint(tenant=slug, scopes=["identity:read"]))
    assert (await client.get(ACCOUNTS, headers=reader)).status_code == 200
    assert_problem(await client.post(ACCOUNTS + "/staff", json=_invite(mark), headers=reader), 403,
                   "insufficient-scope")
    nobody = bearer(mint(tenant=slug, scopes=["org:read"]))
    assert_problem(await client.get(ACCOUNTS, headers=nobody), 403, "insufficient-scope")
    assert_problem(await client.get("/api/v1/identity/clients", headers=nobody), 403, "insufficient-scope")
    operator = bearer(mint())
    assert_problem(await client.get(ACCOUNTS, headers=operator), 403, "forbidden")

    # An administrator cannot hand out a scope their own token lacks.
    writer = bearer(mint(tenant=slug, scopes=["identity:read", "identity:write", "org:read"]))
    escalate = await client.post(ACCOUNTS + "/staff", json=_invite(mark, scopes=["org:write"]), headers=writer)
    body = assert_problem(escalate, 403, "forbidden")
    assert body["errors"][0]["field"] == "scopes"
    fine = await client.post(ACCOUNTS + "/staff", json=_invite(mark, scopes=["org:read"]), headers=writer)
    assert fine.status_code == 201, fine.text
    raise_it = await client.patch(f"{ACCOUNTS}/{fine.json()['id']}", json={"scopes": ["identity:write", "org:write"]},
                                  headers={**writer, "If-Match": fine.headers["etag"]})
    assert_problem(raise_it, 403, "forbidden")


async def test_one_cannot_disable_oneself(client: Any, new_tenant: Any, person: Any, mint: Any) -> None:
    slug = await new_tenant("idself")
    admin = await person(slug, scopes=["identity:read", "identity:write", "account:self"])
    auth = admin.auth(mint, ["identity:read", "identity:write"])
    url = f"{ACCOUNTS}/{admin.id}"
    etag = (await client.get(url, headers=auth)).headers["etag"]
    assert_problem(await client.post(url + "/disable", json={"reason": "oops"}, headers={**auth, "If-Match": etag}),
                   409, "conflict")


async def test_another_tenants_accounts_are_not_found(client: Any, new_tenant: Any, person: Any,
                                                      mint: Any) -> None:
    a = await new_tenant("idiso_a")
    b = await new_tenant("idiso_b")
    victim = await person(a)
    auth_a, auth_b = bearer(mint(tenant=a)), bearer(mint(tenant=b))
    url = f"{ACCOUNTS}/{victim.id}"
    original = await client.get(url, headers=auth_a)
    assert original.status_code == 200
    etag = original.headers["etag"]
    headers = {**auth_b, "If-Match": etag}
    for method, path, body in [
        ("GET", url, None), ("PATCH", url, {"displayName": "B was here"}),
        ("POST", url + "/disable", {"reason": "B"}), ("POST", url + "/enable", {"reason": "B"}),
        ("POST", url + "/mfa/reset", {"reason": "B"}),
    ]:
        answer = await client.request(method, path, json=body, headers=headers)
        assert_problem(answer, 404, "not-found")
        assert victim.username not in answer.text
    listed = (await client.get(ACCOUNTS, params={"q": victim.username}, headers=auth_b)).json()
    assert listed["total"] == 0
    after = await client.get(url, headers=auth_a)
    assert after.json() == original.json() and after.headers["etag"] == etag
