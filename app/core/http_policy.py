"""What every request and response goes through, whatever the route: one plugin.

- the request id and the caller's address are decided first (app/core/request_context.py);
- JSON bodies nested deeper than ``MAX_JSON_DEPTH`` are refused with a 400 problem
  (``malformed-body``) before any handler sees them: deeper nesting either exhausts the
  decoder's recursion (a ``RecursionError``, which was a 500) or reaches a JSONB column whose
  encoder recurses too;
- every response, an error or a 404 of no route included, carries the request id and the
  headers below (OWASP REST Security Cheat Sheet; ASVS 4.0 V14.4): a JSON answer is never
  sniffed into HTML, no page (the sign-in pages, their error page, the API viewer) renders in
  another site's frame, and no URL (codes and states travel in the sign-in pages' URLs) leaks
  in a Referer header. A header a route sets itself is kept;
- an unknown path under /schema is a 404 problem like any other (Litestar's own is a page).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.config.app import AppConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import SerializationException
from litestar.plugins import InitPluginProtocol
from litestar.types import Message, Scope

from app.core.problems import problem_response
from app.core.request_context import REQUEST_ID_HEADER, RequestContextMiddleware, scope_request_id

MAX_JSON_DEPTH = 32

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a decoded JSON value nests arrays and objects more than ``limit`` deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class BoundedJsonRequest(Request[Any, Any, Any]):
    """Litestar's request, with JSON bodies bounded in depth (every ``data`` is read here)."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise SerializationException(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
        if too_deep(value):
            raise SerializationException(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
        return value


async def add_response_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: the request id and the security headers on every response."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS.items():
        if name not in headers:
            headers[name] = value
    headers[REQUEST_ID_HEADER] = scope_request_id(scope)


async def schema_not_found_as_problem(response: Response[Any]) -> Response[Any]:
    """An ``after_request`` hook for the API viewer's router: Litestar answers an unknown
    path under /schema with an HTML page of its own; the API's errors are problems."""
    if response.status_code == 404:
        return problem_response("not-found", 404, detail=None, instance=None)
    return response


class HttpPolicy(InitPluginProtocol):
    """Registers the above on the app (``create_app``'s plugins)."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.middleware.insert(0, RequestContextMiddleware)
        app_config.before_send.append(add_response_headers)
        app_config.request_class = BoundedJsonRequest
        viewer = app_config.openapi_config.openapi_router if app_config.openapi_config else None
        if viewer is not None:
            viewer.after_request = schema_not_found_as_problem
        return app_config
