"""Creating and changing accounts and OAuth clients (used by the API, the CLI and seeding)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import accounts
from app.auth.models import (
    Account,
    AccountKind,
    AccountStatus,
    ClientKind,
    ClientStatus,
    OAuthClient,
    RefreshToken,
)
from app.auth.origins import check_origins
from app.auth.scopes import PLATFORM_SCOPES, TENANT_SCOPES
from app.auth.server import digest, new_secret
from app.core import audit
from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.tenants.models import Tenant

T = TypeVar("T")

ACCOUNT = "account"
CLIENT = "oauth_client"
USER_GRANTS = ["authorization_code", "refresh_token"]


def _check_scopes(scopes: Iterable[str], *, platform: bool, field: str) -> list[str]:
    allowed = PLATFORM_SCOPES if platform else TENANT_SCOPES
    wanted = sorted(set(scopes))
    bad = [s for s in wanted if s not in allowed]
    if bad:
        raise ProblemError("validation", f"Scopes not available here: {' '.join(bad)}.",
                           errors=[field_error(field, f"unknown or not allowed: {' '.join(bad)}")])
    return wanted


async def create_account(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID | None,
    kind: AccountKind,
    username: str,
    display_name: str,
    password: str | None,
    scopes: Iterable[str],
    email: str | None = None,
) -> Account:
    if (kind is AccountKind.operator) != (tenant_id is None):
        raise ProblemError("validation", "Operators belong to the platform; staff and owners to a tenant.",
                           errors=[field_error("kind", "does not fit the realm")])
    name = accounts.normalise_username(username)
    if await accounts.find_account(session, tenant_id, name) is not None:
        raise ProblemError("duplicate", f"The username {name!r} is taken.", errors=[field_error("username", "taken")])
    if password is not None:
        problems = accounts.password_problems(password, username=name)
        if problems:
            raise ProblemError("validation", "The password is too weak.",
                               errors=[field_error("password", p) for p in problems])
    account = Account(
        tenant_id=tenant_id, kind=kind, username=name, display_name=display_name, email=email,
        password_hash=await accounts.hash_password(password) if password else None,
        password_changed_at=utcnow() if password else None,
        scopes=_check_scopes(scopes, platform=tenant_id is None, field="scopes"),
    )
    session.add(account)
    await session.flush()
    await audit.record(session, action="account.create", entity_type=ACCOUNT, entity_id=account.id,
                       after=audit.snapshot(account, exclude=SECRET_FIELDS))
    return account


SECRET_FIELDS = frozenset({"password_hash", "totp_secret", "recovery_code_hashes", "secret_hash"})


async def create_client(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID | None,
    name: str,
    kind: ClientKind,
    redirect_uris: Iterable[str],
    allowed_scopes: Iterable[str],
    grant_types: Iterable[str] | None = None,
    first_party: bool = False,
    client_id: str | None = None,
    allowed_origins: Iterable[str] = (),
) -> tuple[OAuthClient, str | None]:
    """Register a client; returns it with its secret (shown once; only a digest is kept)."""
    uris = list(dict.fromkeys(redirect_uris))
    grants = list(grant_types) if grant_types is not None else (
        USER_GRANTS if kind is ClientKind.public else ["client_credentials"])
    if kind is ClientKind.public and "client_credentials" in grants:
        raise ProblemError("validation", "A public client cannot use client credentials.",
                           errors=[field_error("grantTypes", "client_credentials needs a confidential client")])
    check_redirect_uris(uris, grants)
    origins = _check_client_origins(allowed_origins, grants)
    secret = new_secret() if kind is ClientKind.confidential else None
    client = OAuthClient(
        client_id=client_id or f"cs_{secrets.token_urlsafe(12)}", tenant_id=tenant_id, name=name, kind=kind,
        secret_hash=digest(secret) if secret else None, secret_rotated_at=utcnow() if secret else None,
        redirect_uris=uris, allowed_origins=origins,
        allowed_scopes=_check_scopes(allowed_scopes, platform=tenant_id is None, field="allowedScopes"),
        grant_types=grants, first_party=first_party,
    )
    session.add(client)
    await session.flush()
    await audit.record(session, action="oauth_client.create", entity_type=CLIENT, entity_id=client.client_id,
                       after=audit.snapshot(client, exclude=SECRET_FIELDS))
    return client, secret


# https with a host; loopback http on any port (RFC 8252 §7.3: the host must be the loopback
# itself, so "http://localhost.evil.example" is refused); or a reverse-domain private-use
# scheme of a native app (RFC 8252 §7.1). Never a fragment (RFC 6749 §3.1.2), a space or a
# control character. The request schemas publish this same pattern, so the document and the
# check agree: explicit ranges rather than \s, whose meaning differs between Python and the
# ECMA-262 dialect of JSON Schema.
_URI_CHAR = r"[^#\x00-\x20\x7f]"
REDIRECT_URI_PATTERN = (
    r"^(?:https://[^/?#@\x00-\x20\x7f]+(?:[/?]" + _URI_CHAR + r"*)?"
    r"|http://(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?(?:[/?]" + _URI_CHAR + r"*)?"
    r"|[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+:" + _URI_CHAR + r"*)$"
)
_REDIRECT_URI = re.compile(REDIRECT_URI_PATTERN)


def check_redirect_uris(uris: list[str], grants: Iterable[str]) -> None:
    if "authorization_code" in grants and not uris:
        raise ProblemError("validation", "The authorization code grant needs at least one redirect URI.",
                           errors=[field_error("redirectUris", "required for authorization_code")])
    for uri in uris:
        if not _REDIRECT_URI.fullmatch(uri):
            raise ProblemError("validation", f"Redirect URI {uri!r} is not allowed.",
                               errors=[field_error("redirectUris", "https, loopback http, or an app scheme "
                                                                  "(com.example.app:/callback); no fragment")])


def _check_client_origins(values: Iterable[str], grants: Iterable[str]) -> list[str]:
    """A browser app's origins; a client without the authorization code grant is a back end,
    whose secret must never sit in a page, so it has none."""
    origins = check_origins(values)
    if origins and "authorization_code" not in grants:
        raise ProblemError("validation", "Only a client of the authorization code grant has browser origins.",
                           errors=[field_error("allowedOrigins", "this client uses client credentials only")])
    return origins


async def rotate_client_secret(session: AsyncSession, client: OAuthClient, reason: str | None = None) -> str:
    """A new secret (returned once); the old one stops working at once."""
    if client.kind is not ClientKind.confidential:
        raise ProblemError("conflict", "Only a confidential client has a secret.")
    secret = new_secret()
    client.secret_hash = digest(secret)
    client.secret_rotated_at = utcnow()
    await session.flush()
    await session.refresh(client)  # the new version and updated_at, for the caller's ETag
    await audit.record(session, action="oauth_client.rotate_secret", entity_type=CLIENT, entity_id=client.client_id,
                       after={"secretRotatedAt": client.secret_rotated_at.isoformat(), "version": client.version},
                       reason=reason)
    return secret


async def find_client(session: AsyncSession, client_id: str, tenant_id: uuid.UUID | None) -> OAuthClient | None:
    stmt = select(OAuthClient).where(OAuthClient.client_id == client_id)
    stmt = stmt.where(OAuthClient.tenant_id.is_(None) if tenant_id is None else OAuthClient.tenant_id == tenant_id)
    return await session.scalar(stmt)



# ------------------------------------------------------------------ tenant administration
#
# Accounts and clients live in the platform schema; a group administrator reaches them
# through the request's tenant-bound session (its translation map renames only the
# placeholder schema "tenant", so platform tables are addressed as themselves) and every
# query below is filtered by the caller's tenant id: another tenant's id reads as unknown.

# What an owner (a home owner on the mobile app) may ever hold: staff scopes stay with staff.
OWNER_SCOPES = frozenset({"owner:self", "account:self"})


async def tenant_id_of(session: AsyncSession, slug: str) -> uuid.UUID:
    tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    if tenant_id is None:  # the token's tenant was checked by the middleware moments ago
        raise ProblemError("tenant-unavailable", "The token's tenant does not exist.")
    return tenant_id


def check_grantable(scopes: Iterable[str], kind: AccountKind | None, grantable: frozenset[str],
                    field: str) -> list[str]:
    """The scopes to store, refused when beyond the kind's ceiling or the caller's own token
    (an administrator cannot hand out more than they hold)."""
    wanted = _check_scopes(scopes, platform=False, field=field)
    if kind is AccountKind.owner and not set(wanted) <= OWNER_SCOPES:
        extra = " ".join(sorted(set(wanted) - OWNER_SCOPES))
        raise ProblemError("validation", f"Owners hold only {' and '.join(sorted(OWNER_SCOPES))}.",
                           errors=[field_error(field, f"not for owners: {extra}")])
    beyond = sorted(set(wanted) - grantable)
    if beyond:
        raise ProblemError("forbidden", f"You cannot grant scopes your own token lacks: {' '.join(beyond)}.",
                           errors=[field_error(field, f"not held by the caller: {' '.join(beyond)}")])
    return wanted


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def get_account(session: AsyncSession, tenant_id: uuid.UUID, account_id: uuid.UUID, *,
                      lock: bool = False) -> Account:
    stmt = select(Account).where(Account.id == account_id, Account.tenant_id == tenant_id)
    account = await session.scalar(stmt.with_for_update() if lock else stmt)
    if account is None:
        raise ProblemError("not-found", f"No account with id {account_id}.")
    return account


ACCOUNT_SORTS: dict[str, Any] = {"username": Account.username, "displayName": Account.display_name,
                                 "createdAt": Account.created_at, "lastSignInAt": Account.last_sign_in_at}
CLIENT_SORTS: dict[str, Any] = {"name": OAuthClient.name, "clientId": OAuthClient.client_id,
                                "createdAt": OAuthClient.created_at}


async def list_accounts(session: AsyncSession, tenant_id: uuid.UUID, params: PageParams, *,
                        kind: AccountKind | None, status: AccountStatus | None, q: str | None,
                        to_schema: Callable[[Account], T]) -> Page[T]:
    stmt = select(Account).where(Account.tenant_id == tenant_id)
    if kind is not None:
        stmt = stmt.where(Account.kind == kind)
    if status is not None:
        stmt = stmt.where(Account.status == status)
    if q:
        like = f"%{_escape_like(q)}%"
        stmt = stmt.where(or_(Account.username.ilike(like, escape="\\"), Account.display_name.ilike(like, escape="\\"),
                              Account.email.ilike(like, escape="\\")))
    return await paginate(session, stmt, params, sortable=ACCOUNT_SORTS, default_sort=["username"],
                          tiebreak=Account.id, to_schema=to_schema)


async def update_account(session: AsyncSession, account: Account, changes: dict[str, Any],
                         grantable: frozenset[str]) -> Account:
    """Apply a PATCH: ``display_name``, ``email`` (None clears it) and ``scopes``."""
    before = audit.snapshot(account, exclude=SECRET_FIELDS)
    if "scopes" in changes:
        changes["scopes"] = check_grantable(changes["scopes"], account.kind, grantable, "scopes")
    for field, value in changes.items():
        setattr(account, field, value)
    await session.flush()
    await session.refresh(account)
    await audit.record(session, action="account.update", entity_type=ACCOUNT, entity_id=account.id,
                       before=before, after=audit.snapshot(account, exclude=SECRET_FIELDS))
    return account


async def revoke_refresh_tokens(session: AsyncSession, *, reason: str, account_id: uuid.UUID | None = None,
                                client_id: str | None = None) -> int:
    """End every live refresh token of an account or a client (its apps must sign in again)."""
    stmt = update(RefreshToken).where(RefreshToken.revoked_at.is_(None))
    if account_id is not None:
        stmt = stmt.where(RefreshToken.account_id == account_id)
    if client_id is not None:
        stmt = stmt.where(RefreshToken.client_id == client_id)
    if account_id is None and client_id is None:
        raise ValueError("name an account or a client")
    result = await session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason[:100]))
    return rowcount(result)


async def set_account_status(session: AsyncSession, account: Account, status: AccountStatus, reason: str,
                             *, acting_account: str) -> Account:
    if status is AccountStatus.disabled and str(account.id) == acting_account:
        raise ProblemError("conflict", "You cannot disable your own account.")
    if account.status is status:
        raise ProblemError("conflict", f"The account is already {status.value}.")
    before = audit.snapshot(account, exclude=SECRET_FIELDS)
    account.status = status
    revoked = 0
    if status is AccountStatus.disabled:
        # Refresh already fails for a disabled account; revoking makes enabling it again
        # not bring the old sessions back.
        revoked = await revoke_refresh_tokens(session, account_id=account.id, reason="account disabled")
    else:
        account.failed_sign_ins, account.locked_until = 0, None
    await session.flush()
    await session.refresh(account)
    action = "account.disable" if status is AccountStatus.disabled else "account.enable"
    await audit.record(session, action=action, entity_type=ACCOUNT, entity_id=account.id, before=before,
                       after={**audit.snapshot(account, exclude=SECRET_FIELDS), "refreshTokensRevoked": revoked},
                       reason=reason)
    return account


async def reset_mfa(session: AsyncSession, account: Account, reason: str) -> Account:
    """Forget the account's authenticator and recovery codes: it enrols again at next sign-in."""
    before = audit.snapshot(account, exclude=SECRET_FIELDS)
    account.totp_secret = None
    account.totp_confirmed_at = None
    account.totp_last_step = None
    account.recovery_code_hashes = []
    await session.flush()
    await session.refresh(account)
    await audit.record(session, action="account.mfa.reset", entity_type=ACCOUNT, entity_id=account.id,
                       before=before, after=audit.snapshot(account, exclude=SECRET_FIELDS), reason=reason)
    return account


async def get_client(session: AsyncSession, tenant_id: uuid.UUID, client_pk: uuid.UUID, *,
                     lock: bool = False) -> OAuthClient:
    stmt = select(OAuthClient).where(OAuthClient.id == client_pk, OAuthClient.tenant_id == tenant_id)
    client = await session.scalar(stmt.with_for_update() if lock else stmt)
    if client is None:
        raise ProblemError("not-found", f"No client with id {client_pk}.")
    return client


async def list_clients(session: AsyncSession, tenant_id: uuid.UUID, params: PageParams, *,
                       kind: ClientKind | None, status: ClientStatus | None, q: str | None,
                       to_schema: Callable[[OAuthClient], T]) -> Page[T]:
    stmt = select(OAuthClient).where(OAuthClient.tenant_id == tenant_id)
    if kind is not None:
        stmt = stmt.where(OAuthClient.kind == kind)
    if status is not None:
        stmt = stmt.where(OAuthClient.status == status)
    if q:
        like = f"%{_escape_like(q)}%"
        stmt = stmt.where(or_(OAuthClient.name.ilike(like, escape="\\"),
                              OAuthClient.client_id.ilike(like, escape="\\")))
    return await paginate(session, stmt, params, sortable=CLIENT_SORTS, default_sort=["name"],
                          tiebreak=OAuthClient.id, to_schema=to_schema)


async def update_client(session: AsyncSession, client: OAuthClient, changes: dict[str, Any],
                        grantable: frozenset[str]) -> OAuthClient:
    """Apply a PATCH: ``name``, ``redirect_uris``, ``allowed_origins`` and ``allowed_scopes``."""
    before = audit.snapshot(client, exclude=SECRET_FIELDS)
    if "redirect_uris" in changes:
        changes["redirect_uris"] = list(dict.fromkeys(changes["redirect_uris"]))
        if changes["redirect_uris"] and "authorization_code" not in client.grant_types:
            raise ProblemError("validation", "Only a client of the authorization code grant has redirect URIs.",
                               errors=[field_error("redirectUris", "this client uses client credentials only")])
        check_redirect_uris(changes["redirect_uris"], client.grant_types)
    if "allowed_origins" in changes:
        changes["allowed_origins"] = _check_client_origins(changes["allowed_origins"], client.grant_types)
    if "allowed_scopes" in changes:
        changes["allowed_scopes"] = check_grantable(changes["allowed_scopes"], None, grantable, "allowedScopes")
    for field, value in changes.items():
        setattr(client, field, value)
    await session.flush()
    await session.refresh(client)
    await audit.record(session, action="oauth_client.update", entity_type=CLIENT, entity_id=client.client_id,
                       before=before, after=audit.snapshot(client, exclude=SECRET_FIELDS))
    return client


async def disable_client(session: AsyncSession, client: OAuthClient, reason: str) -> OAuthClient:
    if client.status is ClientStatus.disabled:
        raise ProblemError("conflict", "The client is already disabled.")
    before = audit.snapshot(client, exclude=SECRET_FIELDS)
    client.status = ClientStatus.disabled
    # Its access tokens expire within minutes; its refresh tokens would outlive it.
    revoked = await revoke_refresh_tokens(session, client_id=client.client_id, reason="client disabled")
    await session.flush()
    await session.refresh(client)
    await audit.record(session, action="oauth_client.disable", entity_type=CLIENT, entity_id=client.client_id,
                       before=before,
                       after={**audit.snapshot(client, exclude=SECRET_FIELDS), "refreshTokensRevoked": revoked},
                       reason=reason)
    return client
