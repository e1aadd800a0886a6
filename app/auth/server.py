"""The OAuth 2.1 authorization server, on authlib's framework-neutral core.

authlib's core is synchronous: each OAuth request runs in a worker thread (never on the
event loop) with its own synchronous session and transaction. Grants: authorization code
with PKCE (S256 only, required for every client), client credentials, and refresh tokens
rotated on every use with reuse detection. No implicit and no password grant.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request, TokenMixin
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import (
    Account,
    AccountStatus,
    AuthorizationCode,
    ClientKind,
    ClientStatus,
    OAuthClient,
    RefreshToken,
)
from app.auth.tokens import InvalidToken, KeyRing
from app.core.audit import Actor, record_sync
from app.core.clock import utcnow
from app.core.db import Database
from app.core.ids import new_id
from app.tenants.models import Tenant, TenantStatus, schema_name

log = logging.getLogger(__name__)
T = TypeVar("T")

CODE_TTL = timedelta(seconds=60)
REFRESH_TTL = timedelta(days=30)


def digest(secret: str) -> str:
    """Storage form of a high-entropy secret (codes, refresh tokens, client secrets)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# ----------------------------------------------------------------------------- clients


@dataclass
class Client(ClientMixin):
    """The view of an OAuth client that authlib works with."""

    row: OAuthClient
    tenant_slug: str | None

    @property
    def client_id(self) -> str:
        return self.row.client_id

    def get_client_id(self) -> str:
        return self.row.client_id

    # The stub says str; authlib refuses a request without a redirect URI when this is None.
    def get_default_redirect_uri(self) -> str | None:  # type: ignore[override]
        # OAuth 2.1: the redirect URI is always sent and matched exactly; no default.
        return None

    # The stub allows a collection; authlib passes the request's scope string, or None.
    def get_allowed_scope(self, scope: str | None) -> str:  # type: ignore[override]
        allowed = set(self.row.allowed_scopes)
        if not scope:
            return " ".join(sorted(allowed))
        return " ".join(sorted(s for s in scope.split() if s in allowed))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.row.secret_hash:
            return False
        return hmac.compare_digest(self.row.secret_hash, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.row.kind is ClientKind.public:
            # RFC 7009 §5: a public client revokes its own tokens with its client_id alone.
            return method == "none" and endpoint in ("token", "revocation")
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.row.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials" and self.row.kind is ClientKind.public:
            return False
        return grant_type in self.row.grant_types


# ---------------------------------------------------------------- thread-bound session

_local = threading.local()


def ours(client: ClientMixin | None) -> Client:
    """The client authlib hands back: always the one query_client returned."""
    assert isinstance(client, Client)
    return client


def _payload(request: OAuth2Request) -> OAuth2Payload:
    """A request's parameters: HttpRequest sets them when it is made."""
    assert request.payload is not None
    return request.payload


def _session() -> Session:
    session: Session | None = getattr(_local, "session", None)
    if session is None:
        raise RuntimeError("OAuth work must run through OAuthServer.run")
    return session


def _actor(kind: str, actor_id: str, client_id: str | None) -> Actor:
    context = getattr(_local, "context", {})
    return Actor(kind=kind, id=actor_id, client_id=client_id, ip=context.get("ip"),
                 request_id=context.get("request_id"))


def audit_event(tenant_slug: str | None, actor: Actor, action: str, entity_type: str, entity_id: Any,
                after: dict[str, Any] | None = None, session: Session | None = None) -> None:
    """Auth events go to the tenant's own audit log (the platform's for operators)."""
    record_sync(session or _session(), schema=schema_name(tenant_slug) if tenant_slug else None,
                actor=actor, action=action, entity_type=entity_type, entity_id=entity_id, after=after)


def _load_client(session: Session, client_id: str) -> Client | None:
    row = session.execute(
        select(OAuthClient, Tenant.slug, Tenant.status)
        .outerjoin(Tenant, Tenant.id == OAuthClient.tenant_id)
        .where(OAuthClient.client_id == client_id)
    ).one_or_none()
    if row is None:
        return None
    client, slug, tenant_status = row
    if client.status is not ClientStatus.active:
        return None
    if client.tenant_id is not None and tenant_status is not TenantStatus.active:
        return None
    return Client(row=client, tenant_slug=slug)


# ------------------------------------------------------------------------------ grants


class S256Challenge(CodeChallenge):
    """PKCE for every client, S256 only (authlib allows 'plain' and optional PKCE)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge and code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        now = utcnow()
        data = _payload(request).data
        assert request.user is not None  # the grant was given by a signed-in user
        _session().add(AuthorizationCode(
            code_hash=digest(code), client_id=ours(request.client).client_id, account_id=request.user.id,
            redirect_uri=data["redirect_uri"], scope=request.scope or "",
            code_challenge=data["code_challenge"], code_challenge_method=data["code_challenge_method"],
            auth_time=now, expires_at=now + CODE_TTL,
        ))

    def query_authorization_code(self, code: str, client: ClientMixin) -> AuthorizationCode | None:
        client = ours(client)
        session = _session()
        code_hash = digest(code)
        # Consumed on lookup, atomically: two exchanges of one code cannot both pass.
        found: AuthorizationCode | None = session.scalar(
            update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == code_hash, AuthorizationCode.client_id == client.client_id,
                   AuthorizationCode.used_at.is_(None), AuthorizationCode.expires_at > utcnow())
            .values(used_at=utcnow()).returning(AuthorizationCode)
        )
        if found is None:
            replayed = session.scalar(select(AuthorizationCode).where(
                AuthorizationCode.code_hash == code_hash, AuthorizationCode.used_at.is_not(None)))
            if replayed is not None and replayed.family_id is not None:
                # RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for.
                _revoke_family_now(replayed.family_id, "code replayed", client)
        return found

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to do: the code was consumed when it was looked up."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Account | None:
        account = _session().get(Account, authorization_code.account_id)
        return account if account is not None and account.status is AccountStatus.active else None


class RotatingRefreshGrant(RefreshTokenGrant):
    """Refresh-token rotation with reuse detection. The presented token is only looked up
    (and locked) while the request is checked; it is spent when the new one is saved, so a
    request refused for any reason (another client, a wider scope, a disabled account)
    leaves it usable: a refusal must not make the next legitimate use look like reuse."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    # The stub says TokenMixin; authlib answers invalid_grant when this is None, and hands the
    # row back to this class's own methods only.
    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:  # type: ignore[override]
        session = _session()
        # Locked until this request commits: a concurrent refresh with the same token waits,
        # then finds it spent, which is reuse.
        token = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest(refresh_token))
                               .with_for_update())
        if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
            return None
        if not token.check_client(self.request.client):
            return None  # another client's token: refused, and left as it was
        if token.spent_at is not None:
            _revoke_family_now(token.family_id, "refresh token reuse", None)
            return None
        return token

    def authenticate_user(self, refresh_token: RefreshToken) -> Account | None:
        account = _session().get(Account, refresh_token.account_id)
        return account if account is not None and account.status is AccountStatus.active else None

    def revoke_old_credential(self, refresh_token: TokenMixin) -> None:
        """Spent once its successor is saved, in the same transaction (the row is locked)."""
        assert isinstance(refresh_token, RefreshToken)  # what authenticate_refresh_token found
        refresh_token.spent_at = utcnow()
        _session().flush()


class CredentialsGrant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        scope = _payload(self.request).scope
        if scope and not ours(self.request.client).get_allowed_scope(scope):
            raise InvalidScopeError("None of the requested scopes is allowed for this client.")


def _revoke_family_now(family_id: uuid.UUID, reason: str, client: Client | None) -> None:
    """Revoke a refresh-token family in the request's own transaction. It sticks: the request
    ends in an OAuth error *response* (authlib catches the error), so OAuthServer.run commits.
    It must not use a second transaction: when this request's spending UPDATE waited out a
    concurrent spender, PostgreSQL left the presented token's row locked by this request
    (READ COMMITTED re-check), and a second transaction updating that row would wait forever."""
    session = _session()
    tokens = session.scalars(
        update(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason).returning(RefreshToken)
    ).all()
    first = session.scalar(select(RefreshToken).where(RefreshToken.family_id == family_id).limit(1))
    if first is not None:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == first.tenant_id)) if first.tenant_id else None
        audit_event(slug, _actor("system", "oauth", first.client_id), "oauth.refresh.reuse_detected",
                    "refresh_token_family", family_id,
                    after={"reason": reason, "revoked": len(tokens)}, session=session)


# ---------------------------------------------------------------- revocation, introspection


class _AnyTokenType:
    """RFC 7009 §2.1, RFC 7662 §2.1: ``token_type_hint`` is a hint. An unknown one is not an
    error (authlib answers ``unsupported_token_type``): every type of token is searched."""

    def check_params(self, request: OAuth2Request, client: Client) -> None:
        if not request.form.get("token"):
            raise InvalidRequestError("Missing 'token'.")


class Revocation(_AnyTokenType, RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> RefreshToken | None:
        return _session().scalar(select(RefreshToken).where(RefreshToken.token_hash == digest(token_string)))

    def revoke_token(self, token: RefreshToken, request: OAuth2Request) -> None:
        # Revoking a refresh token ends its whole family: the app signed out.
        session = _session()
        session.execute(update(RefreshToken).where(RefreshToken.family_id == token.family_id,
                                                   RefreshToken.revoked_at.is_(None))
                        .values(revoked_at=utcnow(), revoked_reason="revoked by client"))
        client = ours(request.client)
        audit_event(client.tenant_slug, _actor("client", client.client_id, client.client_id),
                    "oauth.token.revoke", "refresh_token_family", token.family_id)


@dataclass
class IntrospectedAccess:
    """A verified access token (its signature and expiry were checked just now)."""

    claims: dict[str, Any]

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False


class Introspection(_AnyTokenType, IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        # The hint orders the search and nothing else.
        if token_type_hint == "refresh_token":  # noqa: S105 - a token type's name, not a secret
            return self._refresh(token_string) or self._access(token_string)
        return self._access(token_string) or self._refresh(token_string)

    @staticmethod
    def _access(token_string: str) -> IntrospectedAccess | None:
        server: OAuthServer = _local.server
        try:
            principal = server.key_ring.verify(token_string)
        except InvalidToken:
            return None
        return IntrospectedAccess(claims={
            "active": True, "scope": " ".join(sorted(principal.scopes)), "client_id": principal.client_id,
            "sub": principal.subject, "exp": principal.expires_at, "token_type": "Bearer",
            "iss": server.key_ring.issuer, "aud": server.key_ring.audience, "jti": principal.token_id,
            **({"tenant": principal.tenant} if principal.tenant else {}),
        })

    @staticmethod
    def _refresh(token_string: str) -> RefreshToken | None:
        return _session().scalar(select(RefreshToken).where(RefreshToken.token_hash == digest(token_string)))

    def introspect_token(self, token: Any) -> dict[str, Any]:
        if isinstance(token, IntrospectedAccess):
            return token.claims
        return {"active": True, "scope": token.scope, "client_id": token.client_id, "sub": str(token.account_id),
                "exp": int(token.expires_at.timestamp()), "token_type": "refresh_token"}

    def check_permission(self, token: Any, client: Client, request: OAuth2Request) -> bool:
        # A confidential client may introspect tokens of its own tenant only.
        if isinstance(token, IntrospectedAccess):
            return token.claims.get("tenant") == client.tenant_slug
        owner = _load_client(_session(), token.client_id)
        return owner is not None and owner.tenant_slug == client.tenant_slug


# ------------------------------------------------------------------------------ server


class Payload(OAuth2Payload):
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {k: v[0] for k, v in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class HttpRequest(OAuth2Request):
    """An already-read HTTP request (query and form pairs), safe to hand to a thread."""

    def __init__(self, method: str, uri: str, headers: Mapping[str, str], query: list[tuple[str, str]],
                 form: list[tuple[str, str]]) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._args: dict[str, str | None] = dict(query)
        self._form = dict(form)
        self.pairs = query + form  # every parameter as sent
        self.payload = Payload(self.pairs)

    @property
    def args(self) -> dict[str, str | None]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass
class OAuthResponse:
    status: int
    body: Any
    headers: list[tuple[str, str]]


class OAuthServer(AuthorizationServer):
    def __init__(self, db: Database, key_ring: KeyRing, access_ttl: int) -> None:
        from app.auth.scopes import SCOPES

        super().__init__(scopes_supported=list(SCOPES))
        self.db = db
        self.key_ring = key_ring
        self.access_ttl = access_ttl
        self.register_grant(CodeGrant, [S256Challenge(required=True)])
        self.register_grant(RotatingRefreshGrant)
        self.register_grant(CredentialsGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        # authlib calls any callable of this signature; the stub asks for its own generator class.
        self.register_token_generator("default", self._generate_token)  # type: ignore[arg-type]

    # -- running authlib in a thread with a session

    def run(self, work: Callable[[], T], *, ip: str | None = None, request_id: str | None = None) -> T:
        """Run ``work`` in this thread with a fresh session and transaction (commit on return)."""
        with Session(self.db.sync_engine, expire_on_commit=False) as session, session.begin():
            _local.session = session
            _local.server = self
            _local.context = {"ip": ip, "request_id": request_id}
            try:
                return work()
            finally:
                _local.session = None

    # -- authlib hooks

    # The stub says ClientMixin; authlib answers invalid_client when this is None.
    def query_client(self, client_id: str) -> Client | None:  # type: ignore[override]
        return _load_client(_session(), client_id)

    def create_oauth2_request(self, request: HttpRequest) -> HttpRequest:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    # The stub says a Mapping; authlib passes a list of (name, value) pairs.
    def handle_response(self, status: int, body: Any,  # type: ignore[override]
                        headers: Iterable[tuple[str, str]]) -> OAuthResponse:
        return OAuthResponse(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's signals are not used; events are audited where they happen."""

    def _generate_token(self, grant_type: str, client: Client, user: Account | None = None,
                        scope: str | None = None, expires_in: int | None = None,
                        include_refresh_token: bool = True) -> dict[str, Any]:
        granted = set((scope or "").split())
        if user is not None:
            granted &= set(user.scopes)  # never more than the account may hold
            subject = str(user.id)
        else:
            # authlib's client credentials grant passes the requested scope through unfiltered:
            # cap it at the client's allowed scopes (all of them when none was asked for).
            granted = set(client.get_allowed_scope(scope).split())
            subject = client.client_id
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": self.key_ring.mint(subject=subject, client_id=client.client_id, scopes=granted,
                                               tenant=client.tenant_slug, ttl=self.access_ttl),
            "expires_in": self.access_ttl,
            "scope": " ".join(sorted(granted)),
        }
        if include_refresh_token and user is not None and grant_type in ("authorization_code", "refresh_token"):
            token["refresh_token"] = new_secret()
        return token

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        session = _session()
        client = ours(request.client)
        user: Account | None = request.user
        if "refresh_token" in token and user is not None:
            parent: RefreshToken | None = request.refresh_token
            family = parent.family_id if parent is not None else new_id()
            now = utcnow()
            session.add(RefreshToken(
                token_hash=digest(token["refresh_token"]), family_id=family,
                parent_id=parent.id if parent is not None else None, client_id=client.client_id,
                account_id=user.id, tenant_id=client.row.tenant_id, scope=token["scope"], issued_at=now,
                expires_at=now + REFRESH_TTL,
            ))
            code: AuthorizationCode | None = request.authorization_code
            if code is not None:
                code.family_id = family
        kind, actor_id = ("user", str(user.id)) if user is not None else ("client", client.client_id)
        audit_event(client.tenant_slug, _actor(kind, actor_id, client.client_id), "oauth.token.issue",
                    "oauth_client", client.client_id,
                    after={"grant_type": _payload(request).grant_type, "scope": token["scope"]})


def with_iss(location: str, issuer: str) -> str:
    """RFC 9207: the authorization response names its issuer."""
    parts = urlsplit(location)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k == "iss" for k, _ in query):
        query.append(("iss", issuer))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
