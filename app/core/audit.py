"""The append-only audit log, written in the same transaction as the change it records.

Both the platform schema and every tenant schema hold an ``audit_log`` table of the same
shape; a database trigger refuses UPDATE, DELETE and TRUNCATE on it, so that not even the
application's own role can alter history. The one exception is the retention purge: a
DELETE passes only in a transaction that set ``cornerstone.audit_purge = 'on'`` and only
for rows older than a year (the minimum any tenant policy may ask for).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

import msgspec
from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Text, func, inspect
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.core.db import TENANT_PLACEHOLDER, refuse_writes
from app.core.ids import new_id
from app.core.models import PlatformBase, TenantBase


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who is acting: bound to the session by the request or task that opened it."""

    kind: str  # user | client | operator | system
    id: str
    client_id: str | None = None
    request_id: str | None = None
    ip: str | None = None
    reason: str | None = None


SYSTEM = Actor(kind="system", id="system")


def _audit_table(metadata: MetaData) -> Table:
    return Table(
        "audit_log",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True, default=new_id),
        Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("actor_kind", String(16), nullable=False),
        Column("actor_id", String(200), nullable=False),
        Column("client_id", String(200)),
        Column("action", String(100), nullable=False),
        Column("entity_type", String(60), nullable=False),
        Column("entity_id", String(200), nullable=False),
        Column("before", JSONB),
        Column("after", JSONB),
        Column("reason", Text),
        Column("request_id", String(100)),
        Column("ip", String(64)),
        Index(None, "entity_type", "entity_id"),
        Index(None, "actor_id"),
        Index(None, "occurred_at"),
    )


platform_audit = _audit_table(PlatformBase.metadata)
tenant_audit = _audit_table(TenantBase.metadata)

# Installed by the shared migrations (0001, replaced by 0003); every audit_log table's
# triggers call it. The migrations import this one definition, so any upgrade path ends
# with it; tests/core/test_audit_retention.py checks the installed body against it.
REFUSE_FUNCTION = "platform.refuse_audit_change"
PURGE_SETTING = "cornerstone.audit_purge"
# The floor is in the database, not only in the purge task: no code path can delete a
# record younger than this, whatever policy or GUC it sets.
RETENTION_FLOOR_DAYS = 365
REFUSE_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {REFUSE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Nested, not AND-ed: OLD exists only for row-level DELETE (TRUNCATE is per statement).
  IF TG_OP = 'DELETE' THEN
    IF current_setting('{PURGE_SETTING}', true) = 'on'
       AND OLD.occurred_at < now() - interval '{RETENTION_FLOOR_DAYS} days' THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def append_only_sql(schema: str) -> list[str]:
    """Triggers that make ``<schema>.audit_log`` append-only."""
    return [
        f'CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON "{schema}".audit_log '
        f"FOR EACH ROW EXECUTE FUNCTION {REFUSE_FUNCTION}()",
        f'CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON "{schema}".audit_log '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {REFUSE_FUNCTION}()",
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot(obj: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The column values of an ORM object, JSON-ready, for before/after."""
    mapper = inspect(obj).mapper
    return {
        attr.key: _plain(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in exclude
    }


def actor_of(session: AsyncSession) -> Actor:
    actor = session.info.get("actor")
    if not isinstance(actor, Actor):
        raise RuntimeError("no actor bound to this session; audit needs one")
    return actor


def _values(actor: Actor, action: str, entity_type: str, entity_id: Any, before: dict[str, Any] | None,
            after: dict[str, Any] | None, reason: str | None) -> dict[str, Any]:
    return dict(
        id=new_id(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        client_id=actor.client_id,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=before,
        after=after,
        reason=reason or actor.reason,
        request_id=actor.request_id,
        ip=actor.ip,
    )


async def record(
    session: AsyncSession,
    *,
    action: str,
    entity_type: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Append one audit record in the session's transaction, as the session's actor."""
    refuse_writes(session, f"audit record {action!r}")
    table = tenant_audit if "tenant_schema" in session.info else platform_audit
    values = _values(actor_of(session), action, entity_type, entity_id, before, after, reason)
    await session.execute(table.insert().values(**values))


async def record_many(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    """Append many records in one statement (bulk work such as imports): each entry holds
    ``record``'s keyword arguments (action, entity_type, entity_id, before, after, reason)."""
    if not entries:
        return
    refuse_writes(session, "audit records")
    table = tenant_audit if "tenant_schema" in session.info else platform_audit
    actor = actor_of(session)
    rows = [_values(actor, e["action"], e["entity_type"], e["entity_id"], e.get("before"), e.get("after"),
                    e.get("reason")) for e in entries]
    await session.execute(table.insert(), rows)


async def add_created(session: AsyncSession, rows: Sequence[Any], *, action: str, entity_type: str,
                      entity_id: Callable[[Any], Any] = lambda row: row.id) -> None:
    """Insert ``rows`` and record each one's creation with its columns (timestamps aside):
    one insert and one audit statement, for bulk creations such as seeding."""
    if not rows:
        return
    session.add_all(rows)
    await session.flush()
    await record_many(session, [
        {"action": action, "entity_type": entity_type, "entity_id": entity_id(row),
         "after": snapshot(row, exclude=frozenset({"created_at", "updated_at"}))} for row in rows])


def _insert(schema: str | None, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    if schema is None:
        return platform_audit.insert().values(**values), {}
    return tenant_audit.insert().values(**values), {"schema_translate_map": {TENANT_PLACEHOLDER: schema}}


async def append(
    session: AsyncSession,
    *,
    schema: str | None,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Append to a named schema's log (the platform's when None) from a session that is not
    bound to it: sign-in happens before any tenant session exists."""
    stmt, options = _insert(schema, _values(actor, action, entity_type, entity_id, before, after, reason))
    await session.execute(stmt, execution_options=options)


def record_sync(
    session: Session,
    *,
    schema: str | None,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """The same record from synchronous code (the OAuth server's threads), into the tenant
    schema ``schema`` (translated for this one statement) or the platform's when None."""
    stmt, options = _insert(schema, _values(actor, action, entity_type, entity_id, before, after, reason))
    session.execute(stmt, execution_options=options)
