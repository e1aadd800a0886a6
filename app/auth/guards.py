"""The scope check every route passes: deny unless the route declares what it needs.

Run by the authentication middleware once the token is verified (the routes it skips,
public ones and CORS preflights, are the ones that need no scope), not as a Litestar guard:
Litestar copies the route handler for every guard call, a cost paid on every request.
"""

from __future__ import annotations

from litestar.handlers.base import BaseRouteHandler

from app.auth.principal import Principal
from app.auth.scopes import OPT_KEY, PLATFORM_SCOPES
from app.core.problems import ProblemError


def require_scopes(principal: Principal, handler: BaseRouteHandler) -> None:
    required: tuple[str, ...] | None = handler.opt.get(OPT_KEY)
    if not required:
        # A route that forgot to declare its scopes is closed, not open.
        raise ProblemError("forbidden", "This operation declares no scope and is closed.")
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
