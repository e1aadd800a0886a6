"""Request-scoped dependencies: the one session a request works through, and its reader."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.audit import Actor
from app.core.reads import TenantReader
from app.core.request_context import request_id

REASON_HEADER = "change-reason"
READ_METHODS = frozenset({"GET", "HEAD"})


def actor_from(request: Request[Any, Any, Any]) -> Actor:
    principal: Principal = request.user
    reason = request.headers.get(REASON_HEADER)
    return Actor(
        kind=principal.kind,
        id=principal.subject,
        client_id=principal.client_id,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
        reason=reason[:2000] if reason else None,
    )


async def provide_tenant_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """A session bound to the caller's tenant (from the token, never from the URL)."""
    principal: Principal = request.user
    read_only = request.method in READ_METHODS
    async with request.app.state.db.tenant_session(principal.schema, read_only=read_only) as session:
        session.info["actor"] = actor_from(request)
        session.info["principal"] = principal
        async with session.begin():
            yield session


def provide_reader(request: Request[Any, Any, Any]) -> TenantReader:
    """Hot reads in the caller's tenant (app/core/reads.py); bound like the session, from
    the token. Made for every route that asks, e.g. through ``authz``."""
    return TenantReader(request.app.state.db.engine, request.user.schema)


async def provide_platform_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    async with request.app.state.db.platform_session() as session:
        session.info["actor"] = actor_from(request)
        async with session.begin():
            yield session
