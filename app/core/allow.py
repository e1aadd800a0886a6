"""The Allow header of OPTIONS answers lists every method of the resource.

Litestar 2 builds its automatic OPTIONS handler when the first handler of a path is
registered, so Allow names only that handler's methods (litestar#4169, fixed in v3).
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope


async def complete_allow_header(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: rewrite Allow on OPTIONS answers from the route's methods."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    headers = MutableScopeHeaders.from_message(message)
    template = scope.get("path_template")
    if "allow" not in headers or template is None:
        return
    for route in scope["litestar_app"].routes:
        if route.path_format == template:  # the path with its parameters untyped
            headers["Allow"] = ", ".join(sorted(route.methods))
            return
