"""The audit log is append-only in the database itself: not even the application's own
role can rewrite history, whatever code path it takes."""

from __future__ import annotations

import os
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import errors

from app.core.db import libpq_url


def _connect() -> psycopg.Connection[Any]:
    # The same server, database and role the application uses (DATABASE_URL), not the ORM.
    return psycopg.connect(libpq_url(os.environ["DATABASE_URL"]), autocommit=True)


def _insert(conn: psycopg.Connection[Any], schema: str) -> uuid.UUID:
    row_id = uuid.uuid4()
    conn.execute(
        f'INSERT INTO "{schema}".audit_log (id, actor_kind, actor_id, action, entity_type, entity_id) '
        "VALUES (%s, 'system', 'test', 'test.append', 'test', 'x')",
        (row_id,),
    )
    return row_id


def _count(conn: psycopg.Connection[Any], schema: str, row_id: uuid.UUID) -> int:
    return conn.execute(f'SELECT count(*) FROM "{schema}".audit_log WHERE id = %s', (row_id,)).fetchone()[0]


@pytest.fixture
async def schemas(db: Any, new_tenant: Any) -> list[str]:
    return ["platform", "t_" + await new_tenant("audit")]


def test_audit_log_is_append_only(schemas: list[str]) -> None:
    with _connect() as conn:
        for schema in schemas:
            before = conn.execute(f'SELECT count(*) FROM "{schema}".audit_log').fetchone()[0]
            row_id = _insert(conn, schema)  # appending is allowed
            assert _count(conn, schema, row_id) == 1
            # The row exists, so the row-level trigger has something to refuse.
            for statement in [
                f"UPDATE \"{schema}\".audit_log SET action = 'forged' WHERE id = %s",
                f'DELETE FROM "{schema}".audit_log WHERE id = %s',
                f"UPDATE \"{schema}\".audit_log SET actor_id = 'someone else'",
                f'DELETE FROM "{schema}".audit_log',
                f'TRUNCATE "{schema}".audit_log',
            ]:
                params = (row_id,) if "%s" in statement else None
                with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
                    conn.execute(statement, params)
            row = conn.execute(f'SELECT action, actor_id FROM "{schema}".audit_log WHERE id = %s',
                               (row_id,)).fetchone()
            assert row == ("test.append", "test")
            assert conn.execute(f'SELECT count(*) FROM "{schema}".audit_log').fetchone()[0] == before + 1


def test_refusal_inside_a_transaction_rolls_it_back(schemas: list[str]) -> None:
    # A change that tries to rewrite history fails as a whole, so it cannot half-apply.
    schema = schemas[1]
    with _connect() as conn:
        row_id = _insert(conn, schema)
        marker = uuid.uuid4()
        with pytest.raises(errors.InsufficientPrivilege):
            with conn.transaction():
                _insert_id = conn.execute(
                    f'INSERT INTO "{schema}".audit_log (id, actor_kind, actor_id, action, entity_type, entity_id) '
                    "VALUES (%s, 'system', 'test', 'test.append', 'test', 'y') RETURNING id", (marker,),
                ).fetchone()[0]
                assert _insert_id == marker
                conn.execute(f'DELETE FROM "{schema}".audit_log WHERE id = %s', (row_id,))
        assert _count(conn, schema, row_id) == 1
        assert _count(conn, schema, marker) == 0
