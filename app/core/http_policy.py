"""What every request and response goes through, whatever the route: one plugin.

- the request id and the caller's address are decided first (app/core/request_context.py);
- every response, an error or a 404 of no route included, carries the request id.
"""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.plugins import InitPluginProtocol
from litestar.types import Message, Scope

from app.core.request_context import REQUEST_ID_HEADER, RequestContextMiddleware, scope_request_id


async def add_response_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: the request id on every response."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers[REQUEST_ID_HEADER] = scope_request_id(scope)


class HttpPolicy(InitPluginProtocol):
    """Registers the above on the app (``create_app``'s plugins)."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.middleware.insert(0, RequestContextMiddleware)
        app_config.before_send.append(add_response_headers)
        return app_config
