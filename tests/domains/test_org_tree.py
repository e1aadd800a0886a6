"""Projects, buildings and units over HTTP: CRUD with filters, exact areas, moving a
project with its subtree, deletes refused while anything hangs on a node, and who is
responsible for a unit's customers on a given day in the tenant's time zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core import clock
from app.core.audit import tenant_audit
from app.domains.org import services as org_services
from app.domains.org.models import OrgNode
from tests.conftest import bearer

PROBLEM = "urn:cornerstone:problem:"


async def _post(client: Any, url: str, auth: dict[str, str], body: dict[str, Any], status: int = 201) -> Any:
    response = await client.post(url, json=body, headers=auth)
    assert response.status_code == status, response.text
    return response.json()


async def _tree(client: Any, auth: dict[str, str], *, branches: int = 1, handover: str | None = None
                ) -> dict[str, Any]:
    """Branches, one project in the first, one building in it."""
    mark = uuid.uuid4().hex[:6].upper()
    made = [await _post(client, "/api/v1/org/branches", auth, {"code": f"B{i}{mark}", "name": f"分公司 {i}"})
            for i in range(branches)]
    project = await _post(client, "/api/v1/org/projects", auth, {
        "branchId": made[0]["id"], "code": f"P{mark}", "name": "阳光花园", "handoverDate": handover})
    building = await _post(client, "/api/v1/org/buildings", auth, {
        "projectId": project["id"], "code": f"P{mark}-1", "name": "1号楼"})
    return {"branches": made, "project": project, "building": building, "mark": mark}


async def _audit(db: Any, slug: str, entity_id: str) -> list[Any]:
    async with db.tenant_session(f"t_{slug}") as session:
        return list((await session.execute(
            select(tenant_audit.c.action, tenant_audit.c.reason, tenant_audit.c.before, tenant_audit.c.after)
            .where(tenant_audit.c.entity_id == entity_id).order_by(tenant_audit.c.occurred_at, tenant_audit.c.id)
        )).all())


async def test_projects_buildings_units_crud_with_filters(client: Any, new_tenant: Any, mint: Any, db: Any) -> None:
    slug = await new_tenant("tree")
    auth = bearer(mint(tenant=slug))
    t = await _tree(client, auth, branches=2, handover="2027-06-30")
    project, building = t["project"], t["building"]
    assert project["kind"] == "project" and project["parentId"] == t["branches"][0]["id"]
    assert project["handoverDate"] == "2027-06-30" and project["code"] == f"P{t['mark']}"
    assert building["kind"] == "building" and building["parentId"] == project["id"]
    other = await _post(client, "/api/v1/org/projects", auth, {
        "branchId": t["branches"][1]["id"], "code": f"Q{t['mark']}", "name": "翠湖苑"})
    assert other["handoverDate"] is None

    # Areas are exact: a decimal string or a JSON number, never through a float.
    created = await client.post("/api/v1/org/units", headers={**auth, "Idempotency-Key": "u-1"}, json={
        "buildingId": building["id"], "number": "1201", "floor": 12, "layout": "3室2厅2卫", "area": "89.5"})
    assert created.status_code == 201, created.text
    unit = created.json()
    assert unit["area"] == "89.50" and unit["status"] == "unsold" and unit["projectId"] == project["id"]
    assert created.headers["location"] == f"/api/v1/org/units/{unit['id']}" and created.headers["etag"] == '"1"'
    replay = await client.post("/api/v1/org/units", headers={**auth, "Idempotency-Key": "u-1"}, json={
        "buildingId": building["id"], "number": "1201", "floor": 12, "layout": "3室2厅2卫", "area": "89.5"})
    assert replay.status_code == 201 and replay.json() == unit and replay.headers["idempotent-replayed"] == "true"
    # A JSON number may have passed through a float on the client: refused, say so in the field.
    number = await client.post("/api/v1/org/units", headers=auth, content=(
        b'{"buildingId":"%s","number":"1202","floor":12,"area":120.35,"status":"subscribed"}'
        % building["id"].encode()))
    assert number.status_code == 422 and number.json()["errors"][0]["field"] == "area", number.text
    exact = await _post(client, "/api/v1/org/units", auth, {
        "buildingId": building["id"], "number": "1202", "floor": 12, "area": "120.35", "status": "subscribed"})
    assert exact["area"] == "120.35"
    await _post(client, "/api/v1/org/units", auth, {"buildingId": building["id"], "number": "0301", "floor": 3})

    units = (await client.get(f"/api/v1/org/units?buildingId={building['id']}", headers=auth)).json()
    assert units["total"] == 3 and [u["number"] for u in units["items"]] == ["0301", "1201", "1202"]
    by_floor = (await client.get("/api/v1/org/units?floor=12&sort=-number", headers=auth)).json()
    assert [u["number"] for u in by_floor["items"]] == ["1202", "1201"]
    sold = (await client.get("/api/v1/org/units?status=subscribed", headers=auth)).json()
    assert [u["number"] for u in sold["items"]] == ["1202"]
    assert (await client.get(f"/api/v1/org/units?projectId={other['id']}", headers=auth)).json()["total"] == 0

    in_branch = (await client.get(f"/api/v1/org/projects?branchId={t['branches'][0]['id']}", headers=auth)).json()
    assert [p["id"] for p in in_branch["items"]] == [project["id"]]
    due = (await client.get("/api/v1/org/projects?handoverFrom=2027-01-01&handoverTo=2027-12-31",
                            headers=auth)).json()
    assert [p["id"] for p in due["items"]] == [project["id"]]
    assert (await client.get("/api/v1/org/projects?q=翠湖", headers=auth)).json()["items"][0]["id"] == other["id"]
    buildings = (await client.get(f"/api/v1/org/buildings?projectId={project['id']}", headers=auth)).json()
    assert [b["id"] for b in buildings["items"]] == [building["id"]]

    # Updates need If-Match; a PATCH changes only what it carries.
    url = f"/api/v1/org/units/{unit['id']}"
    assert (await client.patch(url, json={"status": "contracted"}, headers=auth)).status_code == 428
    assert (await client.patch(url, json={"status": "contracted"},
                               headers={**auth, "If-Match": '"9"'})).status_code == 412
    changed = await client.patch(url, json={"status": "contracted", "area": "90"},
                                 headers={**auth, "If-Match": '"1"', "Change-Reason": "contract signed"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "contracted" and changed.json()["area"] == "90.00"
    assert changed.json()["layout"] == "3室2厅2卫" and changed.headers["etag"] == '"2"'
    renamed = await client.patch(f"/api/v1/org/projects/{project['id']}", json={"handoverDate": None},
                                 headers={**auth, "If-Match": '"1"'})
    assert renamed.status_code == 200 and renamed.json()["handoverDate"] is None

    deleted = await client.delete(url, headers={**auth, "If-Match": '"2"'})
    assert deleted.status_code == 204
    assert (await client.get(url, headers=auth)).status_code == 404
    actions = await _audit(db, slug, unit["id"])
    assert [a.action for a in actions] == ["org.unit.create", "org.unit.update", "org.unit.delete"]
    assert actions[1].reason == "contract signed" and actions[1].before["status"] == "unsold"


@pytest.mark.parametrize(("body", "field"), [
    ({"area": "1.005"}, "area"),  # three decimals
    ({"area": "NaN"}, "area"),
    ({"area": "-3"}, "area"),
    ({"area": "0.00"}, "area"),
    ({"area": "1e3"}, "area"),
    ({"area": "100000000"}, "area"),
    ({"area": 96}, "area"),  # a number, not a decimal string
    ({"floor": 1000}, "floor"),
    ({"number": " 12"}, "number"),
    ({"number": "12\u001d"}, "number"),
    ({"number": ""}, "number"),
    ({"status": "sold"}, "status"),
])
async def test_bad_unit_input_gets_field_errors(client: Any, new_tenant: Any, mint: Any, body: dict[str, Any],
                                               field: str) -> None:
    slug = await new_tenant("badunit")
    auth = bearer(mint(tenant=slug))
    t = await _tree(client, auth)
    response = await client.post("/api/v1/org/units", headers=auth, json={
        "buildingId": t["building"]["id"], "number": "101", "floor": 1, **body})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in response.json()["errors"]}


async def test_unit_numbers_and_codes_are_unique(client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("uniq")
    auth = bearer(mint(tenant=slug))
    t = await _tree(client, auth)
    unit = {"buildingId": t["building"]["id"], "number": "101", "floor": 1}
    await _post(client, "/api/v1/org/units", auth, unit)
    again = await _post(client, "/api/v1/org/units", auth, unit, status=409)
    assert again["errors"][0]["field"] == "number"
    taken = await _post(client, "/api/v1/org/buildings", auth, {
        "projectId": t["project"]["id"], "code": t["building"]["code"].lower(), "name": "x"}, status=409)
    assert taken["errors"][0]["field"] == "code"
    # A project's parent must be a branch, a building's a project: the tree's shape is fixed.
    # A parent that is not there is a 404 that names the field.
    wrong = await _post(client, "/api/v1/org/buildings", auth, {
        "projectId": t["branches"][0]["id"], "code": "X1", "name": "x"}, status=404)
    assert wrong["errors"][0]["field"] == "projectId"
    missing = await _post(client, "/api/v1/org/units", auth, {
        "buildingId": str(uuid.uuid4()), "number": "1", "floor": 1}, status=404)
    assert missing["errors"][0]["field"] == "buildingId"


async def test_moving_a_project_rewrites_its_subtree_in_one_audited_step(client: Any, new_tenant: Any, mint: Any,
                                                                       db: Any) -> None:
    slug = await new_tenant("move")
    auth = bearer(mint(tenant=slug))
    t = await _tree(client, auth, branches=2)
    old_branch, new_branch = t["branches"]
    project, building = t["project"], t["building"]
    second = await _post(client, "/api/v1/org/buildings", auth, {
        "projectId": project["id"], "code": f"P{t['mark']}-2", "name": "2号楼"})
    unit = await _post(client, "/api/v1/org/units", auth, {"buildingId": second["id"], "number": "101", "floor": 1})
    move = f"/api/v1/org/projects/{project['id']}/move"
    body = {"branchId": new_branch["id"], "reason": "区域调整 regional reorganisation"}

    assert (await client.post(move, json=body, headers=auth)).status_code == 428
    # Under itself: impossible by the tree's shape, refused all the same.
    for inside in (project["id"], building["id"]):
        itself = await client.post(move, json={**body, "branchId": inside}, headers={**auth, "If-Match": '"1"'})
        assert itself.status_code == 409 and itself.json()["type"] == PROBLEM + "conflict", itself.text
    not_branch = await client.post(move, json={**body, "branchId": str(uuid.uuid4())},
                                   headers={**auth, "If-Match": '"1"'})
    assert not_branch.status_code == 404 and not_branch.json()["errors"][0]["field"] == "branchId"

    moved = await client.post(move, json=body, headers={**auth, "If-Match": '"1"'})
    assert moved.status_code == 200, moved.text
    assert moved.json()["parentId"] == new_branch["id"] and moved.headers["etag"] == '"2"'
    async with db.tenant_session(f"t_{slug}") as session:
        paths = dict((await session.execute(select(OrgNode.id, OrgNode.path).where(
            OrgNode.id.in_([uuid.UUID(project["id"]), uuid.UUID(building["id"]), uuid.UUID(second["id"]),
                            uuid.UUID(new_branch["id"])])))).tuples().all())
    branch_path = paths[uuid.UUID(new_branch["id"])]
    assert paths[uuid.UUID(project["id"])] == f"{branch_path}/{project['id']}"
    for b in (building, second):
        assert paths[uuid.UUID(b["id"])] == f"{branch_path}/{project['id']}/{b['id']}"
    # The buildings did not change as resources: same ETag, same body.
    assert (await client.get(f"/api/v1/org/buildings/{building['id']}", headers=auth)).json() == building
    listed = (await client.get(f"/api/v1/org/projects?branchId={new_branch['id']}", headers=auth)).json()
    assert [p["id"] for p in listed["items"]] == [project["id"]]
    assert (await client.get(f"/api/v1/org/units/{unit['id']}", headers=auth)).status_code == 200

    same = await client.post(move, json=body, headers={**auth, "If-Match": '"2"'})
    assert same.status_code == 200 and same.headers["etag"] == '"2"'  # already there: nothing changes
    [record] = [r for r in await _audit(db, slug, project["id"]) if r.action == "org.project.move"]
    assert record.reason == body["reason"]
    assert record.before["parent_id"] == old_branch["id"] and record.after["parent_id"] == new_branch["id"]
    assert record.after["movedDescendants"] == 2


async def test_deleting_a_node_that_holds_anything_is_refused(client: Any, new_tenant: Any, mint: Any,
                                                              db: Any) -> None:
    slug = await new_tenant("del")
    auth = bearer(mint(tenant=slug))
    t = await _tree(client, auth)
    branch, project, building = t["branches"][0], t["project"], t["building"]
    unit = await _post(client, "/api/v1/org/units", auth, {"buildingId": building["id"], "number": "101", "floor": 1})

    async def delete(kind: str, node: dict[str, Any], version: int = 1) -> Any:
        return await client.delete(f"/api/v1/org/{kind}/{node['id']}", headers={**auth, "If-Match": f'"{version}"'})

    for kind, node, detail in (("branches", branch, "1 projects"), ("projects", project, "1 buildings"),
                               ("buildings", building, "1 units")):
        refused = await delete(kind, node)
        assert refused.status_code == 409 and detail in refused.json()["detail"], refused.text

    # Another domain's live records hold a node or unit through the registry.
    async def open_complaints(session: Any, holder: org_services.Holder) -> str | None:
        return "2 open complaints" if str(holder.id) == unit["id"] else None

    org_services.live_records("test.complaints")(open_complaints)
    try:
        held = await client.delete(f"/api/v1/org/units/{unit['id']}", headers={**auth, "If-Match": '"1"'})
        assert held.status_code == 409 and "2 open complaints" in held.json()["detail"], held.text
    finally:
        del org_services.LIVE_RECORD_CHECKS["test.complaints"]

    # Role assignments at a node hold it too.
    group = (await client.get("/api/v1/org/group", headers=auth)).json()
    assert group["kind"] == "group"
    roles = (await client.get("/api/v1/access/roles?q=auditor", headers=auth)).json()["items"]
    account = await _staff_account(db, slug)
    assignment = await _post(client, "/api/v1/access/assignments", auth, {
        "accountId": account, "roleId": roles[0]["id"], "nodeId": building["id"]})

    assert (await client.delete(f"/api/v1/org/units/{unit['id']}", headers={**auth, "If-Match": '"1"'})
            ).status_code == 204
    assigned = await delete("buildings", building)
    assert assigned.status_code == 409 and "1 role assignments" in assigned.json()["detail"]
    assert (await client.delete(f"/api/v1/access/assignments/{assignment['id']}", headers=auth)).status_code == 204
    for kind, node in (("buildings", building), ("projects", project), ("branches", branch)):
        assert (await delete(kind, node)).status_code == 204
    assert [a.action for a in await _audit(db, slug, project["id"])] == ["org.project.create", "org.project.delete"]


async def _staff_account(db: Any, slug: str) -> str:
    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.tenants.services import get_tenant

    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        tenant = await get_tenant(session, slug)
        account = await create_account(session, tenant_id=tenant.id, kind=AccountKind.staff,
                                       username=f"staff-{uuid.uuid4().hex[:8]}", display_name="Staff",
                                       password=None, scopes=["org:read"])
    return str(account.id)


@pytest.mark.parametrize(("zone", "now", "department", "since"), [
    # 16:30 UTC on 30 June is already 1 July in Shanghai (UTC+8): the handover day.
    ("Asia/Shanghai", datetime(2026, 6, 30, 16, 30, tzinfo=UTC), "customer_affairs", "2026-07-01"),
    ("Asia/Shanghai", datetime(2026, 6, 30, 15, 59, tzinfo=UTC), "project_department", None),
    # The same instant is still 30 June in UTC: the project department keeps the customers.
    ("UTC", datetime(2026, 6, 30, 16, 30, tzinfo=UTC), "project_department", None),
    ("America/Los_Angeles", datetime(2026, 7, 1, 6, 59, tzinfo=UTC), "project_department", None),
    ("America/Los_Angeles", datetime(2026, 7, 1, 7, 0, tzinfo=UTC), "customer_affairs", "2026-07-01"),
])
async def test_responsibility_follows_the_handover_date_in_the_tenants_time_zone(
        client: Any, new_tenant: Any, mint: Any, monkeypatch: pytest.MonkeyPatch, zone: str, now: datetime,
        department: str, since: str | None) -> None:
    slug = await new_tenant("resp", time_zone=zone)
    auth = bearer(mint(tenant=slug))
    t = await _tree(client, auth, handover="2026-07-01")
    unit = await _post(client, "/api/v1/org/units", auth,
                       {"buildingId": t["building"]["id"], "number": "1", "floor": 1})
    monkeypatch.setattr(clock, "utcnow", lambda: now)
    answer = await client.get(f"/api/v1/org/units/{unit['id']}/responsibility", headers=auth)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["department"] == department and body["projectId"] == t["project"]["id"]
    assert body["handoverDate"] == "2026-07-01"
    # Before handover the project department has held it since the project was set up.
    created_there = datetime.fromisoformat(t["project"]["createdAt"]).astimezone(ZoneInfo(zone)).date()
    assert body["since"] == (since or created_there.isoformat())


async def test_responsibility_without_a_handover_date_stays_with_the_project_department(
        client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("resp_none")
    auth = bearer(mint(tenant=slug))
    t = await _tree(client, auth)
    unit = await _post(client, "/api/v1/org/units", auth,
                       {"buildingId": t["building"]["id"], "number": "1", "floor": 1})
    body = (await client.get(f"/api/v1/org/units/{unit['id']}/responsibility", headers=auth)).json()
    assert body["department"] == "project_department" and body["handoverDate"] is None
    missing = await client.get(f"/api/v1/org/units/{uuid.uuid4()}/responsibility", headers=auth)
    assert missing.status_code == 404 and missing.json()["type"] == PROBLEM + "not-found"
