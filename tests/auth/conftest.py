"""The authorization server over real HTTP: the API as a subprocess on a loopback port, a
loopback "app" that receives redirects, and a tenant with accounts and clients to sign in.

Issuer: the subprocess gets CORNERSTONE_ISSUER = its own base URL (http://127.0.0.1:<port>).
The issuer is the public base URL (metadata endpoints, ``iss`` in redirects, ticket audience),
so it must match the port the server really listens on; pinning the test run's issuer
(http://127.0.0.1:8000) would advertise endpoints where nothing listens. The price: tokens
from the in-process ``mint`` fixture (issuer 8000) are foreign to this server, so these tests
get their tokens from the server itself, or mint with ``LiveServer.key_ring()`` (right issuer).
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pyotp
import pytest
from sqlalchemy import text

from app.config import PROJECT_ROOT
from tests.conftest import OPERATOR

START_TIMEOUT = 30.0  # seconds for uvicorn to import the app and answer /health/live
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 15.0  # per request; argon2 and a cold pool stay well below it


# ------------------------------------------------------------------------------ the server


@dataclass
class LiveServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def issuer(self) -> str:
        return self.base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def authorize(self) -> str:
        return self.url("/oauth/authorize")

    @property
    def token(self) -> str:
        return self.url("/oauth/token")

    @property
    def revoke(self) -> str:
        return self.url("/oauth/revoke")

    @property
    def introspect(self) -> str:
        return self.url("/oauth/introspect")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"the API server exited ({self.process.returncode}):\n{self.tail()}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(db: Any, output_dir: Path) -> Iterator[LiveServer]:
    """The real API (uvicorn, one process) on a free loopback port, on this run's database.

    Depends on ``db`` so the shared schema and the first signing key exist before it starts.
    """
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = output_dir / f"oauth-server-{port}.log"
    # DATABASE_URL and REDIS_URL are inherited: tests/conftest.py exported this run's.
    env = {**os.environ, "CORNERSTONE_ISSUER": base, "CORNERSTONE_PORT": str(port),
           # Every request here comes from 127.0.0.1, far above the per-IP sign-in limit
           # (30 a minute); these tests are about OAuth, the limiter is tested on its own.
           "CORNERSTONE_AUTH_RATE_LIMIT": "1000000",
           # A small pool: the server opens all of it at start, and a run holds several servers.
           "CORNERSTONE_DB_POOL_SIZE": "5"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "app.asgi:app_factory", "--host", "127.0.0.1",
             "--port", str(port), "--no-server-header"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    server = LiveServer(base, process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            server.alive()
            try:
                if httpx.get(server.url("/health/live"), timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise AssertionError(f"the API server did not answer within {START_TIMEOUT:.0f}s:\n{server.tail()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


# ---------------------------------------------------------------- the app's redirect target


@dataclass
class CallbackServer:
    """A loopback HTTP server standing in for the native app's redirect URI (RFC 8252 §7.3)."""

    port: int
    hits: list[dict[str, str]] = field(default_factory=list)
    # Pages served at other paths (e.g. a hostile page that frames the sign-in page).
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="session")
def callback_server() -> Iterator[CallbackServer]:
    state = CallbackServer(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            parts = urlsplit(self.path)
            if parts.path == "/callback":
                state.hits.append({k: v[0] for k, v in parse_qs(parts.query).items()})
                body = "<!doctype html><title>callback</title><p id=done>signed in</p>"
            elif parts.path in state.pages:
                body = state.pages[parts.path]
            else:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass  # quiet: the assertions say what arrived

    # Bound before the clients are registered, so the port in the redirect URI is ours.
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=STOP_TIMEOUT)


# ------------------------------------------------------------------- tenant, accounts, clients


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    username: str
    password: str
    totp_secret: str | None = None

    def totp(self) -> str:
        """A code for now. The suite signs the same person in many times a minute, and a code
        is accepted once (RFC 6238 §5.2, proved by tests/auth/test_totp_replay.py): the
        account's last used time step is forgotten first, as if the next step had come."""
        assert self.totp_secret is not None
        from app.core.db import libpq_url

        with psycopg.connect(libpq_url(os.environ["DATABASE_URL"]), autocommit=True) as conn:
            conn.execute("UPDATE platform.accounts SET totp_last_step = NULL WHERE id = %s", (self.id,))
        return pyotp.TOTP(self.totp_secret).now()


@dataclass(frozen=True)
class Realm:
    slug: str
    tenant_id: uuid.UUID
    redirect_uri: str
    staff: Person
    owner: Person
    public_client: str  # first party: no consent page
    third_party_client: str  # public, not first party: consent page
    confidential_client: str
    confidential_secret: str

    @property
    def schema(self) -> str:
        return f"t_{self.slug}"


STAFF_SCOPES = ["jobs:read", "org:read", "org:write"]
CONFIDENTIAL_SCOPES = ["jobs:read", "org:read"]
THIRD_PARTY_SCOPES = ["org:read", "owner:self"]


async def _add_person(session: Any, tenant_id: uuid.UUID, kind: Any, username: str, *, totp: bool,
                      scopes: list[str]) -> Person:
    from app.auth.services import create_account
    from app.core.clock import utcnow

    password = f"Pw-{secrets.token_urlsafe(9)}-9a"  # passes the policy: upper, lower, digit, symbol
    account = await create_account(session, tenant_id=tenant_id, kind=kind, username=username,
                                   display_name=username, password=password, scopes=scopes)
    secret = None
    if totp:
        secret = pyotp.random_base32()
        account.totp_secret, account.totp_confirmed_at = secret, utcnow()
    return Person(account.id, username, password, secret)


async def _create_realm(db: Any, prefix: str, redirect_uri: str) -> Realm:
    from app.auth.models import AccountKind, ClientKind
    from app.auth.scopes import TENANT_SCOPES
    from app.auth.services import create_client
    from app.core.audit import Actor
    from app.tenants.schemas import TenantCreate
    from app.tenants.services import create_tenant

    slug = f"{prefix}_{uuid.uuid4().hex[:10]}"
    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        tenant = await create_tenant(session, TenantCreate(slug=slug, display_name=f"{prefix} group"))
        staff = await _add_person(session, tenant.id, AccountKind.staff, "staff", totp=True, scopes=STAFF_SCOPES)
        owner = await _add_person(session, tenant.id, AccountKind.owner, "owner", totp=False, scopes=["owner:self"])
        public, _ = await create_client(session, tenant_id=tenant.id, name="Our mobile app", kind=ClientKind.public,
                                        redirect_uris=[redirect_uri], allowed_scopes=sorted(TENANT_SCOPES),
                                        first_party=True)
        third, _ = await create_client(session, tenant_id=tenant.id, name="Partner <b>app</b>",
                                       kind=ClientKind.public, redirect_uris=[redirect_uri],
                                       allowed_scopes=THIRD_PARTY_SCOPES, first_party=False)
        confidential, secret = await create_client(session, tenant_id=tenant.id, name="Partner back end",
                                                   kind=ClientKind.confidential, redirect_uris=[],
                                                   allowed_scopes=CONFIDENTIAL_SCOPES)
    assert secret is not None
    return Realm(slug=slug, tenant_id=tenant.id, redirect_uri=redirect_uri, staff=staff, owner=owner,
                 public_client=public.client_id, third_party_client=third.client_id,
                 confidential_client=confidential.client_id, confidential_secret=secret)


@pytest.fixture(scope="session")
async def realm(db: Any, callback_server: CallbackServer) -> Realm:
    return await _create_realm(db, "oauth", callback_server.redirect_uri)


@pytest.fixture(scope="session")
async def other_realm(db: Any, callback_server: CallbackServer) -> Realm:
    """A second tenant: its clients must learn nothing about the first one's tokens."""
    return await _create_realm(db, "oauth_other", callback_server.redirect_uri)


@pytest.fixture(scope="session")
def new_staff(db: Any, realm: Realm) -> Callable[..., Awaitable[Person]]:
    """A fresh staff member of ``realm`` with TOTP, for tests that lock or fail sign-ins."""
    from app.auth.models import AccountKind
    from app.core.audit import Actor

    async def _new(prefix: str = "staff") -> Person:
        async with db.platform_transaction() as session:
            session.info["actor"] = Actor(kind="operator", id=OPERATOR)
            return await _add_person(session, realm.tenant_id, AccountKind.staff, f"{prefix}{uuid.uuid4().hex[:8]}",
                                     totp=True, scopes=STAFF_SCOPES)

    return _new


# ------------------------------------------------------------------------------ helpers


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636 §4.1-4.2."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a sign-in page (the authorization request, csrf, ticket, step)."""
    return {html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(page)}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def auth_params(realm: Realm, challenge: str, *, client_id: str | None = None, scope: str = "org:read jobs:read",
                state: str | None = None, **extra: str) -> dict[str, str]:
    return {"response_type": "code", "client_id": client_id or realm.public_client,
            "redirect_uri": realm.redirect_uri, "scope": scope, "state": state or secrets.token_urlsafe(12),
            "code_challenge": challenge, "code_challenge_method": "S256", **extra}


@pytest.fixture
async def browser_agent(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """The user's browser, played by httpx: keeps the csrf cookie, never follows redirects
    (the redirect to the app is what the tests look at)."""
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=HTTP_TIMEOUT,
                                 follow_redirects=False) as agent:
        yield agent


async def sign_in(agent: httpx.AsyncClient, params: dict[str, str], person: Person, *,
                  decision: str | None = None) -> httpx.Response:
    """Walk the sign-in pages like a browser: password, then TOTP when the person has it,
    then consent when ``decision`` is given. Returns the last response (302 on success)."""
    page = await agent.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    response = await agent.post("/oauth/authorize", data={**hidden_fields(page.text), "username": person.username,
                                                          "password": person.password})
    if person.totp_secret is not None:
        assert response.status_code == 200 and 'name="step" value="totp"' in response.text, response.text
        response = await agent.post("/oauth/authorize", data={**hidden_fields(response.text), "code": person.totp()})
    if decision is not None:
        assert response.status_code == 200 and 'name="step" value="consent"' in response.text, response.text
        response = await agent.post("/oauth/authorize", data={**hidden_fields(response.text), "decision": decision})
    return response


async def audit_rows(db: Any, realm: Realm, action: str, **where: str) -> list[dict[str, Any]]:
    """The tenant's audit records for ``action`` (optionally entity_id / client_id / actor_id)."""
    clauses = " ".join(f"AND {column} = :{column}" for column in where)
    async with db.platform_session() as session:
        result = await session.execute(
            text(f'SELECT action, actor_kind, actor_id, client_id, entity_type, entity_id, after '
                 f'FROM "{realm.schema}".audit_log WHERE action = :action {clauses} ORDER BY occurred_at'),
            {"action": action, **where},
        )
        return [dict(row._mapping) for row in result]
