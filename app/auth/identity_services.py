"""Credentials an account manages itself, and the set-password mail that lets a person in:
invitations, password reset, password change, TOTP enrolment and recovery codes.

Set-password tokens (an invitation or a reset) are random 256-bit strings kept only as a
digest (``password_resets``), sent by mail through the outbox in the same transaction that
creates them, and spent once. Registry operations (accounts, clients) are in
app/auth/services.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import accounts
from app.auth.models import Account, AccountKind, AccountStatus, PasswordReset
from app.auth.principal import Principal
from app.auth.server import digest, new_secret
from app.auth.services import ACCOUNT, SECRET_FIELDS, create_account, revoke_refresh_tokens
from app.core import audit
from app.core.audit import Actor
from app.core.clock import utcnow
from app.core.db import Database
from app.core.notify import queue_messages
from app.core.problems import FieldError, ProblemError, field_error
from app.tenants.models import Tenant, TenantStatus, schema_name

RESET_TTL = timedelta(minutes=30)
INVITATION_TTL = timedelta(days=3)  # a new colleague may not read mail the same hour


class CredentialRefused(ProblemError):
    """A wrong current password or code: it counts towards the account's lock-out, which
    the caller must record outside the request's (rolled-back) transaction."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__("forbidden", detail, errors=[field_error(field, "incorrect")])


def _weak(password: str, username: str, field: str) -> list[FieldError]:
    return [field_error(field, p) for p in accounts.password_problems(password, username=username)]


async def _issue_set_password(session: AsyncSession, account: Account, ttl: timedelta) -> tuple[str, PasswordReset]:
    """A new one-time token for ``account``; any earlier unspent one stops working."""
    now = utcnow()
    await session.execute(update(PasswordReset)
                          .where(PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None))
                          .values(used_at=now))
    token = new_secret()
    reset = PasswordReset(token_hash=digest(token), account_id=account.id, created_at=now, expires_at=now + ttl)
    session.add(reset)
    await session.flush()
    return token, reset


def _set_password_body(greeting: str, token: str, issuer: str, expires: str) -> str:
    return (f"{greeting}\n\n"
            f"Your one-time code to set a password: {token}\n"
            f"Send it with the new password to {issuer}/oauth/password-reset/confirm "
            f"(your app does this for you). It works once, until {expires}.\n\n"
            "If you did not ask for this, ignore this message: your password is unchanged.\n")


# ----------------------------------------------------------------------- invitations


async def invite(session: AsyncSession, *, tenant_id: uuid.UUID, kind: AccountKind, username: str,
                 display_name: str, email: str, scopes: Iterable[str], issuer: str) -> Account:
    """Create an account without a password and mail its holder a set-password code."""
    account = await create_account(session, tenant_id=tenant_id, kind=kind, username=username,
                                   display_name=display_name, password=None, scopes=scopes, email=email)
    token, reset = await _issue_set_password(session, account, INVITATION_TTL)
    [message] = await queue_messages(
        session, [email], tenant_id=tenant_id, subject="Your Cornerstone account",
        body=_set_password_body(f"Hello {display_name}, an account {account.username!r} was made for you.",
                                token, issuer, reset.expires_at.isoformat(timespec="minutes")),
        data={"kind": "invitation", "accountId": str(account.id)}, secret=token,
    )
    await audit.record(session, action="account.invite", entity_type=ACCOUNT, entity_id=account.id,
                       after={"outboxMessageId": str(message.id), "expiresAt": reset.expires_at.isoformat()})
    return account


# -------------------------------------------------------------------- password reset


async def request_password_reset(session: AsyncSession, *, tenant_slug: str | None, username: str,
                                 issuer: str, actor: Actor) -> None:
    """Mail a reset code to the account's address, when there is such an active account with
    an address. The caller answers the same whatever happens here (no user enumeration)."""
    tenant_id: uuid.UUID | None = None
    if tenant_slug is not None:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
        if tenant is None or tenant.status is not TenantStatus.active:
            return
        tenant_id = tenant.id
    account = await accounts.find_account(session, tenant_id, username)
    if account is None or account.status is not AccountStatus.active or not account.email:
        return
    token, reset = await _issue_set_password(session, account, RESET_TTL)
    [message] = await queue_messages(
        session, [account.email], tenant_id=tenant_id, subject="Reset your Cornerstone password",
        body=_set_password_body(f"Hello {account.display_name}, a password reset was asked for your account.",
                                token, issuer, reset.expires_at.isoformat(timespec="minutes")),
        data={"kind": "password_reset", "accountId": str(account.id)}, secret=token,
    )
    await audit.append(session, schema=schema_name(tenant_slug) if tenant_slug else None, actor=actor,
                       action="account.password_reset.request", entity_type=ACCOUNT, entity_id=account.id,
                       after={"outboxMessageId": str(message.id), "expiresAt": reset.expires_at.isoformat()})


async def confirm_password_reset(session: AsyncSession, *, token: str, new_password: str, actor: Actor) -> Account:
    """Spend a set-password code: the new password (policy checked), the lock-out cleared and
    every refresh token of the account revoked (whoever held them must sign in again)."""
    now = utcnow()
    reset = await session.scalar(select(PasswordReset).where(
        PasswordReset.token_hash == digest(token), PasswordReset.used_at.is_(None),
        PasswordReset.expires_at > now).with_for_update())
    account = await session.get(Account, reset.account_id, with_for_update=True) if reset else None
    if reset is None or account is None or account.status is not AccountStatus.active:
        raise ProblemError("forbidden", "The code is unknown, used or expired; ask for a new one.",
                           errors=[field_error("token", "unknown, used or expired")])
    # Checked before the code is spent: a refused password leaves the code usable.
    problems = _weak(new_password, account.username, "newPassword")
    if problems:
        raise ProblemError("validation", "The password is too weak.", errors=problems)
    reset.used_at = now
    account.password_hash = await accounts.hash_password(new_password)
    account.password_changed_at = now
    account.failed_sign_ins, account.locked_until = 0, None
    revoked = await revoke_refresh_tokens(session, account_id=account.id, reason="password reset")
    await session.flush()
    slug = await session.scalar(select(Tenant.slug).where(Tenant.id == account.tenant_id)) \
        if account.tenant_id else None
    await audit.append(session, schema=schema_name(slug) if slug else None,
                       actor=Actor(kind="user", id=str(account.id), ip=actor.ip, request_id=actor.request_id),
                       action="account.password_reset", entity_type=ACCOUNT, entity_id=account.id,
                       after={"refreshTokensRevoked": revoked, "passwordChangedAt": now.isoformat()})
    return account


# ---------------------------------------------------------------------- self-service


async def own_account(session: AsyncSession, principal: Principal, tenant_id: uuid.UUID) -> Account:
    """The signed-in person's account; refused for a client's own token and unknown subjects."""
    if principal.kind != "user":
        raise ProblemError("forbidden", "This is a client's token: there is no signed-in account.")
    try:
        account_id = uuid.UUID(principal.subject)
    except ValueError:
        raise ProblemError("forbidden", "The token's subject is not an account.") from None
    account = await session.scalar(select(Account).where(Account.id == account_id, Account.tenant_id == tenant_id))
    if account is None or account.status is not AccountStatus.active:
        raise ProblemError("forbidden", "The token's subject is not an active account of this tenant.")
    return account


def refuse_if_locked(account: Account) -> None:
    if accounts.is_locked(account):
        assert account.locked_until is not None
        wait = max(int((account.locked_until - utcnow()).total_seconds()) + 1, 1)
        raise ProblemError("rate-limited", f"Too many wrong attempts; try again in {wait} seconds.",
                           headers={"Retry-After": str(wait)})


async def record_refusal(db: Database, account_id: uuid.UUID, *, schema: str, actor: Actor, action: str) -> None:
    """Count a wrong password or code in a transaction of its own: the request's rolls back.
    The caller must hold no lock on the account (this would wait for it)."""
    async with db.platform_transaction() as session:
        account = await session.get(Account, account_id, with_for_update=True)
        if account is None:
            return
        accounts.record_failure(account)
        await audit.append(session, schema=schema, actor=actor, action=action, entity_type=ACCOUNT,
                           entity_id=account_id, after={"failedSignIns": account.failed_sign_ins,
                                                        "locked": accounts.is_locked(account)})


async def _lock(session: AsyncSession, account: Account) -> dict[str, object]:
    # Locked only once the credential checked out (see record_refusal); the version column
    # still stops a concurrent change from being overwritten.
    await session.refresh(account, with_for_update=True)
    return audit.snapshot(account, exclude=SECRET_FIELDS)


async def _done(session: AsyncSession, account: Account, action: str, before: dict[str, object]) -> None:
    await session.flush()
    await session.refresh(account)
    await audit.record(session, action=action, entity_type=ACCOUNT, entity_id=account.id, before=before,
                       after=audit.snapshot(account, exclude=SECRET_FIELDS))


async def change_password(session: AsyncSession, account: Account, *, current: str, new: str) -> None:
    """A new password; every refresh token of the account is revoked, so a thief holding
    one is shut out too (the caller's own apps sign in again)."""
    refuse_if_locked(account)
    if account.password_hash is None:
        raise ProblemError("conflict", "The account has no password yet: use the code you were sent.")
    if not await accounts.verify_password(account.password_hash, current):
        raise CredentialRefused("The current password is not correct.", "currentPassword")
    problems = _weak(new, account.username, "newPassword")
    if current == new:
        problems.append(field_error("newPassword", "must differ from the current password"))
    if problems:
        raise ProblemError("validation", "The new password is not acceptable.", errors=problems)
    before = await _lock(session, account)
    account.password_hash = await accounts.hash_password(new)
    account.password_changed_at = utcnow()
    await revoke_refresh_tokens(session, account_id=account.id, reason="password changed")
    await _done(session, account, "account.password.change", before)


async def start_totp(session: AsyncSession, account: Account, realm: str) -> tuple[str, str]:
    """A new authenticator secret, pending until a code from it is confirmed."""
    if account.totp_confirmed_at is not None:
        raise ProblemError("conflict", "Two-step verification is already on; an administrator can reset it.")
    before = await _lock(session, account)
    account.totp_secret, account.totp_last_step = accounts.new_totp_secret(), None
    await _done(session, account, "account.mfa.enrolment_start", before)
    assert account.totp_secret is not None
    return account.totp_secret, accounts.totp_uri(account.totp_secret, account, realm)


def _checked_code(account: Account, code: str) -> int:
    """The time step of a current, unused authenticator code (checked before the account is
    locked: a refusal is counted in a transaction of its own, which must not wait for it)."""
    step = accounts.totp_step(account.totp_secret, code, after=account.totp_last_step)
    if step is None:
        raise CredentialRefused("The code does not match the authenticator, or was used already.", "code")
    return step


def _use_step(account: Account, step: int) -> None:
    """Record the code's step on the locked account; a concurrent request may have used it."""
    if account.totp_last_step is not None and step <= account.totp_last_step:
        raise ProblemError("forbidden", "The code was used already; wait for the next one.",
                           errors=[field_error("code", "used already")])
    account.totp_last_step = step


def _new_recovery_codes(account: Account) -> list[str]:
    codes = accounts.new_recovery_codes()
    account.recovery_code_hashes = [accounts.recovery_digest(c) for c in codes]
    return codes


async def confirm_totp(session: AsyncSession, account: Account, code: str) -> list[str]:
    """Turn two-step verification on; returns the recovery codes (shown this once)."""
    refuse_if_locked(account)
    if account.totp_confirmed_at is not None:
        raise ProblemError("conflict", "Two-step verification is already on.")
    if account.totp_secret is None:
        raise ProblemError("conflict", "Start the enrolment first (POST /api/v1/me/mfa/totp).")
    step = _checked_code(account, code)
    before = await _lock(session, account)
    _use_step(account, step)
    account.totp_confirmed_at = utcnow()
    codes = _new_recovery_codes(account)
    await _done(session, account, "account.mfa.enrol", before)
    return codes


async def regenerate_recovery_codes(session: AsyncSession, account: Account, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), for a current authenticator code."""
    refuse_if_locked(account)
    if account.totp_confirmed_at is None:
        raise ProblemError("conflict", "Two-step verification is not on.")
    step = _checked_code(account, code)
    before = await _lock(session, account)
    _use_step(account, step)
    codes = _new_recovery_codes(account)
    await _done(session, account, "account.mfa.recovery_codes.regenerate", before)
    return codes
