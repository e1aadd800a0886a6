"""OAuth endpoints: authorize (sign-in pages), token, revoke, introspect, metadata, JWKS.

These speak OAuth's own wire formats (form bodies, RFC 6749 error objects), so they are
described by the metadata document (RFC 8414) rather than in the OpenAPI document.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from authlib.oauth2.rfc6749.errors import OAuth2Error
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect

from app.auth import accounts, throttle
from app.auth.identity_controllers import AUTH_RATE_LIMIT
from app.auth.models import Account, AccountKind
from app.auth.pages import consent_page, enrol_page, error_page, lang_of, sign_in_page, totp_page
from app.auth.parameters import malformed
from app.auth.scopes import SCOPES, public
from app.auth.server import Client, HttpRequest, OAuthResponse, OAuthServer, ours, with_iss
from app.auth.tokens import InvalidToken, KeyRing
from app.core import audit
from app.core.audit import Actor
from app.core.clock import utcnow
from app.core.request_context import request_id
from app.tenants.models import Tenant, schema_name

AUTH_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
               "code_challenge_method", "ui_locales")
CSRF_COOKIE = "cs_signin"
TICKET_TTL = 300
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The sign-in pages must never render inside another site's frame (clickjacking, RFC 9700 §4.16).
NO_FRAMING = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
HTML = "text/html"  # Litestar appends the utf-8 charset itself


async def _ready_keys(request: Request[Any, Any, Any]) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    if ring.stale():
        async with request.app.state.db.platform_session() as session:
            await ring.refresh(session)
    return ring


async def _run(request: Request[Any, Any, Any], work: Any) -> Any:
    server: OAuthServer = request.app.state.oauth
    await _ready_keys(request)
    ip = request.client.host if request.client else None
    return await anyio.to_thread.run_sync(
        lambda: server.run(work, ip=ip, request_id=request_id(request)))


def _to_response(result: OAuthResponse) -> Response[Any]:
    headers = {k: v for k, v in result.headers}
    if result.status in (301, 302, 303):
        return Response(None, status_code=302, headers=headers)
    headers.update(NO_STORE)
    return Response(result.body, status_code=result.status, headers=headers, media_type="application/json")


async def _oauth_request(request: Request[Any, Any, Any], form: list[tuple[str, str]] | None = None) -> HttpRequest:
    if form is None:
        body = await request.form() if request.method == "POST" else None
        form = list(body.multi_items()) if body is not None else []
    return HttpRequest(request.method, str(request.url), request.headers,
                       list(request.query_params.multi_items()), form)


async def _endpoint(request: Request[Any, Any, Any],
                    respond: Callable[[OAuthServer, HttpRequest], Any]) -> Response[Any]:
    """A token, revocation or introspection request: screened (app/auth/parameters.py), then authlib."""
    oauth_request = await _oauth_request(request)
    server: OAuthServer = request.app.state.oauth
    refused = malformed(oauth_request.pairs, request.headers.get("authorization"))
    if refused is not None:
        response = server.handle_error_response(oauth_request, refused)
        assert isinstance(response, OAuthResponse)  # what OAuthServer.handle_response makes
        return _to_response(response)
    return _to_response(await _run(request, lambda: respond(server, oauth_request)))


def _binding(params: dict[str, str]) -> str:
    """Ties a sign-in ticket to one authorization request."""
    raw = "\n".join(f"{k}={params.get(k, '')}" for k in AUTH_PARAMS if k != "ui_locales")
    return hashlib.sha256(raw.encode()).hexdigest()


class OAuthController(Controller):
    path = "/"
    tags = ["OAuth"]
    include_in_schema = False

    # ------------------------------------------------------------- authorization endpoint

    async def _validate(self, request: Request[Any, Any, Any], params: list[tuple[str, str]]
                        ) -> tuple[Client | None, Response[Any] | None]:
        """Validate the authorization request; answer errors per RFC 6749 §4.1.2.1."""
        server: OAuthServer = request.app.state.oauth
        oauth_request = HttpRequest("GET", str(request.url), request.headers, params, [])

        def validate() -> Client:
            grant = server.get_consent_grant(oauth_request)
            return ours(grant.request.client)

        try:
            refused = malformed(params)
            if refused is not None:
                raise refused
            return await _run(request, validate), None
        except OAuth2Error as error:
            issuer = request.app.state.settings.issuer
            if error.redirect_uri:  # only a redirect URI verified against the client
                _, _, headers = error(None)
                location = dict(headers).get("Location") or ""
                return None, Redirect(with_iss(location, issuer), status_code=302)
            lang = lang_of(dict(params).get("ui_locales"), request.headers.get("accept-language"))
            return None, Response(error_page(lang, error.error, error.description), status_code=400,
                                  media_type=HTML, headers=NO_STORE)

    def _page(self, html: str, csrf: str, status: int = 200,
              headers: dict[str, str] | None = None) -> Response[str]:
        return Response(html, status_code=status, media_type=HTML,
                        headers={**NO_STORE, **NO_FRAMING, **(headers or {})},
                        cookies=[Cookie(key=CSRF_COOKIE, value=csrf, path="/oauth", httponly=True,
                                        samesite="lax", max_age=1800)])

    @get("/oauth/authorize", middleware=[AUTH_RATE_LIMIT], **public())
    async def authorize_page(self, request: Request[Any, Any, Any]) -> Response[Any]:
        params = [(k, v) for k, v in request.query_params.multi_items() if k in AUTH_PARAMS]
        client, failure = await self._validate(request, params)
        if failure is not None:
            return failure
        assert client is not None
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        data = dict(params)
        lang = lang_of(data.get("ui_locales"), request.headers.get("accept-language"))
        switch = "/oauth/authorize?" + urlencode([*[(k, v) for k, v in params if k != "ui_locales"],
                                                  ("ui_locales", "en" if lang == "zh" else "zh")])
        fields = [*params, ("csrf", csrf)]
        return self._page(sign_in_page(lang, client_name=client.row.name, fields=fields, switch_href=switch), csrf)

    @post("/oauth/authorize", middleware=[AUTH_RATE_LIMIT], **public())
    async def authorize_submit(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await request.form()
        data = {k: str(v) for k, v in form.items()}
        params = [(k, str(v)) for k, v in form.multi_items() if k in AUTH_PARAMS]
        client, failure = await self._validate(request, params)
        if failure is not None:
            return failure
        assert client is not None
        lang = lang_of(data.get("ui_locales"), request.headers.get("accept-language"))
        csrf = request.cookies.get(CSRF_COOKIE, "")
        fields = [*params, ("csrf", csrf)]
        switch = "/oauth/authorize?" + urlencode(params)
        if not csrf or not hmac.compare_digest(csrf, data.get("csrf", "")):
            csrf = secrets.token_urlsafe(24)
            return self._page(sign_in_page(lang, client_name=client.row.name, fields=[*params, ("csrf", csrf)],
                                           switch_href=switch, message="csrf"), csrf, 400)
        ring: KeyRing = request.app.state.key_ring
        binding = _binding(dict(params))
        step = data.get("step", "password")
        if step == "password":
            return await self._password_step(request, client, data, params, fields, lang, csrf, switch, binding)
        # Later steps carry a ticket proving the earlier ones, bound to this request. A consent
        # ticket decides once: a re-posted consent form gets no second code. (Spent before the
        # session opens: the counters may take a connection of their own.)
        try:
            claims = ring.read_ticket(data.get("ticket", ""))
        except InvalidToken:
            claims = {}
        if step == "consent" and not await _first_use(request, claims):
            claims = {}

        async with request.app.state.db.platform_session() as session, session.begin():
            if claims.get("bind") != binding or claims.get("stage") not in ("mfa", "enrol", "consent") \
                    or claims.get("stage") != {"totp": "mfa", "enrol": "enrol", "consent": "consent"}.get(step):
                return self._page(sign_in_page(lang, client_name=client.row.name, fields=fields,
                                               switch_href=switch, message="expired"), csrf, 400)
            account = await session.get(Account, uuid.UUID(claims["sub"]), with_for_update=True)
            if account is None or account.status.value != "active" or accounts.is_locked(account):
                return self._page(sign_in_page(lang, client_name=client.row.name, fields=fields,
                                               switch_href=switch, message="locked"), csrf, 401)
            if step in ("totp", "enrol"):
                code = data.get("code", "")
                ok = accounts.verify_totp(account, code) or (
                    step == "totp" and accounts.use_recovery_code(account, code))
                if not ok:
                    accounts.record_failure(account)
                    await _audit(request, session, client, account, "auth.mfa.failed", {"step": step})
                    page = (enrol_page(lang, fields=[*fields, ("ticket", data["ticket"])],
                                       secret=account.totp_secret or "",
                                       uri=accounts.totp_uri(account.totp_secret or "", account,
                                                             client.tenant_slug or "platform"), message="bad_code")
                            if step == "enrol" else
                            totp_page(lang, fields=[*fields, ("ticket", data["ticket"])], message="bad_code"))
                    return self._page(page, csrf, 401)
                if step == "enrol":
                    account.totp_confirmed_at = utcnow()
                    await _audit(request, session, client, account, "auth.mfa.enrolled", None)
                return await self._after_authentication(request, session, client, account, params, fields,
                                                        lang, csrf, binding)
            # consent
            return await self._finish(request, session, client, account, params,
                                      allow=data.get("decision") == "allow")

    async def _password_step(self, request: Request[Any, Any, Any], client: Client, data: dict[str, str],
                             params: list[tuple[str, str]], fields: list[tuple[str, str]], lang: str, csrf: str,
                             switch: str, binding: str) -> Response[Any]:
        """The username and password. Throttled per username and source (app/auth/throttle.py),
        before and after the session (the counters may take a connection of their own); the
        answer to a wrong password is the same for every username, existing or not."""
        counters = request.app.state.counters
        username = data.get("username", "")
        pair = throttle.pair_key(client.row.tenant_id, username, request.client.host if request.client else None)
        wait = await throttle.wait_seconds(counters, pair)
        ring: KeyRing = request.app.state.key_ring
        outcome = None  # what the pair's count learns: a failure, a success, or nothing

        def page(message: str, status: int, headers: dict[str, str] | None = None) -> Response[str]:
            return self._page(sign_in_page(lang, client_name=client.row.name, fields=fields, switch_href=switch,
                                           message=message, username=username), csrf, status, headers)

        async with request.app.state.db.platform_session() as session, session.begin():
            if wait:
                await _audit(request, session, client, None, "auth.sign_in.throttled",
                             {"username": accounts.normalise_username(username)[:100], "retryAfter": wait})
                response = page("throttled", 429, {"Retry-After": str(wait)})
            else:
                check = await accounts.check_password(session, client.row.tenant_id, username,
                                                      data.get("password", ""))
                account = check.account
                outcome = "success" if check.ok or check.locked else "failure"
                if not check.ok or account is None:
                    await _audit(request, session, client, account, "auth.sign_in.failed",
                                 {"locked": check.locked, "username": accounts.normalise_username(username)[:100]})
                    response = page("locked", 429) if check.locked else page("bad_credentials", 401)
                elif not _kind_allowed(account, client):
                    await _audit(request, session, client, account, "auth.sign_in.failed", {"reason": "kind"})
                    response = page("bad_credentials", 401)
                else:
                    response = await self._after_password(request, session, client, account, params, fields,
                                                          lang, csrf, binding, ring)
        if outcome == "failure":
            await throttle.failed(counters, pair)
        elif outcome == "success":
            await throttle.succeeded(counters, pair)
        return response

    async def _after_password(self, request: Request[Any, Any, Any], session: Any, client: Client,
                              account: Account, params: list[tuple[str, str]], fields: list[tuple[str, str]],
                              lang: str, csrf: str, binding: str, ring: KeyRing) -> Response[Any]:
        """The right password: the second factor (enrolling it first) when required, else on."""
        tenant = await session.get(Tenant, client.row.tenant_id) if client.row.tenant_id else None
        requires_staff_mfa = tenant.staff_mfa_required if tenant is not None else True
        if accounts.mfa_required(account, requires_staff_mfa):
            if account.totp_confirmed_at is None:
                if account.totp_secret is None:
                    account.totp_secret, account.totp_last_step = accounts.new_totp_secret(), None
                ticket = ring.sign_ticket({"sub": str(account.id), "stage": "enrol", "bind": binding}, TICKET_TTL)
                return self._page(enrol_page(lang, fields=[*fields, ("ticket", ticket)], secret=account.totp_secret,
                                             uri=accounts.totp_uri(account.totp_secret, account,
                                                                   client.tenant_slug or "platform")), csrf)
            ticket = ring.sign_ticket({"sub": str(account.id), "stage": "mfa", "bind": binding}, TICKET_TTL)
            return self._page(totp_page(lang, fields=[*fields, ("ticket", ticket)]), csrf)
        return await self._after_authentication(request, session, client, account, params, fields, lang, csrf,
                                                binding)

    async def _after_authentication(self, request: Request[Any, Any, Any], session: Any, client: Client,
                                    account: Account, params: list[tuple[str, str]], fields: list[tuple[str, str]],
                                    lang: str, csrf: str, binding: str) -> Response[Any]:
        accounts.record_success(account)
        await _audit(request, session, client, account, "auth.sign_in", None)
        if client.row.first_party:
            return await self._finish(request, session, client, account, params, allow=True)
        ring: KeyRing = request.app.state.key_ring
        ticket = ring.sign_ticket({"sub": str(account.id), "stage": "consent", "bind": binding}, TICKET_TTL)
        requested = client.get_allowed_scope(dict(params).get("scope")).split()
        scopes = [(s, SCOPES.get(s, "")) for s in requested if s in account.scopes]
        return self._page(consent_page(lang, client_name=client.row.name, scopes=scopes,
                                       fields=[*fields, ("ticket", ticket)]), csrf)

    async def _finish(self, request: Request[Any, Any, Any], session: Any, client: Client, account: Account,
                      params: list[tuple[str, str]], *, allow: bool) -> Response[Any]:
        # Commit the sign-in bookkeeping before the code is issued in its own transaction.
        await session.commit()
        server: OAuthServer = request.app.state.oauth
        oauth_request = HttpRequest("POST", str(request.url), request.headers, params, [])

        def issue() -> OAuthResponse:
            grant = server.get_consent_grant(oauth_request, end_user=account)
            response = server.create_authorization_response(oauth_request, grant_user=account if allow else None,
                                                            grant=grant)
            assert isinstance(response, OAuthResponse)  # what OAuthServer.handle_response makes
            return response

        result = await _run(request, issue)
        location = dict(result.headers).get("Location", "")
        return Redirect(with_iss(location, request.app.state.settings.issuer), status_code=302,
                        headers=NO_STORE)

    # ------------------------------------------------------------------- token endpoints

    @post("/oauth/token", middleware=[AUTH_RATE_LIMIT], **public())
    async def token(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return await _endpoint(request, lambda server, oauth_request: server.create_token_response(oauth_request))

    @post("/oauth/revoke", **public())
    async def revoke(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return await _endpoint(request, lambda server, oauth_request: server.create_endpoint_response(
            "revocation", oauth_request))

    @post("/oauth/introspect", **public())
    async def introspect(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return await _endpoint(request, lambda server, oauth_request: server.create_endpoint_response(
            "introspection", oauth_request))

    # --------------------------------------------------------------------- discovery

    @get("/.well-known/oauth-authorization-server", **public())
    async def metadata(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        issuer = request.app.state.settings.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/oauth/token",
            "revocation_endpoint": f"{issuer}/oauth/revoke",
            "introspection_endpoint": f"{issuer}/oauth/introspect",
            "jwks_uri": f"{issuer}/.well-known/jwks.json",
            "scopes_supported": sorted(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "authorization_response_iss_parameter_supported": True,
            "ui_locales_supported": ["zh-CN", "en"],
        }

    @get("/.well-known/jwks.json", **public())
    async def jwks(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        ring = await _ready_keys(request)
        return Response(ring.jwks, headers={"Cache-Control": "public, max-age=300"})


async def _first_use(request: Request[Any, Any, Any], claims: dict[str, Any]) -> bool:
    """Whether this is the first use of the ticket (in the counters every process shares)."""
    jti = claims.get("jti")
    return isinstance(jti, str) and await request.app.state.counters.bump(f"ticket:{jti}", TICKET_TTL + 60) == 1


def _kind_allowed(account: Account, client: Client) -> bool:
    """Operators sign in only through platform clients, tenant accounts through their tenant's."""
    if client.row.tenant_id is None:
        return account.kind is AccountKind.operator
    return account.tenant_id == client.row.tenant_id and account.kind is not AccountKind.operator


async def _audit(request: Request[Any, Any, Any], session: Any, client: Client, account: Account | None,
                 action: str, after: dict[str, Any] | None) -> None:
    """Sign-in events go to the tenant's audit log (the platform's for platform clients)."""
    actor = Actor(kind="user", id=str(account.id) if account else "unknown", client_id=client.client_id,
                  ip=request.client.host if request.client else None,
                  request_id=request_id(request))
    await audit.append(session, schema=schema_name(client.tenant_slug) if client.tenant_slug else None,
                       actor=actor, action=action, entity_type="account",
                       entity_id=account.id if account else "unknown", after=after)
