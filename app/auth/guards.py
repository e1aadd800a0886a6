"""The scope guard every route passes: deny unless the route declares what it needs.

Async although it does no I/O: Litestar runs a synchronous guard in a worker thread."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.auth.principal import Principal
from app.auth.scopes import OPT_KEY, PLATFORM_SCOPES
from app.core.problems import ProblemError


async def scope_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if handler.opt.get("public") or connection.scope.get("method") == "OPTIONS":
        return  # OPTIONS only lists the allowed methods
    required: tuple[str, ...] | None = handler.opt.get(OPT_KEY)
    if not required:
        # A route that forgot to declare its scopes is closed, not open.
        raise ProblemError("forbidden", "This operation declares no scope and is closed.")
    principal: Principal = connection.user
    platform_route = any(s in PLATFORM_SCOPES for s in required)
    if platform_route != (principal.tenant is None):
        raise ProblemError(
            "forbidden",
            "Platform operations need an operator token." if platform_route
            else "Tenant operations need a tenant token.",
        )
    missing = [s for s in required if s not in principal.scopes]
    if missing:
        scope = " ".join(required)
        raise ProblemError(
            "insufficient-scope",
            f"Missing scope: {' '.join(missing)}.",
            headers={"WWW-Authenticate": f'Bearer realm="cornerstone", error="insufficient_scope", scope="{scope}"'},
        )
