"""GET /api/v1/audit and the export endpoints, in-process: filters, sorting, paging, the
permission at the group node, and tenant isolation. The export job on a real worker is in
tests/worker/test_audit_export.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from app.core.audit import Actor, tenant_audit
from app.core.ids import new_id
from app.core.jobs import create_job
from app.domains.audit import services
from app.domains.audit.schemas import AuditFilter
from app.domains.org.models import NodeKind, OrgNode
from tests.conftest import bearer
from tests.grants import grant

PROBLEM = "urn:cornerstone:problem:"
CLIENT = "test-client"  # mint's client id: a token whose subject is it acts for the whole group
T0 = datetime(2026, 1, 10, tzinfo=UTC)


async def _append(db: Any, slug: str, rows: list[dict[str, Any]]) -> list[str]:
    """Records with chosen times and actors (as the app would have written them)."""
    ids = []
    async with db.tenant_transaction(f"t_{slug}") as session:
        for row in rows:
            record_id = new_id()
            ids.append(str(record_id))
            await session.execute(insert(tenant_audit).values(id=record_id, actor_kind="user", **row))
    return ids


@pytest.fixture
async def trail(db: Any, new_tenant: Any, mint: Any) -> dict[str, Any]:
    slug = await new_tenant("aud")
    mark = uuid.uuid4().hex[:8]
    alice, bob = f"alice-{mark}", f"bob-{mark}"
    ids = await _append(db, slug, [
        dict(occurred_at=T0, actor_id=alice, action="org.branch.create", entity_type="org_node",
             entity_id=f"N1-{mark}", after={"name": "深圳分公司", "code": "SZ"}),
        dict(occurred_at=T0 + timedelta(days=1), actor_id=bob, action="org.branch.update",
             entity_type="org_node", entity_id=f"N1-{mark}", before={"name": "深圳分公司"},
             after={"name": "深圳"}, reason="更名"),
        dict(occurred_at=T0 + timedelta(days=2), actor_id=alice, action="job.create", entity_type="job",
             entity_id=f"J1-{mark}"),
        # '_' is a LIKE wildcard: the prefix "org_*" must not match this one.
        dict(occurred_at=T0 + timedelta(days=3), actor_id=alice, action="orgXbranch.odd",
             entity_type="org_node", entity_id=f"N2-{mark}"),
        dict(occurred_at=T0 + timedelta(days=3, hours=1), actor_id=bob, action="org_legacy.import",
             entity_type="org_node", entity_id=f"N3-{mark}"),
    ])
    return {"slug": slug, "mark": mark, "alice": alice, "bob": bob, "ids": ids,
            "auth": bearer(mint(tenant=slug, subject=CLIENT))}


async def _ids(client: Any, auth: dict[str, str], **params: Any) -> list[str]:
    answer = await client.get("/api/v1/audit", params=params, headers=auth)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == len(body["items"]) or body["limit"] < body["total"], body
    return [item["id"] for item in body["items"]]


async def test_each_filter_and_their_combination(client: Any, trail: dict[str, Any]) -> None:
    auth, mark, (r1, r2, r3, r4, r5) = trail["auth"], trail["mark"], trail["ids"]
    before_today = {"to": "2026-06-01T00:00:00Z"}  # leaves out what provisioning recorded just now

    assert await _ids(client, auth, entityType="org_node", entityId=f"N1-{mark}") == [r2, r1]
    assert await _ids(client, auth, entityType="job", **before_today) == [r3]
    assert await _ids(client, auth, entityId=f"N2-{mark}") == [r4]
    assert await _ids(client, auth, actorId=trail["alice"]) == [r4, r3, r1]
    assert await _ids(client, auth, actorId=trail["bob"]) == [r5, r2]
    assert await _ids(client, auth, action="org.branch.create", **before_today) == [r1]
    assert await _ids(client, auth, action="org.*", **before_today) == [r2, r1]
    assert await _ids(client, auth, action="org_*", **before_today) == [r5]
    assert await _ids(client, auth, action="org*", **before_today) == [r5, r4, r2, r1]
    # from is inclusive, to exclusive; offsets other than Z are honoured.
    assert await _ids(client, auth, **{"from": "2026-01-11T08:00:00+08:00", "to": "2026-01-13T00:00:00Z"}) \
        == [r3, r2]
    assert await _ids(client, auth, **{"from": "2026-01-13T00:00:00Z", "to": "2026-01-14T00:00:00Z"}) \
        == [r5, r4]
    # Combined: every filter given must hold.
    assert await _ids(client, auth, actorId=trail["alice"], action="org*") == [r4, r1]
    assert await _ids(client, auth, actorId=trail["alice"], entityType="org_node",
                      **{"from": "2026-01-11T00:00:00Z"}) == [r4]
    assert await _ids(client, auth, actorId=trail["bob"], action="job.*") == []


async def test_records_are_typed_sorted_and_paged(client: Any, trail: dict[str, Any]) -> None:
    auth, (r1, r2, r3, r4, r5) = trail["auth"], trail["ids"]
    window = {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}

    page = (await client.get("/api/v1/audit", params={**window, "limit": 2, "offset": 1},
                             headers=auth)).json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    assert [i["id"] for i in page["items"]] == [r4, r3]
    assert await _ids(client, auth, sort="occurredAt", **window) == [r1, r2, r3, r4, r5]
    assert await _ids(client, auth, sort="-occurredAt", **window) == [r5, r4, r3, r2, r1]

    update = (await client.get("/api/v1/audit", params={"entityId": f"N1-{trail['mark']}",
                                                        "action": "org.branch.update"}, headers=auth)).json()
    assert update["items"] == [{
        "id": r2, "occurredAt": "2026-01-11T00:00:00Z", "actorKind": "user", "actorId": trail["bob"],
        "clientId": None, "action": "org.branch.update", "entityType": "org_node",
        "entityId": f"N1-{trail['mark']}", "before": {"name": "深圳分公司"}, "after": {"name": "深圳"},
        "reason": "更名", "requestId": None, "ip": None,
    }]


async def test_changes_made_through_the_api_are_found(client: Any, trail: dict[str, Any]) -> None:
    slug, auth = trail["slug"], trail["auth"]
    created = await client.post("/api/v1/org/branches", json={"code": "AUD1", "name": "审计分公司"},
                                headers={**auth, "Change-Reason": "new branch opened",
                                         "X-Request-Id": "req-42"})
    assert created.status_code == 201, created.text
    branch = created.json()
    found = (await client.get("/api/v1/audit", params={"entityId": branch["id"]}, headers=auth)).json()
    assert found["total"] == 1
    record = found["items"][0]
    assert (record["action"], record["entityType"], record["actorKind"], record["actorId"]) == \
        ("org.branch.create", "org_node", "client", CLIENT)
    assert (record["reason"], record["requestId"], record["before"]) == ("new branch opened", "req-42", None)
    assert record["after"]["name"] == "审计分公司" and record["after"]["id"] == branch["id"]
    assert slug not in record["actorId"]


@pytest.mark.parametrize(("params", "field"), [
    ({"action": "org.*.create"}, "action"),
    ({"action": "*"}, "action"),
    ({"from": "2026-01-01T00:00:00"}, "from"),  # no offset
    ({"to": "yesterday"}, "to"),
    ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
    ({"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
    ({"sort": "action"}, "sort"),
    ({"entityType": "x" * 61}, "entityType"),
])
async def test_bad_filters_are_problems(client: Any, trail: dict[str, Any], params: dict[str, str],
                                        field: str) -> None:
    answer = await client.get("/api/v1/audit", params=params, headers=trail["auth"])
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == PROBLEM + "validation"
    assert [e["field"] for e in problem["errors"]] == [field] and problem["errors"][0]["source"] == "query"


async def test_bad_export_filters_are_problems(client: Any, trail: dict[str, Any]) -> None:
    for body, field in [({"action": "a*b"}, "action"), ({"from": "2026-01-01T00:00:00"}, "from"),
                        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
                        ({"actor": "x"}, "actor")]:
        answer = await client.post("/api/v1/audit/exports", json=body, headers=trail["auth"])
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == [field], answer.text


async def _branch(db: Any, slug: str) -> uuid.UUID:
    async with db.tenant_transaction(f"t_{slug}") as session:
        root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
        node_id = new_id()
        session.add(OrgNode(id=node_id, kind=NodeKind.branch, parent_id=root.id,
                            path=f"{root.path}/{node_id}", depth=1, code=f"B{uuid.uuid4().hex[:8].upper()}",
                            name="A branch"))
    return node_id


async def test_only_a_grant_at_the_group_node_opens_the_trail(client: Any, db: Any, trail: dict[str, Any],
                                                              mint: Any) -> None:
    slug = trail["slug"]
    at_root, at_branch, other_permission = (str(uuid.uuid4()) for _ in range(3))
    await grant(db, slug, at_root, ["audit.read"])
    await grant(db, slug, at_branch, ["audit.read"], node_id=await _branch(db, slug))
    await grant(db, slug, other_permission, ["org.read", "org.manage"])
    export = await _stored_export(db, slug, at_root)

    calls = [("GET", "/api/v1/audit", None), ("POST", "/api/v1/audit/exports", {}),
             ("GET", f"/api/v1/audit/exports/{export}/csv", None)]
    for subject in (at_branch, other_permission, "not-an-account@test"):
        auth = bearer(mint(tenant=slug, subject=subject))
        for method, url, body in calls:
            answer = await client.request(method, url, json=body, headers=auth)
            assert answer.status_code == 403, f"{method} {url} as {subject}: {answer.text}"
            assert answer.json()["type"] == PROBLEM + "forbidden"
            assert "audit.read" in answer.json()["detail"]
    # The permission without the scope is not enough either.
    no_scope = bearer(mint(tenant=slug, subject=at_root, scopes=["org:read", "jobs:read"]))
    for method, url, body in calls:
        answer = await client.request(method, url, json=body, headers=no_scope)
        assert answer.status_code == 403 and answer.json()["type"] == PROBLEM + "insufficient-scope"

    auth = bearer(mint(tenant=slug, subject=at_root))
    assert (await client.get("/api/v1/audit", headers=auth)).status_code == 200
    assert (await client.post("/api/v1/audit/exports", json={}, headers=auth)).status_code == 202
    assert (await client.get(f"/api/v1/audit/exports/{export}/csv", headers=auth)).status_code == 200


async def _stored_export(db: Any, slug: str, requester: str, **filters: Any) -> str:
    """An export requested by ``requester`` and run in-process (no worker needed here)."""
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = Actor(kind="user", id=requester)
        job = await services.start_export(session, AuditFilter(**filters))
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = Actor(kind="system", id="system")
        assert await services.run_export(session, job.id, AuditFilter(**filters))
    return str(job.id)


async def test_another_tenants_trail_is_never_visible(client: Any, db: Any, trail: dict[str, Any],
                                                      new_tenant: Any, mint: Any) -> None:
    a, mark = trail["slug"], trail["mark"]
    b = await new_tenant("aud_b")
    # B's auditor may read B's whole trail, and B has records of the same shape.
    b_auth = bearer(mint(tenant=b, subject=CLIENT))
    b_ids = await _append(db, b, [dict(occurred_at=T0, actor_id=trail["alice"], action="org.branch.create",
                                       entity_type="org_node", entity_id=f"N1-{mark}")])

    assert await _ids(client, b_auth, entityId=f"N1-{mark}") == b_ids
    assert await _ids(client, b_auth, actorId=trail["alice"]) == b_ids
    everything = await client.get("/api/v1/audit", params={"limit": 200}, headers=b_auth)
    assert everything.json()["total"] == len(everything.json()["items"])
    for secret in [*trail["ids"], a]:
        assert secret not in everything.text

    a_export = await _stored_export(db, a, CLIENT)
    from_b = await client.get(f"/api/v1/audit/exports/{a_export}/csv", headers=b_auth)
    unknown = await client.get(f"/api/v1/audit/exports/{uuid.uuid4()}/csv", headers=b_auth)
    assert from_b.status_code == unknown.status_code == 404
    assert from_b.json()["type"] == PROBLEM + "not-found"
    own = await client.get(f"/api/v1/audit/exports/{a_export}/csv", headers=trail["auth"])
    assert own.status_code == 200


async def test_an_export_is_downloaded_only_by_its_requester_once_done(
        client: Any, db: Any, trail: dict[str, Any], mint: Any) -> None:
    slug = trail["slug"]
    requester, colleague = str(uuid.uuid4()), str(uuid.uuid4())
    for account in (requester, colleague):
        await grant(db, slug, account, ["audit.read"])
    auth = bearer(mint(tenant=slug, subject=requester))

    # Accepted but not yet run (the in-process app has no worker taking the task here).
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = Actor(kind="user", id=requester)
        queued = await services.start_export(session, AuditFilter())
    pending = await client.get(f"/api/v1/audit/exports/{queued.id}/csv", headers=auth)
    assert pending.status_code == 409 and pending.json()["type"] == PROBLEM + "conflict"
    assert "queued" in pending.json()["detail"]

    done = await _stored_export(db, slug, requester, entity_type="job")
    ok = await client.get(f"/api/v1/audit/exports/{done}/csv", headers=auth)
    assert ok.status_code == 200 and ok.content.startswith(b"\xef\xbb\xbf")
    colleague_answer = await client.get(f"/api/v1/audit/exports/{done}/csv",
                                        headers=bearer(mint(tenant=slug, subject=colleague)))
    assert colleague_answer.status_code == 404

    # A job of another kind (the requester's own) is not an export.
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = Actor(kind="user", id=requester)
        other = await create_job(session, "org.export_branches")
    other_kind = await client.get(f"/api/v1/audit/exports/{other.id}/csv", headers=auth)
    assert other_kind.status_code == 404 and other_kind.json()["type"] == PROBLEM + "not-found"
