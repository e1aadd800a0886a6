"""Authentication: every request that is not public presents a Bearer access token.

The token is verified in-process (signature, expiry, issuer, audience); a tenant token is
accepted only while its tenant is active; its scopes must cover the route's (guards.py).
The result is ``request.user`` (a Principal).
"""

from __future__ import annotations

import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import select

from app.auth.guards import require_scopes
from app.auth.tokens import InvalidToken, KeyRing
from app.core.db import Database
from app.core.problems import ProblemError
from app.tenants.models import Tenant, TenantStatus

REALM = 'Bearer realm="cornerstone"'


def _challenge(error: str, description: str) -> dict[str, str]:
    safe = description.replace('"', "'")
    return {"WWW-Authenticate": f'{REALM}, error="{error}", error_description="{safe}"'}


class TenantDirectory:
    """Tenant status by slug, cached briefly so that suspension takes effect within ``ttl``."""

    def __init__(self, db: Database, ttl: float) -> None:
        self.db = db
        self.ttl = ttl
        self._cache: dict[str, tuple[TenantStatus | None, float]] = {}

    def forget(self, slug: str) -> None:
        self._cache.pop(slug, None)

    async def status(self, slug: str) -> TenantStatus | None:
        hit = self._cache.get(slug)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        async with self.db.platform_session() as session:
            status = await session.scalar(select(Tenant.status).where(Tenant.slug == slug))
        self._cache[slug] = (status, now + self.ttl)
        if len(self._cache) > 50_000:
            self._cache.clear()
        return status


class BearerAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        state = connection.app.state
        header = connection.headers.get("authorization")
        if not header:
            raise ProblemError("unauthenticated", "Send an access token: Authorization: Bearer <token>.",
                               headers={"WWW-Authenticate": REALM})
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ProblemError("unauthenticated", "The Authorization header must be 'Bearer <token>'.",
                               headers=_challenge("invalid_request", "malformed Authorization header"))
        keys: KeyRing = state.key_ring
        kid = KeyRing.kid_of(token)
        if kid is not None and (not keys.knows(kid) or keys.stale()):
            async with state.db.platform_session() as session:
                await keys.refresh(session)
        try:
            principal = keys.verify(token)
        except InvalidToken as exc:
            raise ProblemError("invalid-token", str(exc), headers=_challenge("invalid_token", str(exc))) from None
        if principal.tenant is not None:
            status = await state.tenant_directory.status(principal.tenant)
            if status is None or status is TenantStatus.purged:
                raise ProblemError("invalid-token", "The token's tenant does not exist.",
                                   headers=_challenge("invalid_token", "unknown tenant"))
            if status is not TenantStatus.active:
                raise ProblemError("tenant-unavailable", f"The tenant is {status.value.replace('_', ' ')}.")
        require_scopes(principal, connection.scope["route_handler"])
        return AuthenticationResult(user=principal, auth=token)
