"""Counters every API process shares: rate limits and sign-in throttling.

A count kept in process memory (Litestar's default store) lets N web workers or pods allow N
times the limit. These live in Redis when ``REDIS_URL`` is set, else in the database
(``platform.counters``): every process of a deployment reads and bumps the same numbers, each
bump one atomic round trip. Keys are namespaced by the database name, so that deployments (or
test runs) sharing a Redis never share counts.

A counter has a count, the time of its last bump, and an expiry: a bump after the expiry
starts again at 1. Bumping sets the expiry ``ttl`` seconds ahead; a fixed window is a key per
window (``rl:…:<minute>``).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from sqlalchemy import DateTime, Integer, String, case, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

from app.config import Settings
from app.core.clock import utcnow
from app.core.db import Database
from app.core.models import PlatformBase


class Counter(PlatformBase):
    __tablename__ = "counters"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)


@dataclass(frozen=True)
class Reading:
    count: int
    last_at: float  # unix time of the last bump


class Counters(Protocol):
    async def bump(self, key: str, ttl: float) -> int:
        """Count one more on ``key`` (from 1 when it had expired); the count."""

    async def read(self, key: str) -> Reading | None:
        """The live counter, or None when there is none (never bumped, expired, cleared)."""

    async def clear(self, key: str) -> None: ...

    async def close(self) -> None: ...


class DatabaseCounters:
    """``platform.counters``: each bump one INSERT … ON CONFLICT, in a transaction of its own
    (taken before the request's session is, so a request never holds two connections)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def bump(self, key: str, ttl: float) -> int:
        now, table = utcnow(), Counter.__table__
        new = insert(Counter).values(key=key, count=1, last_at=now, expires_at=now + timedelta(seconds=ttl))
        stmt = new.on_conflict_do_update(index_elements=[Counter.key], set_={
            # The existing row: an expired counter starts again.
            "count": case((table.c.expires_at <= now, 1), else_=table.c.count + 1),
            "last_at": now, "expires_at": now + timedelta(seconds=ttl),
        }).returning(Counter.count)
        async with self.db.platform_transaction() as session:
            return int((await session.execute(stmt)).scalar_one())

    async def read(self, key: str) -> Reading | None:
        async with self.db.platform_session() as session:
            row = (await session.execute(select(Counter.count, Counter.last_at).where(
                Counter.key == key, Counter.expires_at > utcnow()))).first()
        return Reading(row[0], row[1].timestamp()) if row is not None else None

    async def clear(self, key: str) -> None:
        async with self.db.platform_transaction() as session:
            await session.execute(delete(Counter).where(Counter.key == key))

    async def close(self) -> None:
        """The database belongs to the app."""


async def purge_expired(db: Database) -> int:
    """Drop expired counters (the beat task; Redis expires its own)."""
    async with db.platform_transaction() as session:
        result = await session.execute(delete(Counter).where(Counter.expires_at <= utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# KEYS[1]: the counter; ARGV: now (unix seconds), ttl (milliseconds). A hash of count and last.
_BUMP = """
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return count
"""


class RedisCounters:
    def __init__(self, url: str, namespace: str) -> None:
        import redis.asyncio

        self.redis = redis.asyncio.Redis.from_url(url)
        self.namespace = namespace
        self._bump = self.redis.register_script(_BUMP)

    async def bump(self, key: str, ttl: float) -> int:
        return int(await self._bump(keys=[self.namespace + key], args=[repr(time.time()), max(int(ttl * 1000), 1)]))

    async def read(self, key: str) -> Reading | None:
        found = await self.redis.hmget(self.namespace + key, ["count", "last"])
        if found[0] is None:
            return None
        return Reading(int(found[0]), float(found[1] or 0))

    async def clear(self, key: str) -> None:
        await self.redis.delete(self.namespace + key)

    async def close(self) -> None:
        await self.redis.aclose()


def source(address: str | None) -> str:
    """Whom a count is about: an IPv4 address, or an IPv6 address's /64 (one host or site
    holds the whole of it)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def counters_for(settings: Settings, db: Database) -> Counters:
    if settings.redis_url:
        database = urlsplit(db.url).path.strip("/") or "default"
        return RedisCounters(settings.redis_url, f"cornerstone:{database}:")
    return DatabaseCounters(db)


class SharedCounters(InitPluginProtocol):
    """Makes ``app.state.counters`` from the app's settings and database; closes it at shutdown."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        state = app_config.state
        state.counters = counters_for(state.settings, state.db)

        async def close() -> None:
            await state.counters.close()

        app_config.on_shutdown.append(close)
        return app_config
