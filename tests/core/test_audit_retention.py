"""Retention of the audit log: the database lets the purge delete only records older than a
year, only in a transaction that asked for it, and never updates or truncates; the tenant
policy is validated everywhere it can be set; the purge goes in batches and records itself.

The SQL here runs as the application's own role (DATABASE_URL), not through the ORM.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import timedelta
from typing import Any, Iterator

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import select

from app.core.audit import PURGE_SETTING, REFUSE_FUNCTION, REFUSE_FUNCTION_SQL, tenant_audit
from app.core.db import libpq_url
from app.domains.audit.services import purge_tenant
from tests.conftest import bearer

DAY = timedelta(days=1)


def _connect() -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(os.environ["DATABASE_URL"]), autocommit=True)


def _insert(conn: psycopg.Connection[Any], schema: str, age: timedelta, entity: str = "x") -> uuid.UUID:
    row_id = uuid.uuid4()
    conn.execute(
        f'INSERT INTO "{schema}".audit_log '
        "(id, occurred_at, actor_kind, actor_id, action, entity_type, entity_id) "
        "VALUES (%s, now() - %s, 'system', 'test', 'test.append', 'retention_test', %s)",
        (row_id, age, entity),
    )
    return row_id


def _exists(conn: psycopg.Connection[Any], schema: str, row_id: uuid.UUID) -> bool:
    found = conn.execute(f'SELECT count(*) FROM "{schema}".audit_log WHERE id = %s', (row_id,)).fetchone()
    return found[0] == 1


@pytest.fixture
async def schemas(db: Any, new_tenant: Any) -> list[str]:
    return ["platform", "t_" + await new_tenant("retain")]


@pytest.fixture
def conn() -> Iterator[psycopg.Connection[Any]]:
    with _connect() as c:
        yield c


def _refused(conn: psycopg.Connection[Any], statement: str, params: Any = None, *,
             purge: str | None = "on") -> None:
    """``statement`` fails as append-only inside a transaction that set the purge GUC to ``purge``."""
    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        with conn.transaction():
            if purge is not None:
                conn.execute(f"SET LOCAL {PURGE_SETTING} = '{purge}'")
            conn.execute(statement, params)


def test_purge_setting_lets_only_records_older_than_a_year_go(schemas: list[str],
                                                              conn: psycopg.Connection[Any]) -> None:
    for schema in schemas:
        old = _insert(conn, schema, 400 * DAY)
        almost = _insert(conn, schema, 364 * DAY)  # one day short of the floor
        recent = _insert(conn, schema, 10 * DAY)
        delete = f'DELETE FROM "{schema}".audit_log WHERE id = %s'

        # Without the setting, or with any other value, nothing goes, however old.
        _refused(conn, delete, (old,), purge=None)
        for value in ("off", "true", "1", "ON "):
            _refused(conn, delete, (old,), purge=value)
        # With it, a record younger than a year is still refused...
        _refused(conn, delete, (recent,))
        _refused(conn, delete, (almost,))
        # ...and a statement touching one young record fails as a whole.
        _refused(conn, f'DELETE FROM "{schema}".audit_log WHERE id = ANY(%s)', ([old, recent],))
        # UPDATE and TRUNCATE stay refused, the setting notwithstanding.
        _refused(conn, f"UPDATE \"{schema}\".audit_log SET action = 'forged' WHERE id = %s", (old,))
        _refused(conn, f'TRUNCATE "{schema}".audit_log')
        assert all(_exists(conn, schema, r) for r in (old, almost, recent)), schema

        # Set in a transaction, an old record goes; the setting ends with that transaction.
        with conn.transaction():
            conn.execute(f"SET LOCAL {PURGE_SETTING} = 'on'")
            assert conn.execute(delete, (old,)).rowcount == 1
        assert not _exists(conn, schema, old)
        _refused(conn, delete, (almost,), purge=None)
        assert _exists(conn, schema, almost) and _exists(conn, schema, recent)


def test_the_installed_function_is_the_one_in_the_code(db: Any, conn: psycopg.Connection[Any]) -> None:
    # Migrations install REFUSE_FUNCTION_SQL; the database must hold exactly that body.
    expected = re.search(r"\$\$(.*)\$\$", REFUSE_FUNCTION_SQL, re.S)
    assert expected is not None
    schema, name = REFUSE_FUNCTION.split(".")
    installed = conn.execute(
        "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s AND p.proname = %s", (schema, name)).fetchall()
    assert installed == [(expected.group(1),)]


async def test_purge_goes_in_batches_and_records_the_count(db: Any, new_tenant: Any) -> None:
    slug = await new_tenant("retain_b")
    schema = f"t_{slug}"
    with _connect() as conn:
        old = [_insert(conn, schema, (500 + i) * DAY) for i in range(5)]
        kept = [_insert(conn, schema, 380 * DAY), _insert(conn, schema, 2 * DAY)]

    assert await purge_tenant(db, slug, 400, batch=2) == 5  # batches of 2, 2, 1

    with _connect() as conn:
        assert not any(_exists(conn, schema, r) for r in old)
        assert all(_exists(conn, schema, r) for r in kept)
    async with db.tenant_session(schema) as session:
        purges = (await session.execute(
            select(tenant_audit.c.actor_kind, tenant_audit.c.entity_type, tenant_audit.c.after)
            .where(tenant_audit.c.action == "audit.retention.purge"))).all()
    assert purges == [("system", "audit_log", {"deleted": 5, "retentionDays": 400, "complete": True})]

    # Nothing left to purge: the run still says so, and its own records stay.
    assert await purge_tenant(db, slug, 400, batch=2) == 0
    async with db.tenant_session(schema) as session:
        counts = (await session.scalars(
            select(tenant_audit.c.after["deleted"].as_integer())
            .where(tenant_audit.c.action == "audit.retention.purge")
            .order_by(tenant_audit.c.occurred_at))).all()
    assert counts == [5, 0]


async def test_a_policy_below_the_floor_still_keeps_a_year(db: Any, new_tenant: Any) -> None:
    # Defence in depth: were a shorter policy ever stored, the purge and the trigger keep a year.
    slug = await new_tenant("retain_f")
    schema = f"t_{slug}"
    with _connect() as conn:
        young = _insert(conn, schema, 200 * DAY)
        old = _insert(conn, schema, 366 * DAY)
    assert await purge_tenant(db, slug, 30) == 1
    with _connect() as conn:
        assert _exists(conn, schema, young) and not _exists(conn, schema, old)


async def test_the_policy_is_validated_wherever_it_is_set(client: Any, db: Any, new_tenant: Any,
                                                          mint: Any) -> None:
    slug = await new_tenant("retain_p")
    url = f"/platform/v1/tenants/{slug}"
    auth = bearer(mint())
    current = await client.get(url, headers=auth)
    assert current.status_code == 200 and current.json()["auditRetentionDays"] is None

    for bad in (364, 0, -1, 36501, 400.5, "forever"):
        answer = await client.patch(url, json={"auditRetentionDays": bad},
                                    headers={**auth, "If-Match": current.headers["etag"]})
        assert answer.status_code == 422, (bad, answer.text)
        assert [e["field"] for e in answer.json()["errors"]] == ["auditRetentionDays"], answer.text

    etag = current.headers["etag"]
    for value in (365, 730, None):
        answer = await client.patch(url, json={"auditRetentionDays": value},
                                    headers={**auth, "If-Match": etag})
        assert answer.status_code == 200, answer.text
        assert answer.json()["auditRetentionDays"] == value
        etag = answer.headers["etag"]

    # The column refuses it too, whatever code writes it.
    with _connect() as conn, pytest.raises(errors.CheckViolation):
        conn.execute("UPDATE platform.tenants SET audit_retention_days = 364 WHERE slug = %s", (slug,))
