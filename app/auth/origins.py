"""The browser origins an OAuth client registers, and the set every process allows (CORS).

A client's origins are those of its web redirect URIs (a native app's private-use scheme has
none) plus the ones a group administrator adds (``allowed_origins``). The API allows an
origin when the deployment lists it (CORNERSTONE_CORS_ORIGINS) or any active client
registers it, whatever its tenant: CORS only decides what a browser lets a page read, the
token decides what the request may do and where, so an origin registered by one group's
client reads nothing of another group's without that group's token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from sqlalchemy import event, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ClientStatus, OAuthClient
from app.core.cors import normalise_origin, origin_of
from app.core.db import Database
from app.core.problems import ProblemError, field_error
from app.tenants.models import Tenant, TenantStatus

# Seconds a process serves the allowed set from memory; a change made through this process
# is seen at once (BrowserOrigins.forget after commit), one made through another within this.
CACHE_TTL = 10.0
MAX_ORIGINS = 20
log = logging.getLogger(__name__)


def check_origins(values: Iterable[str], field: str = "allowedOrigins") -> list[str]:
    """The origins to store: normalised, without duplicates; a 422 naming the item otherwise."""
    origins: list[str] = []
    for i, value in enumerate(values):
        try:
            origins.append(normalise_origin(value))
        except ValueError as exc:
            raise ProblemError("validation", f"{value[:200]!r} is not an origin (scheme://host[:port]).",
                               errors=[field_error(f"{field}[{i}]", str(exc))]) from None
    unique = list(dict.fromkeys(origins))
    if len(unique) > MAX_ORIGINS:
        raise ProblemError("validation", f"At most {MAX_ORIGINS} origins.",
                           errors=[field_error(field, f"at most {MAX_ORIGINS}")])
    return unique


def browser_origins(redirect_uris: Iterable[str], allowed_origins: Iterable[str]) -> list[str]:
    """A client's origins: its redirect URIs' web origins, then the added ones."""
    derived = [o for o in (origin_of(u) for u in redirect_uris) if o is not None]
    return list(dict.fromkeys([*derived, *allowed_origins]))


class BrowserOrigins:
    """The allowed set, refreshed from the database at most once per ``ttl`` (one query for
    every active client), so a request with an Origin costs a set lookup."""

    def __init__(self, db: Database, deployment: Iterable[str], ttl: float = CACHE_TTL) -> None:
        self.db = db
        self.any = "*" in deployment
        self.deployment = frozenset(o for o in deployment if o != "*")
        self.ttl = ttl
        self._registered: frozenset[str] = frozenset()
        self._expires = 0.0
        self._lock = asyncio.Lock()

    def forget(self) -> None:
        self._expires = 0.0

    def forget_after_commit(self, session: AsyncSession) -> None:
        """Reload on the next request once this session's change is committed (before it,
        a reload would see the old rows and keep them for ``ttl``)."""
        event.listen(session.sync_session, "after_commit", lambda _: self.forget(), once=True)

    async def allows(self, origin: str) -> bool:
        if self.any or origin in self.deployment:
            return True
        if time.monotonic() >= self._expires:
            async with self._lock:  # one query for the requests that find the set stale together
                if time.monotonic() >= self._expires:
                    await self._reload()
        if origin in self._registered:
            return True
        # Browsers send the origin serialised (lower case, no default port); anything else
        # is compared in its normal form.
        try:
            normal = normalise_origin(origin)
        except ValueError:
            return False
        return normal != origin and (normal in self.deployment or normal in self._registered)

    async def _reload(self) -> None:
        expires = time.monotonic() + self.ttl
        try:
            async with self.db.platform_session() as session:
                # A platform client's, or one of an active tenant's (a suspended group's front
                # ends get no token anyway; their origins need not stay open).
                rows = (await session.execute(
                    select(OAuthClient.redirect_uris, OAuthClient.allowed_origins)
                    .outerjoin(Tenant, Tenant.id == OAuthClient.tenant_id)
                    .where(OAuthClient.status == ClientStatus.active,
                           or_(OAuthClient.tenant_id.is_(None), Tenant.status == TenantStatus.active)))).all()
        except (OSError, SQLAlchemyError):
            # The answer itself will report the database; CORS keeps the set it had and
            # tries again soon rather than failing every cross-origin request.
            log.warning("could not reload the registered browser origins", exc_info=True)
            self._expires = time.monotonic() + min(self.ttl, 1.0)
            return
        self._registered = frozenset(o for uris, extra in rows for o in browser_origins(uris, extra))
        self._expires = expires
