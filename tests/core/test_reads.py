"""Hot reads (app/core/reads.py): a Read run by a TenantReader gives what the session gives,
in the reader's tenant only; its failures look like the session's, a broken connection
leaves the pool, and a request that finds the pool busy too long answers 503."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError

from app.core.db import Database
from app.core.reads import Read, TenantReader
from app.domains.org.models import NodeKind, OrgNode, Unit, UnitStatus
from app.domains.org.services import NODE_BY_ID, UNIT_BY_ID
from tests.conftest import bearer

BY_CODE = Read(select(OrgNode.id).where(OrgNode.code == bindparam("code")))


async def _root(db: Any, schema: str) -> OrgNode:
    async with db.tenant_session(schema) as session:
        root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
    assert root is not None
    return root


async def test_a_read_gives_what_the_session_gives(db: Any, new_tenant: Any) -> None:
    schema = "t_" + await new_tenant("reads")
    root = await _root(db, schema)
    row = await TenantReader(db.engine, schema).one(NODE_BY_ID, id=root.id, kind=NodeKind.group)
    assert row is not None
    for column in NODE_BY_ID.columns:
        value = getattr(row, column)
        assert value == getattr(root, column), column
        assert type(value) is type(getattr(root, column)), column
    assert row.kind is NodeKind.group  # the column type's result processing applied
    assert await TenantReader(db.engine, schema).one(NODE_BY_ID, id=root.id, kind=NodeKind.branch) is None
    assert [r.id for r in await TenantReader(db.engine, schema).all(BY_CODE, code=root.code)] == [root.id]


async def test_a_row_holds_the_types_the_orm_gives(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    """A unit: a decimal area (its result processing depends on the type the server sends),
    an enum status, and a labelled column of a joined table."""
    slug = await new_tenant("reads_unit")
    admin = bearer(mint(tenant=slug))

    async def post(url: str, body: dict[str, Any]) -> Any:
        response = await client.post(url, json=body, headers=admin)
        assert response.status_code == 201, response.text
        return response.json()

    branch = await post("/api/v1/org/branches", {"code": "SZ", "name": "深圳"})
    project = await post("/api/v1/org/projects", {"branchId": branch["id"], "code": "P1", "name": "阳光花园"})
    building = await post("/api/v1/org/buildings", {"projectId": project["id"], "code": "P1-1", "name": "1号楼"})
    made = await post("/api/v1/org/units", {"buildingId": building["id"], "number": "1201", "floor": 12,
                                            "area": "89.50", "layout": "3室2厅2卫"})
    async with db.tenant_session(f"t_{slug}") as session:
        unit, path = (await session.execute(UNIT_BY_ID.statement, {"id": uuid.UUID(made["id"])})).one()
    row = await TenantReader(db.engine, f"t_{slug}").one(UNIT_BY_ID, id=unit.id)
    for column in Unit.__table__.columns.keys():
        assert getattr(row, column) == getattr(unit, column), column
        assert type(getattr(row, column)) is type(getattr(unit, column)), column
    assert row.area == Decimal("89.50") and isinstance(row.area, Decimal)
    assert row.status is UnitStatus.unsold
    assert row.building_path == path and path.endswith(building["id"])
    answer = await client.get(f"/api/v1/org/units/{made['id']}", headers=admin)
    assert answer.status_code == 200 and answer.json()["area"] == "89.50"


async def test_a_reader_reads_its_own_tenant_only(db: Any, new_tenant: Any) -> None:
    a, b = "t_" + await new_tenant("reads_a"), "t_" + await new_tenant("reads_b")
    root_a = await _root(db, a)
    # Alternately on the pool's connections: nothing of one tenant's statement sticks to them.
    for _ in range(3):
        assert (await TenantReader(db.engine, a).one(NODE_BY_ID, id=root_a.id, kind=NodeKind.group)) is not None
        assert (await TenantReader(db.engine, b).one(NODE_BY_ID, id=root_a.id, kind=NodeKind.group)) is None


@pytest.mark.parametrize("name", ["platform", "tenant", "public", "t_acme\n", "t_acme; drop table x", ""])
def test_a_reader_takes_only_a_tenant_schema(db: Any, name: str) -> None:
    with pytest.raises(ValueError, match="not a tenant schema"):
        TenantReader(db.engine, name)


async def test_a_read_takes_exactly_its_parameters(db: Any, new_tenant: Any) -> None:
    reader = TenantReader(db.engine, "t_" + await new_tenant("reads_params"))
    with pytest.raises(TypeError, match="expected"):
        await reader.one(NODE_BY_ID, id=uuid.uuid4())
    with pytest.raises(TypeError, match="expected"):
        await reader.one(NODE_BY_ID, id=uuid.uuid4(), kind=NodeKind.group, code="x")


def test_a_read_of_platform_tables_is_refused(db: Any) -> None:
    from app.tenants.models import Tenant

    with pytest.raises(ValueError, match="reads tenant tables"):
        Read(select(Tenant.slug).where(Tenant.id == bindparam("id"))).compiled(db.engine.dialect)


async def test_a_database_error_comes_as_the_sessions_would(db: Any, new_tenant: Any) -> None:
    reader = TenantReader(db.engine, "t_" + await new_tenant("reads_error"))
    # PostgreSQL refuses NUL in text: the problem handlers answer DBAPIError by its SQLSTATE.
    with pytest.raises(DBAPIError) as raised:
        await reader.one(BY_CODE, code="A\x00B")
    assert getattr(raised.value.orig, "sqlstate", None) == "22021"
    assert await reader.one(BY_CODE, code="AB") is None  # the connection is still good


async def test_a_broken_connection_leaves_the_pool(db: Any, new_tenant: Any) -> None:
    schema = "t_" + await new_tenant("reads_broken")
    root = await _root(db, schema)
    small = Database(db.url, pool_size=1, max_overflow=0)
    try:
        async with small.engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        async with db.engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        reader = TenantReader(small.engine, schema)
        with pytest.raises(Exception):  # noqa: B017 - the driver's own error for a dead connection
            await reader.one(NODE_BY_ID, id=root.id, kind=NodeKind.group)
        # Invalidated, not returned: the next read opens a new connection and succeeds.
        assert (await reader.one(NODE_BY_ID, id=root.id, kind=NodeKind.group)).id == root.id
        async with small.engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await small.dispose()


async def test_a_request_that_finds_the_pool_busy_answers_503(db: Any, settings: Any, new_tenant: Any,
                                                                mint: Any) -> None:
    from app.asgi import create_app

    slug = await new_tenant("reads_busy")
    root = await _root(db, f"t_{slug}")
    small = Database(db.url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    app = create_app(settings, database=small)
    headers = bearer(mint(tenant=slug))
    path = "/api/v1/org/group"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            assert (await client.get(path, headers=headers)).status_code == 200
            async with small.engine.connect() as held:
                await held.execute(text("SELECT 1"))  # the pool's only connection, taken
                busy = await client.get(path, headers=headers)
            assert busy.status_code == 503, busy.text
            assert busy.headers["content-type"] == "application/problem+json"
            assert busy.headers["retry-after"] == "1"
            assert busy.json()["type"] == "urn:cornerstone:problem:service-unavailable"
            again = await client.get(path, headers=headers)
            assert again.status_code == 200 and again.json()["id"] == str(root.id)
    finally:
        await small.dispose()


async def test_a_starting_process_opens_its_pool(db: Any) -> None:
    small = Database(db.url, pool_size=3, max_overflow=0)
    try:
        assert await small.open_pool(3) == 3
        assert small.engine.pool.checkedin() == 3  # type: ignore[attr-defined]
        assert small.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await small.dispose()
    nowhere = Database("postgresql://postgres@127.0.0.1:1/none", pool_size=2, max_overflow=0)
    try:
        assert await nowhere.open_pool(2) == 0  # logged, not raised: readiness reports it
    finally:
        await nowhere.dispose()
