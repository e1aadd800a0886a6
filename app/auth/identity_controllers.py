"""HTTP for identity: the group administrator's accounts and OAuth clients, one's own
account, password reset, and the rate limit on the sign-in and token endpoints.

Accounts and clients are platform rows; the tenant is the caller's token's, and every
lookup is filtered by it, so another group's id answers 404 like an id that never existed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Controller, Request, Response, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.params import Parameter
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import identity_services, services
from app.auth.identity_schemas import (
    AccountOut,
    AccountUpdate,
    ClientCreate,
    ClientOut,
    ClientUpdate,
    ClientWithSecret,
    ConfidentialClientCreate,
    OwnerCreate,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    PublicClientCreate,
    ReasonInput,
    RecoveryCodes,
    ResetRequested,
    StaffInvite,
    TotpCodeInput,
    TotpEnrolment,
)
from app.auth.models import Account, AccountKind, AccountStatus, ClientKind, ClientStatus, OAuthClient
from app.auth.scopes import public, requires
from app.core.audit import Actor, actor_of
from app.core.counters import source
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.pagination import PageParams, page_params
from app.core.problems import ProblemError
from app.core.request_context import request_id
from app.core.schemas import Page, provided

T = TypeVar("T")
log = logging.getLogger(__name__)

# ------------------------------------------------------------------------- rate limit


class AuthRateLimitMiddleware:
    """At most ``CORNERSTONE_AUTH_RATE_LIMIT`` requests a minute per client address and
    endpoint (method and path: a sign-in is a GET and some POSTs), above that a 429 problem
    with Retry-After. Counted in one-minute windows in the counters every process shares
    (app/core/counters.py), so N workers allow the limit once, not N times. The limit is
    read from the app's settings per request (the route decorators run at import, before any
    settings exist). The address is the one app/core/request_context.py decided: the peer,
    or past the trusted proxies; an IPv6 caller counts by its /64 (one host holds that many).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:  # the limited routes are HTTP ones
            await self.app(scope, receive, send)
            return
        app = scope["litestar_app"]
        limit: int = app.state.settings.auth_rate_limit
        client = scope.get("client")
        now = time.time()
        key = f"rl:{source(client[0] if client else None)}:{scope['method']} {scope['path']}:{int(now // 60)}"
        if await app.state.counters.bump(key, 60) > limit:
            wait = max(int(60 - now % 60), 1)
            raise ProblemError("rate-limited", f"At most {limit} requests a minute here; try again in {wait} "
                               "seconds.", headers={"Retry-After": str(wait), "RateLimit-Policy": f"{limit};w=60"},
                               # An OAuth client reads `error`: slow_down is the token endpoint's
                               # registered error for a client asking too often (RFC 8628 §3.5).
                               oauth_error="slow_down" if scope["path"] == "/oauth/token" else None)
        await self.app(scope, receive, send)


AUTH_RATE_LIMIT = DefineMiddleware(AuthRateLimitMiddleware)


# ---------------------------------------------------------------------------- helpers


async def provide_tenant_id(request: Request[Any, Any, Any], session: AsyncSession) -> uuid.UUID:
    return await services.tenant_id_of(session, request.user.tenant)


def _account(account: Account, status: int = 200) -> Response[AccountOut]:
    return Response(AccountOut.of(account), status_code=status, headers={"ETag": etag(account.version)})


def _client(client: OAuthClient, status: int = 200) -> Response[ClientOut]:
    return Response(ClientOut.of(client), status_code=status, headers={"ETag": etag(client.version)})


def _grantable(request: Request[Any, Any, Any]) -> frozenset[str]:
    return frozenset(request.user.scopes)


ACCOUNT_ID = "/accounts/{account_id:uuid}"
CLIENT_ID = "/clients/{client_pk:uuid}"
NO_STORE = {"Cache-Control": "no-store"}


# -------------------------------------------------------------------- administration


class IdentityController(Controller):
    path = "/api/v1/identity"
    tags = ["Identity"]
    dependencies = {"session": Provide(provide_tenant_session), "tenant_id": Provide(provide_tenant_id)}

    # -- accounts

    @get("/accounts", operation_id="listAccounts", summary="List the group's accounts",
         dependencies={"page": page_params(*services.ACCOUNT_SORTS)},
         description="The group's accounts, staff and home owners, a page at a time: filter by kind, status or a "
                     "name fragment. Needs identity:read.",
         **requires("identity:read"))
    async def list_accounts(
        self, session: AsyncSession, tenant_id: uuid.UUID, page: PageParams,
        kind: AccountKind | None = Parameter(query="kind", default=None, description="staff or owner."),
        status: AccountStatus | None = Parameter(query="status", default=None),
        q: str | None = Parameter(query="q", default=None, max_length=200,
                                  description="Username, display name or email contains."),
    ) -> Page[AccountOut]:
        return await services.list_accounts(session, tenant_id, page, kind=kind, status=status, q=q,
                                            to_schema=AccountOut.of)

    @get(ACCOUNT_ID, operation_id="getAccount", summary="Get an account",
         description="One account of the group: its kind, status, the most scopes it may hold and whether two-"
                     "step verification is on (never its password or secrets). Its ETag is what If-Match needs to"
                     " change it. Needs identity:read; 404 for an account of another group.",
         **requires("identity:read", errors=[404]))
    async def get_account(self, session: AsyncSession, tenant_id: uuid.UUID,
                          account_id: uuid.UUID) -> Response[AccountOut]:
        return _account(await services.get_account(session, tenant_id, account_id))

    async def _invite(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                      kind: AccountKind, data: StaffInvite | OwnerCreate) -> Response[AccountOut]:
        async def produce() -> Response[AccountOut]:
            scopes = services.check_grantable(data.scopes, kind, _grantable(request), "scopes")
            account = await identity_services.invite(
                session, tenant_id=tenant_id, kind=kind, username=data.username, display_name=data.display_name,
                email=data.email, scopes=scopes, issuer=request.app.state.settings.issuer)
            response = _account(account, 201)
            response.headers["Location"] = f"/api/v1/identity/accounts/{account.id}"
            return response

        return await idempotent(request, session, produce)

    @post("/accounts/staff", operation_id="inviteStaff",
          summary="Invite a staff member (mails a code to set a password)",
          description="Creates a staff account and mails its address a code to set a password; roles are given "
                      "afterwards through role assignments. Needs identity:write; 409 when the username is taken."
                      " Answers 201 with its Location; accepts Idempotency-Key.",
          **requires("identity:write", errors=[409]))
    async def invite_staff(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                           data: StaffInvite) -> Response[AccountOut]:
        return await self._invite(request, session, tenant_id, AccountKind.staff, data)

    @post("/accounts/owners", operation_id="createOwner",
          summary="Create a home owner's account (mails a code to set a password)",
          description="Creates a home owner's account and mails its address a code to set a password; the owner "
                      "reaches their records through the customers linked to the account. Needs identity:write; "
                      "409 when the username is taken. Answers 201 with its Location; accepts Idempotency-Key.",
          **requires("identity:write", errors=[409]))
    async def create_owner(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                           data: OwnerCreate) -> Response[AccountOut]:
        return await self._invite(request, session, tenant_id, AccountKind.owner, data)

    @patch(ACCOUNT_ID, operation_id="updateAccount", summary="Change an account's name, email or scopes",
           description="Changes an account's display name, email or the scopes it may hold at most (its roles "
                       "narrow them further). Needs identity:write and If-Match.",
           **requires("identity:write", errors=[404, 412, 428]))
    async def update_account(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                             account_id: uuid.UUID, data: AccountUpdate) -> Response[AccountOut]:
        account = await services.get_account(session, tenant_id, account_id, lock=True)
        check_if_match(request, account.version)
        return _account(await services.update_account(session, account, provided(data), _grantable(request)))

    async def _set_status(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                          account_id: uuid.UUID, status: AccountStatus, reason: str) -> Response[AccountOut]:
        account = await services.get_account(session, tenant_id, account_id, lock=True)
        check_if_match(request, account.version)
        return _account(await services.set_account_status(session, account, status, reason,
                                                          acting_account=request.user.subject))

    @post(ACCOUNT_ID + "/disable", operation_id="disableAccount", status_code=200,
          summary="Disable an account (its refresh tokens are revoked)",
          description="Disables an account: it can no longer sign in and its refresh tokens are revoked (access "
                      "tokens expire within minutes). Needs identity:write and If-Match; 409 when it is already "
                      "disabled or is the caller's own.",
          **requires("identity:write", errors=[404, 409, 412, 428]))
    async def disable_account(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                              account_id: uuid.UUID, data: ReasonInput) -> Response[AccountOut]:
        return await self._set_status(request, session, tenant_id, account_id, AccountStatus.disabled, data.reason)

    @post(ACCOUNT_ID + "/enable", operation_id="enableAccount", status_code=200,
          summary="Enable a disabled account (clears its lock-out)",
          description="Enables a disabled account again and clears a lock-out after failed sign-ins. Needs "
                      "identity:write and If-Match; 409 when it is already active.",
          **requires("identity:write", errors=[404, 409, 412, 428]))
    async def enable_account(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                             account_id: uuid.UUID, data: ReasonInput) -> Response[AccountOut]:
        return await self._set_status(request, session, tenant_id, account_id, AccountStatus.active, data.reason)

    @post(ACCOUNT_ID + "/mfa/reset", operation_id="resetAccountMfa", status_code=200,
          summary="Reset two-step verification (a lost phone): clears the authenticator and recovery codes",
          description="For a lost phone: clears the account's authenticator and recovery codes, so that it signs "
                      "in with its password alone until it enrols again. Needs identity:write and If-Match.",
          **requires("identity:write", errors=[404, 412, 428]))
    async def reset_mfa(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                        account_id: uuid.UUID, data: ReasonInput) -> Response[AccountOut]:
        account = await services.get_account(session, tenant_id, account_id, lock=True)
        check_if_match(request, account.version)
        return _account(await services.reset_mfa(session, account, data.reason))

    # -- clients

    @get("/clients", operation_id="listClients", summary="List the group's OAuth clients",
         dependencies={"page": page_params(*services.CLIENT_SORTS)},
         description="The group's OAuth clients (partner back ends, mobile and browser apps), a page at a time: "
                     "filter by kind, status or a name or client id fragment. Secrets are never shown. Needs "
                     "identity:read.",
         **requires("identity:read"))
    async def list_clients(
        self, session: AsyncSession, tenant_id: uuid.UUID, page: PageParams,
        kind: ClientKind | None = Parameter(query="kind", default=None),
        status: ClientStatus | None = Parameter(query="status", default=None),
        q: str | None = Parameter(query="q", default=None, max_length=200, description="Name or client id contains."),
    ) -> Page[ClientOut]:
        return await services.list_clients(session, tenant_id, page, kind=kind, status=status, q=q,
                                           to_schema=ClientOut.of)

    @post("/clients", operation_id="registerClient",
          summary="Register an OAuth client (a confidential client's secret is in this answer only)",
          description="Registers an OAuth client: public (mobile and browser apps: PKCE, no secret) or "
                      "confidential (partner back ends: a secret), with its redirect URIs and the scopes it may "
                      "ask for. A public client's browser front ends may call the API from the origins of its "
                      "web redirect URIs and those listed in allowedOrigins (CORS). A confidential client's "
                      "secret is in this answer only; keep it. Needs "
                      "identity:write. Answers 201 with its Location; accepts Idempotency-Key.",
          **requires("identity:write", errors=[409]))
    async def register_client(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                              data: ClientCreate) -> Response[ClientWithSecret]:
        issued: dict[str, str] = {}

        async def produce() -> Response[ClientWithSecret]:
            confidential = isinstance(data, ConfidentialClientCreate)
            scopes = services.check_grantable(data.allowed_scopes, None, _grantable(request), "allowedScopes")
            client, secret = await services.create_client(
                session, tenant_id=tenant_id, name=data.name,
                kind=ClientKind.confidential if confidential else ClientKind.public,
                redirect_uris=data.redirect_uris if isinstance(data, PublicClientCreate) else [],
                allowed_scopes=scopes,
                allowed_origins=data.allowed_origins if isinstance(data, PublicClientCreate) else [],
            )
            request.app.state.browser_origins.forget_after_commit(session)
            if secret:
                issued["secret"] = secret
            # Stored for Idempotency-Key replays without the secret: it is never kept in clear.
            return Response(ClientWithSecret(client=ClientOut.of(client), client_secret=None), status_code=201,
                            headers={"ETag": etag(client.version), "Location": f"/api/v1/identity/clients/{client.id}"})

        response = await idempotent(request, session, produce)
        if "secret" in issued:
            first: ClientWithSecret = response.content
            response = Response(ClientWithSecret(client=first.client, client_secret=issued["secret"]),
                                status_code=201, headers={**response.headers, **NO_STORE})
        return response

    @get(CLIENT_ID, operation_id="getClient", summary="Get an OAuth client",
         description="One OAuth client: kind, status, redirect URIs and scopes (never its secret). Its ETag is "
                     "what If-Match needs to change it. Needs identity:read; 404 for a client of another group.",
         **requires("identity:read", errors=[404]))
    async def get_client(self, session: AsyncSession, tenant_id: uuid.UUID, client_pk: uuid.UUID
                         ) -> Response[ClientOut]:
        return _client(await services.get_client(session, tenant_id, client_pk))

    @patch(CLIENT_ID, operation_id="updateClient",
           summary="Change a client's name, redirect URIs, browser origins or scopes",
           description="Changes a client's name, redirect URIs, the browser origins it adds (allowedOrigins: "
                       "scheme://host[:port], for CORS) or the scopes it may ask for. Needs identity:write and "
                       "If-Match.",
           **requires("identity:write", errors=[404, 412, 428]))
    async def update_client(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                            client_pk: uuid.UUID, data: ClientUpdate) -> Response[ClientOut]:
        client = await services.get_client(session, tenant_id, client_pk, lock=True)
        check_if_match(request, client.version)
        request.app.state.browser_origins.forget_after_commit(session)
        return _client(await services.update_client(session, client, provided(data), _grantable(request)))

    @post(CLIENT_ID + "/secret", operation_id="rotateClientSecret", status_code=200,
          summary="Rotate a confidential client's secret (the new one is in this answer only)",
          description="Issues a new secret for a confidential client, in this answer only. Needs identity:write "
                      "and If-Match; 409 for a public client, which has no secret.",
          **requires("identity:write", errors=[404, 409, 412, 428]))
    async def rotate_secret(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                            client_pk: uuid.UUID, data: ReasonInput) -> Response[ClientWithSecret]:
        client = await services.get_client(session, tenant_id, client_pk, lock=True)
        check_if_match(request, client.version)
        secret = await services.rotate_client_secret(session, client, data.reason)
        return Response(ClientWithSecret(client=ClientOut.of(client), client_secret=secret),
                        headers={"ETag": etag(client.version), **NO_STORE})

    @post(CLIENT_ID + "/disable", operation_id="disableClient", status_code=200,
          summary="Disable an OAuth client (its refresh tokens are revoked)",
          description="Disables an OAuth client: it can get no new tokens and its refresh tokens are revoked. "
                      "Needs identity:write and If-Match; 409 when it is already disabled.",
          **requires("identity:write", errors=[404, 409, 412, 428]))
    async def disable_client(self, request: Request[Any, Any, Any], session: AsyncSession, tenant_id: uuid.UUID,
                             client_pk: uuid.UUID, data: ReasonInput) -> Response[ClientOut]:
        client = await services.get_client(session, tenant_id, client_pk, lock=True)
        check_if_match(request, client.version)
        request.app.state.browser_origins.forget_after_commit(session)
        return _client(await services.disable_client(session, client, data.reason))


# ---------------------------------------------------------------------------- oneself


async def provide_own_account(request: Request[Any, Any, Any], session: AsyncSession,
                              tenant_id: uuid.UUID) -> Account:
    return await identity_services.own_account(session, request.user, tenant_id)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["My account"]
    dependencies = {"session": Provide(provide_tenant_session), "tenant_id": Provide(provide_tenant_id),
                    "account": Provide(provide_own_account)}

    async def _checked(self, request: Request[Any, Any, Any], session: AsyncSession, account: Account,
                       work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work``; a wrong password or code is counted (towards the lock-out) and
        audited in a transaction of its own, since this request's rolls back."""
        try:
            return await work()
        except identity_services.CredentialRefused:
            await identity_services.record_refusal(
                request.app.state.db, account.id, schema=session.info["tenant_schema"], actor=actor_of(session),
                action="account.credential_refused")
            raise

    @get("", operation_id="getMyAccount", summary="The signed-in account",
         description="The signed-in account: its name, kind, email, scopes and whether two-step verification is "
                     "on. Needs account:self (a user token, not a client's).",
         **requires("account:self"))
    async def get_me(self, account: Account) -> Response[AccountOut]:
        return _account(account)

    @post("/password", operation_id="changeMyPassword", status_code=204,
          summary="Change one's password (signs every app out: refresh tokens are revoked)",
          description="Changes one's own password, given the current one; every app signed in as the account is "
                      "signed out (its refresh tokens are revoked). Needs account:self; 409 when the account has "
                      "no password yet (it sets one with the mailed code).",
          **requires("account:self", errors=[409]))
    async def change_password(self, request: Request[Any, Any, Any], session: AsyncSession, account: Account,
                              data: PasswordChange) -> None:
        await self._checked(request, session, account, lambda: identity_services.change_password(
            session, account, current=data.current_password, new=data.new_password))

    @post("/mfa/totp", operation_id="startTotpEnrolment", status_code=200,
          summary="Start two-step verification: a new authenticator secret, pending until confirmed",
          description="Starts two-step verification: answers a new authenticator secret, pending until confirmed "
                      "with a code. Needs account:self; 409 when it is already on.",
          **requires("account:self", errors=[409]))
    async def start_totp(self, request: Request[Any, Any, Any], session: AsyncSession,
                         account: Account) -> Response[TotpEnrolment]:
        secret, uri = await identity_services.start_totp(session, account, request.user.tenant)
        return Response(TotpEnrolment(secret=secret, otpauth_uri=uri), headers=NO_STORE)

    @post("/mfa/totp/confirm", operation_id="confirmTotpEnrolment", status_code=200,
          summary="Confirm two-step verification with a code; answers the recovery codes, once",
          description="Confirms the pending authenticator with a current code and turns two-step verification on;"
                      " answers the recovery codes, shown this once. Needs account:self; 409 when it is already "
                      "on or no enrolment was started.",
          **requires("account:self", errors=[409]))
    async def confirm_totp(self, request: Request[Any, Any, Any], session: AsyncSession, account: Account,
                           data: TotpCodeInput) -> Response[RecoveryCodes]:
        codes = await self._checked(request, session, account,
                                    lambda: identity_services.confirm_totp(session, account, data.code))
        return Response(RecoveryCodes(recovery_codes=codes), headers=NO_STORE)

    @post("/mfa/recovery-codes", operation_id="regenerateRecoveryCodes", status_code=200,
          summary="New recovery codes for a current authenticator code (the old ones stop working)",
          description="New recovery codes, given a current authenticator code; the old ones stop working. Answers"
                      " them this once. Needs account:self; 409 when two-step verification is off.",
          **requires("account:self", errors=[409]))
    async def regenerate_codes(self, request: Request[Any, Any, Any], session: AsyncSession, account: Account,
                               data: TotpCodeInput) -> Response[RecoveryCodes]:
        codes = await self._checked(request, session, account,
                                    lambda: identity_services.regenerate_recovery_codes(session, account, data.code))
        return Response(RecoveryCodes(recovery_codes=codes), headers=NO_STORE)


# --------------------------------------------------------------------- password reset


def _anonymous(request: Request[Any, Any, Any]) -> Actor:
    return Actor(kind="anonymous", id="anonymous", ip=request.client.host if request.client else None,
                 request_id=request_id(request))


async def _prepare_reset(db: Any, data: PasswordResetRequest, issuer: str, actor: Actor) -> None:
    try:
        async with db.platform_transaction() as session:
            await identity_services.request_password_reset(session, tenant_slug=data.tenant, username=data.username,
                                                           issuer=issuer, actor=actor)
    except Exception:  # noqa: BLE001 - after the answer: nobody to tell but the log
        log.exception("a password reset could not be prepared")


class PasswordResetController(Controller):
    """No token: the person has lost their password. Rate-limited per client IP."""

    path = "/oauth/password-reset"
    tags = ["My account"]
    include_in_schema = True
    middleware = [AUTH_RATE_LIMIT]

    @post("", operation_id="requestPasswordReset", status_code=202,
          summary="Mail a password-reset code to the account's address (always answers 202)",
          description="Mails a password-reset code to the account's address. Always answers 202 after the same "
                      "work, whether or not the account exists, so that it reveals nothing; rate limited (429). "
                      "Public: whoever forgot their password has no token.",
          **public(errors=[400, 422, 429]))
    async def request_reset(self, request: Request[Any, Any, Any],
                            data: PasswordResetRequest) -> Response[ResetRequested]:
        # The same answer, after the same work, whether or not the account exists: no way to
        # probe for usernames by the answer or by its time. The reset is prepared once the
        # answer is sent (its mail then goes through the outbox, as every mail does).
        return Response(ResetRequested(), status_code=202, background=BackgroundTask(
            _prepare_reset, request.app.state.db, data, request.app.state.settings.issuer, _anonymous(request)))

    @post("/confirm", operation_id="confirmPasswordReset", status_code=204,
          summary="Set a new password with the mailed code (works once; signs every app out)",
          description="Sets a new password with the mailed code; the code works once, and every app signed in as "
                      "the account is signed out. Public, like the request; rate limited (429).",
          **public(errors=[400, 403, 422, 429]))
    async def confirm_reset(self, request: Request[Any, Any, Any], data: PasswordResetConfirm) -> None:
        async with request.app.state.db.platform_transaction() as session:
            await identity_services.confirm_password_reset(session, token=data.token, new_password=data.new_password,
                                                           actor=_anonymous(request))


CONTROLLERS = [IdentityController, MeController, PasswordResetController]
