"""The write path every domain shares: create (idempotent, 201 with Location and ETag), update
a locked record under If-Match, and the audited save in between.

Controllers::

    @post("/", ...)
    async def plan_visit(self, request, session, authz, data: VisitCreate) -> Response[VisitOut]:
        return await created(request, session, lambda: services.create_visit(session, authz, data),
                             lambda v: services.visit_out(session, v), lambda v: f"{BASE}/visits/{v.id}")

    @patch("/{visit_id:uuid}", ...)
    async def update_visit(self, request, session, authz, visit_id, data) -> Response[VisitOut]:
        return await updated(request, services.get_visit(session, authz, visit_id, lock=True),
                             lambda v, path: services.update_visit(session, authz, v, path, data),
                             lambda v: services.visit_out(session, v))

Services::

    return await saved(session, visit, "interactions.visit.update", VISIT, before=before)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent


class Versioned(Protocol):
    @property
    def id(self) -> Any: ...

    @property
    def version(self) -> int: ...


R = TypeVar("R", bound=Versioned)
W = TypeVar("W")  # where the record sits (its node's path), as its lookup returns it
T = TypeVar("T")


def with_etag(body: T, version: int, *, status: int = 200, location: str | None = None) -> Response[T]:
    """An answer showing one record: its ETag, and where it lives when just created."""
    headers = {"ETag": etag(version)}
    if location is not None:
        headers["Location"] = location
    return Response(body, status_code=status, headers=headers)


async def created(request: Request[Any, Any, Any], session: AsyncSession, make: Callable[[], Awaitable[R]],
                  show: Callable[[R], Awaitable[T]], location: Callable[[R], str]) -> Response[T]:
    """201 with the new record, its Location and ETag; at most once per Idempotency-Key (a
    retry with the same key gets the first answer back)."""

    async def produce() -> Response[T]:
        record = await make()
        return with_etag(await show(record), record.version, status=201, location=location(record))

    return await idempotent(request, session, produce)


async def updated(request: Request[Any, Any, Any], load: Awaitable[tuple[R, W]],
                  change: Callable[[R, W], Awaitable[R]], show: Callable[[R], Awaitable[T]]) -> Response[T]:
    """Change a record read with a row lock (``load``), if its ETag is the one in If-Match
    (428 without one, 412 when stale), and answer with it and its new ETag."""
    record, where = await load
    check_if_match(request, record.version)
    record = await change(record, where)
    return with_etag(await show(record), record.version)


async def saved(session: AsyncSession, record: R, action: str, entity_type: str, *,
                before: dict[str, Any] | None = None, reason: str | None = None,
                snapshot: Callable[[R], dict[str, Any]] = audit.snapshot) -> R:
    """Flush ``record`` (its version moves on), read back what the database set, and audit
    the change in the same transaction: ``before`` as it was, ``snapshot`` of it now."""
    await session.flush()
    await session.refresh(record)
    await audit.record(session, action=action, entity_type=entity_type, entity_id=record.id, before=before,
                       after=snapshot(record), reason=reason)
    return record
