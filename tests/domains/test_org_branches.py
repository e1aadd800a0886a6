"""The org slice end to end over HTTP: CRUD, ETags, idempotency, audit, problems."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.audit import tenant_audit
from tests.conftest import bearer


async def test_branch_lifecycle(client: Any, new_tenant: Any, mint: Any, db: Any) -> None:
    slug = await new_tenant("org")
    auth = bearer(mint(tenant=slug))

    created = await client.post("/api/v1/org/branches", json={"code": "sz", "name": "Shenzhen"}, headers=auth)
    assert created.status_code == 201, created.text
    branch = created.json()
    assert branch["code"] == "SZ" and branch["kind"] == "branch"
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"/api/v1/org/branches/{branch['id']}"

    listed = (await client.get("/api/v1/org/branches", headers=auth)).json()
    assert [b["code"] for b in listed["items"]] == ["SZ"] and listed["total"] == 1

    stale = await client.patch(f"/api/v1/org/branches/{branch['id']}", json={"name": "SZ"},
                               headers={**auth, "If-Match": '"7"'})
    assert stale.status_code == 412
    assert stale.json()["type"] == "urn:cornerstone:problem:precondition-failed"

    missing = await client.patch(f"/api/v1/org/branches/{branch['id']}", json={"name": "SZ"}, headers=auth)
    assert missing.status_code == 428

    updated = await client.patch(f"/api/v1/org/branches/{branch['id']}", json={"name": "深圳分公司"},
                                 headers={**auth, "If-Match": '"1"', "Change-Reason": "official name"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "深圳分公司" and updated.headers["etag"] == '"2"'

    deleted = await client.delete(f"/api/v1/org/branches/{branch['id']}", headers={**auth, "If-Match": '"2"'})
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/org/branches/{branch['id']}", headers=auth)
    assert gone.status_code == 404

    async with db.tenant_session(f"t_{slug}") as session:
        rows = (await session.execute(
            select(tenant_audit.c.action, tenant_audit.c.reason).where(tenant_audit.c.entity_id == branch["id"])
            .order_by(tenant_audit.c.occurred_at)
        )).all()
    assert [r.action for r in rows] == ["org.branch.create", "org.branch.update", "org.branch.delete"]
    assert rows[1].reason == "official name"


async def test_idempotent_create_replays_first_answer(client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("idem")
    auth = bearer(mint(tenant=slug), **{"Idempotency-Key": "k-1"})
    first = await client.post("/api/v1/org/branches", json={"code": "GZ", "name": "Guangzhou"}, headers=auth)
    again = await client.post("/api/v1/org/branches", json={"code": "GZ", "name": "Guangzhou"}, headers=auth)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = await client.post("/api/v1/org/branches", json={"code": "FS", "name": "Foshan"}, headers=auth)
    assert other.status_code == 422
    assert other.json()["type"] == "urn:cornerstone:problem:idempotency-key-reused"
    listed = (await client.get("/api/v1/org/branches", headers=bearer(mint(tenant=slug)))).json()
    assert listed["total"] == 1


async def test_bad_input_gets_precise_problems(client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("bad")
    auth = bearer(mint(tenant=slug))
    unknown = await client.post("/api/v1/org/branches", json={"code": "A", "nme": "x"}, headers=auth)
    assert unknown.status_code == 422
    assert {e["field"] for e in unknown.json()["errors"]} == {"nme"}
    wrong_type = await client.post("/api/v1/org/branches", json={"code": 5, "name": "x"}, headers=auth)
    assert wrong_type.status_code == 422 and wrong_type.json()["errors"][0]["field"] == "code"
    malformed = await client.post("/api/v1/org/branches", content=b'{"code":', headers={
        **auth, "Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.headers["content-type"] == "application/problem+json"
    duplicate = await client.post("/api/v1/org/branches", json={"code": "A", "name": "x"}, headers=auth)
    assert duplicate.status_code == 201
    again = await client.post("/api/v1/org/branches", json={"code": "a", "name": "y"}, headers=auth)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "code"
    bad_sort = await client.get("/api/v1/org/branches?sort=password", headers=auth)
    assert bad_sort.status_code == 422 and bad_sort.json()["errors"][0]["field"] == "sort"
    bad_limit = await client.get("/api/v1/org/branches?limit=100000", headers=auth)
    assert bad_limit.status_code == 422
    big = await client.post("/api/v1/org/branches", content=b'{"code":"B","name":"' + b"x" * 2_000_000 + b'"}',
                            headers={**auth, "Content-Type": "application/json"})
    assert big.status_code == 413 and big.json()["type"] == "urn:cornerstone:problem:payload-too-large"
