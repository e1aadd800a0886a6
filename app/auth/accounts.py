"""Account credentials: argon2id passwords, the password policy, TOTP, lockout.

Hashing and verifying passwords is deliberately slow; it runs in a worker thread so the
event loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import anyio.to_thread
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, AccountKind, AccountStatus
from app.core.clock import utcnow

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so that timing does not reveal it.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
LOCK_AFTER = 5  # failures in a row
MAX_LOCK = timedelta(hours=1)
RECOVERY_CODES = 10
TOTP_ISSUER = "Cornerstone"


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Why a new password is refused (empty when acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters")
    classes = sum(any(test(c) for c in password) for test in (str.islower, str.isupper, str.isdigit))
    classes += any(not c.isalnum() for c in password)
    if classes < 3:
        problems.append("must mix at least three of: lower case, upper case, digits, symbols")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    return problems


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)  # raises when the password does not match
        return stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, stored, password)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, account: Account, realm: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=f"{account.username}@{realm}", issuer_name=TOTP_ISSUER)


def totp_step(secret: str | None, code: str, *, after: int | None) -> int | None:
    """The time step, within one of now, whose code ``code`` is, when later than ``after``
    (the account's last accepted step): RFC 6238 §5.2, a code is accepted once."""
    code = code.strip()
    if not secret or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in (now - 1, now, now + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_totp(account: Account, code: str) -> bool:
    """Check a code against the account's authenticator and record its step (the caller
    holds the account's row lock, so that two requests cannot both use one code)."""
    step = totp_step(account.totp_secret, code, after=account.totp_last_step)
    if step is None:
        return False
    account.totp_last_step = step
    return True


def recovery_digest(code: str) -> str:
    return hashlib.sha256(code.strip().replace("-", "").lower().encode()).hexdigest()


def new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


def use_recovery_code(account: Account, code: str) -> bool:
    """Spend one recovery code (each works once)."""
    wanted = recovery_digest(code)
    for stored in account.recovery_code_hashes:
        if hmac.compare_digest(stored, wanted):
            account.recovery_code_hashes = [h for h in account.recovery_code_hashes if h != stored]
            return True
    return False


def mfa_required(account: Account, tenant_requires_staff_mfa: bool) -> bool:
    if account.totp_confirmed_at is not None:
        return True
    return account.kind in (AccountKind.staff, AccountKind.operator) and tenant_requires_staff_mfa


def is_locked(account: Account) -> bool:
    return account.locked_until is not None and account.locked_until > utcnow()


def record_failure(account: Account) -> None:
    """Count a wrong second factor (or a wrong current password on /api/v1/me, which needs the
    account's own token); from the fifth in a row, lock with a doubling back-off."""
    account.failed_sign_ins += 1
    over = account.failed_sign_ins - LOCK_AFTER
    if over >= 0:
        account.locked_until = utcnow() + min(timedelta(minutes=2**over), MAX_LOCK)


def record_success(account: Account) -> None:
    account.failed_sign_ins = 0
    account.locked_until = None
    account.last_sign_in_at = utcnow()


def normalise_username(username: str) -> str:
    return username.strip().lower()


async def find_account(session: AsyncSession, tenant_id: uuid.UUID | None, username: str) -> Account | None:
    stmt = select(Account).where(Account.username == normalise_username(username))
    stmt = stmt.where(Account.tenant_id.is_(None) if tenant_id is None else Account.tenant_id == tenant_id)
    return await session.scalar(stmt.with_for_update())


@dataclass
class PasswordCheck:
    account: Account | None  # for the audit record only: the answer must not depend on it
    ok: bool
    locked: bool = False


async def check_password(session: AsyncSession, tenant_id: uuid.UUID | None, username: str,
                         password: str) -> PasswordCheck:
    """Verify a username and password in a realm (a tenant, or the platform when None).

    The same work for every username (argon2 against a dummy hash when there is no such
    account) and the same outcome for a wrong password, whether the account exists, is
    disabled or is locked. Only the right password learns of a lock (wrong second factors
    lock an account). Wrong passwords are throttled by the caller (app/auth/throttle.py),
    never counted on the account, so that nobody can lock another person out.
    """
    account = await find_account(session, tenant_id, username)
    valid = await verify_password(account.password_hash if account else None, password)
    if not valid or account is None or account.status is not AccountStatus.active:
        return PasswordCheck(account, ok=False)
    if is_locked(account):
        return PasswordCheck(account, ok=False, locked=True)
    return PasswordCheck(account, ok=True)

