"""The Celery broker URL, and a cheap probe of it for readiness."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.config import Settings
from app.core.db import Database, sync_url


def broker_url(settings: Settings, database_url: str) -> str:
    """Redis when configured; otherwise the database itself (kombu's SQLAlchemy transport),
    so that the embedded default runs real background jobs with no extra server."""
    if settings.redis_url:
        return settings.redis_url
    return "sqla+" + sync_url(database_url)


def broker_transport_options(settings: Settings, longest_task: int) -> dict[str, int]:
    """Redis hands an unacknowledged message to another worker after its visibility timeout,
    so that timeout must outlast the longest task. The database transport has no such timeout
    (it redelivers when the worker's connection closes) and passes its options on to
    ``create_engine``, which refuses unknown ones: it gets none."""
    return {"visibility_timeout": longest_task * 2} if settings.redis_url else {}


def broker_probe(settings: Settings, db: Database) -> Callable[[], Awaitable[None]]:
    if settings.redis_url:
        import redis.asyncio as redis

        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)

        async def ping_redis() -> None:
            await client.ping()

        return ping_redis
    return db.ping  # the database is the broker
