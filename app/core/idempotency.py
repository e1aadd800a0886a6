"""Idempotency-Key for creating POSTs: a retried request gets the first answer back.

The key row is inserted in the request's own transaction before the work runs. A
concurrent retry with the same key blocks on the row's unique index until the first
transaction ends: after a commit it replays the stored answer, after a rollback it does
the work itself. So a key can never produce two resources, and a failed request leaves
no key behind.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from litestar import Request, Response
from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, String, Table, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import PlatformBase, TenantBase
from app.core.problems import ProblemError, field_error

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# Visible ASCII and spaces: what the document declares (app/core/openapi.py), so a client can
# check a key before sending it.
KEY_PATTERN = r"^[ -~]{1,200}$"
# A route's opt key saying it honours Idempotency-Key though it answers neither 201 nor 202
# (e.g. a workflow action): ``requires(..., idempotent=True)``.
IDEMPOTENT_OPT = "idempotent"
IDEMPOTENT_STATUSES = frozenset({201, 202})


def accepts_key(method: str, status_code: int, opt: Mapping[str, Any]) -> bool:
    """Whether a route is documented as honouring Idempotency-Key: every authenticated POST
    answering 201 or 202, and the routes that say so (``IDEMPOTENT_OPT``)."""
    if opt.get(IDEMPOTENT_OPT):
        return True
    return method == "POST" and status_code in IDEMPOTENT_STATUSES and not opt.get("public")


def _idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(200), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer),
        Column("body", LargeBinary),
        Column("headers", JSONB),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now(), index=True),
    )


platform_keys = _idempotency_table(PlatformBase.metadata)
tenant_keys = _idempotency_table(TenantBase.metadata)


def _fingerprint(request: Request[Any, Any, Any], body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


async def idempotent(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    produce: Callable[[], Awaitable[Response[Any]]],
) -> Response[Any]:
    """Run ``produce`` at most once per (caller, Idempotency-Key)."""
    handler = request.route_handler
    if not accepts_key(request.method, handler.status_code or 0, handler.opt):
        # The document shows the header where accepts_key says so (app/core/openapi.py): a
        # route honouring it elsewhere fails on its first request rather than going undocumented.
        raise RuntimeError(f"{handler} honours Idempotency-Key: declare requires(..., idempotent=True)")
    key = request.headers.get(HEADER.lower())
    if key is None:
        return await produce()
    if not re.fullmatch(KEY_PATTERN, key):
        raise ProblemError(
            "validation", "Idempotency-Key must be 1 to 200 visible ASCII characters or spaces.",
            errors=[field_error(HEADER, "invalid key", "header")],
        )
    table = tenant_keys if "tenant_schema" in session.info else platform_keys
    principal = request.user.subject if request.user else "anonymous"
    fingerprint = _fingerprint(request, await request.body())
    inserted = await session.scalar(
        insert(table)
        .values(principal=principal, key=key, fingerprint=fingerprint)
        .on_conflict_do_nothing()
        .returning(table.c.key)
    )
    if inserted is None:
        row = (
            await session.execute(select(table).where(table.c.principal == principal, table.c.key == key))
        ).one()
        if row.fingerprint != fingerprint:
            raise ProblemError("idempotency-key-reused", f"Idempotency-Key {key!r} was used for another request.")
        if row.status_code is None:
            raise ProblemError("idempotency-in-progress")
        headers = dict(row.headers or {})
        headers["Idempotent-Replayed"] = "true"
        return Response(content=row.body, status_code=row.status_code, headers=headers,
                        media_type="application/json")
    response = await produce()
    body = response.content if isinstance(response.content, bytes) else msgspec.json.encode(response.content)
    headers = {k: v for k, v in response.headers.items() if k.lower() in {"location", "etag"}}
    # A Response built without a status leaves it to the route's (None until sent): store the
    # one the client gets, else the key would read as still running forever.
    status_code = response.status_code or handler.status_code
    await session.execute(
        table.update()
        .where(table.c.principal == principal, table.c.key == key)
        .values(status_code=status_code, body=body, headers=headers)
    )
    return response
