"""What every layer knows about the request in hand: its id and the caller's address.

**Request id.** The caller's ``X-Request-Id`` is kept when it is 1-100 characters of
``[A-Za-z0-9._:-]`` starting with a letter or digit: it fits ``audit_log.request_id``
(``String(100)``), cannot split a log line, and cannot start a spreadsheet formula in the
audit CSV export. Anything else (too long, odd characters, several different values) is
replaced by a new id, never refused: the id is for tracing, and a bad one must not fail the
request. The id is answered in ``X-Request-Id`` on every response (app/core/http_policy.py),
written to the audit log, and carried by every log record (``%(request_id)s``).

**Client address.** The TCP peer, unless the peer is one of the proxies named in
``CORNERSTONE_TRUSTED_PROXIES``: then the rightmost ``X-Forwarded-For`` address that is not
itself a trusted proxy (the ones left of it are whatever the caller wrote). The middleware
puts it in the ASGI scope's ``client``, so that ``request.client`` is the caller everywhere
(audit, rate limits, sign-in throttling). The server must not rewrite the address itself:
``cornerstone run`` turns uvicorn's forwarded-header handling off (it trusts loopback).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from app.config import IPNetwork
from app.core.problems import ProblemError

REQUEST_ID_HEADER = "X-Request-Id"
MAX_REQUEST_ID = 100  # the audit log's request_id column
_SAFE_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_REQUEST_ID - 1}}}")
_STATE_KEY = "cornerstone.request_id"
_NONE = "-"  # in log records made outside any request

# The id of the request being served in this task (and in the threads it hands work to:
# anyio's worker threads run in a copy of the caller's context).
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


def acceptable_request_id(value: str | None) -> bool:
    return value is not None and _SAFE_ID.fullmatch(value) is not None


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]


def scope_request_id(scope: Scope) -> str:
    """The id of the request of ``scope``: decided on first use, then the same for the
    whole request (the handler, its audit records, its log lines and its response)."""
    state = scope.setdefault("state", {})
    found: str | None = state.get(_STATE_KEY)
    if found is None:
        sent = set(_header_values(scope, b"x-request-id"))
        found = sent.pop() if len(sent) == 1 and acceptable_request_id(next(iter(sent))) else uuid.uuid4().hex
        state[_STATE_KEY] = found
        # Not reset when the request ends: the exception handlers, outside the middleware, log
        # in the same task; each request a server runs is a task of its own.
        current_request_id.set(found)
    return found


def request_id(connection: Any) -> str:
    """The request id of a Litestar request or connection."""
    return scope_request_id(connection.scope)


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: Address, proxies: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in proxies if network.version == address.version)


def client_address(peer: str, forwarded_for: list[str], proxies: tuple[IPNetwork, ...]) -> str:
    """The caller's address: ``peer``, or past trusted proxies along X-Forwarded-For."""
    address = _ip(peer) if proxies else None
    if address is None or not _trusted(address, proxies):
        return peer
    for hop in reversed([h for value in forwarded_for for h in value.split(",")]):
        hop_ip = _ip(hop)
        if hop_ip is None:
            break  # a malformed hop: nothing left of it can be believed
        if not _trusted(hop_ip, proxies):
            return str(hop_ip)
        address = hop_ip
    return str(address)


_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]{1,5})?")


def valid_host(value: str) -> bool:
    """A Host header a URL can be built from: reg-name or IP literal, and a port in range
    (or empty, which RFC 9110 §7.2 allows)."""
    if not value:
        return True
    if not _HOST.fullmatch(value):
        return False
    try:
        urlsplit(f"//{value}").port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        return False
    return True


class RequestContextMiddleware:
    """Decide the request id and the caller's address before anything else runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            scope_request_id(scope)
            if not all(valid_host(h) for h in _header_values(scope, b"host")):
                # RFC 9112 §3.2: 400 for an invalid Host (building the request's URL would fail).
                raise ProblemError("malformed-request", "The Host header is not a valid host[:port].")
            proxies = scope["litestar_app"].state.settings.trusted_proxies
            client = scope.get("client")
            if proxies and client:
                resolved = client_address(client[0], _header_values(scope, b"x-forwarded-for"), proxies)
                if resolved != client[0]:
                    scope["client"] = (resolved, 0)
        await self.app(scope, receive, send)


class RequestIdLogFilter(logging.Filter):
    """For logging configurations (uvicorn's): gives records made before the record factory
    was installed a ``request_id`` too, so that ``%(request_id)s`` always formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get() or _NONE
        return True


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id.get() or _NONE
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


# Every record, from any logger, carries the id of the request it was made for.
_install_record_factory()
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
