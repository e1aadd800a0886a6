"""CORS for browser front ends on another origin, per the Fetch standard's CORS protocol.

An origin is allowed when the deployment lists it (CORNERSTONE_CORS_ORIGINS) or an active
OAuth client registers it (app/auth/origins.py); ``allows`` answers that, from a cache.

* A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here,
  before routing and authentication: 204 with the origin echoed, the methods, the asked
  headers the API reads, and Max-Age; from an origin that is not allowed, a 403 problem
  with no CORS header, which fails the browser's CORS check (Fetch §4.9: a preflight
  needs an ok status and a matching Access-Control-Allow-Origin). Litestar's own
  middleware refuses such a preflight too (a 400 text/plain); ours says why in a problem.
* Every other answer to an allowed origin, errors and 401s included, carries
  Access-Control-Allow-Origin (the exact origin: never ``*``; no credentials mode, since
  tokens travel in Authorization and never in cookies) and the headers a script may read.
* Every answer carries ``Vary: Origin``: whether it grants depends on the origin, so no
  cache may hand one origin's answer to another.

CORS only governs what a browser lets a page read; the access token still decides what a
request may do and in which tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import msgspec
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.core.problems import CATALOGUE, PROBLEM_JSON, TYPE_PREFIX, Problem

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# The request headers the API reads, beyond the CORS-safelisted ones (lower case, as the
# preflight's Access-Control-Request-Headers lists them).
REQUEST_HEADERS = ("authorization", "content-type", "if-match", "idempotency-key", "change-reason",
                   "x-request-id", "accept-language")
# The answer headers a script may read beyond the CORS-safelisted ones.
EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "Idempotent-Replayed", "X-Request-Id", "RateLimit-Policy",
                   "WWW-Authenticate")
MAX_AGE = 600  # seconds a browser may reuse a preflight (Chromium caps it at 7200)
REFUSED = "cors-origin-refused"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What an origin may look like in a request body, so that the document states the rule and a
# client generator or fuzzer draws only what normalise_origin accepts: http(s), an ASCII host
# name or address (or [::1]), a port up to 65535, at most a trailing slash.
ORIGIN_PATTERN = (r"^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9.-]+|\[::1\])"
                  r"(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?/?$")


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case without a default port, or ValueError saying
    why: http or https, a host, no user, path, query, fragment or wildcard."""
    raw = value.strip()
    if raw.endswith("/"):
        raw = raw[:-1]
    if "*" in raw:
        raise ValueError("a wildcard is not an origin; list each origin")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValueError("not scheme://host[:port]") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("the scheme must be http or https")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ValueError("a host is needed, without user or password")
    if parts.path or parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise ValueError("an origin has no path, query or fragment")
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    return f"{scheme}://{host}" + ("" if port is None or port == _DEFAULT_PORTS[scheme] else f":{port}")


def origin_of(uri: str) -> str | None:
    """The web origin of a redirect URI; None for a native app's private-use scheme."""
    parts = urlsplit(uri)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        return None
    try:
        return normalise_origin(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        return None


def _refusal(origin: str) -> bytes:
    status, title = CATALOGUE[REFUSED]
    return msgspec.json.encode(Problem(
        type=TYPE_PREFIX + REFUSED, title=title, status=status,
        detail=f"The origin {origin[:200]} may not call this API from a browser: register it on the OAuth client "
               "(allowedOrigins) or ask the operator to list it."))


def _add_vary(headers: MutableScopeHeaders, *names: str) -> None:
    present = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
    wanted = [n for n in names if n.lower() not in {p.lower() for p in present}]
    if wanted:
        headers["Vary"] = ", ".join([*present, *wanted])


class BrowserCors:
    """Pure ASGI, outermost (around Litestar's exception handling), so that the answers of
    errors raised anywhere below carry the CORS headers too."""

    def __init__(self, app: ASGIApp, allows: Callable[[str], Awaitable[bool]]) -> None:
        self.app = app
        self.allows = allows

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        origin = asked_method = asked_headers = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"access-control-request-method":
                asked_method = value.decode("latin-1")
            elif name == b"access-control-request-headers":
                asked_headers = value.decode("latin-1")
        # "null" (sandboxed frames, file: pages) is an opaque origin: never granted.
        allowed = origin is not None and origin != "null" and await self.allows(origin)
        if method == "OPTIONS" and origin is not None and asked_method is not None:
            await self._preflight(send, origin, allowed, asked_headers)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                _add_vary(headers, "Origin")
                if allowed:
                    assert origin is not None
                    headers["Access-Control-Allow-Origin"] = origin
                    headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, send: Send, origin: str, allowed: bool, asked_headers: str | None) -> None:
        vary = b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        if not allowed:
            await self._answer(send, 403, [(b"content-type", PROBLEM_JSON.encode()), (b"vary", vary)],
                               _refusal(origin))
            return
        asked = [h.strip().lower() for h in (asked_headers or "").split(",") if h.strip()]
        granted = [h for h in asked if h in REQUEST_HEADERS]
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ", ".join(METHODS).encode()),
            (b"access-control-max-age", str(MAX_AGE).encode()),
            (b"vary", vary),
        ]
        if granted:
            headers.append((b"access-control-allow-headers", ", ".join(granted).encode()))
        await self._answer(send, 204, headers, b"")

    @staticmethod
    async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})
