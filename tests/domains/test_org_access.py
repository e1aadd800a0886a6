"""Roles and assignments over HTTP, and what they mean: a role holds on its node's subtree,
a branch manager staffs only their branch and hands out no more than they hold, the
group keeps an administrator, and group_admin's ``*`` covers permissions added later."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.auth.models import AccountKind
from app.auth.principal import Principal
from app.core.audit import tenant_audit
from app.domains.access.authz import PERMISSIONS, load_authorizer, register_permissions
from tests.conftest import TEST_CLIENT, bearer

PROBLEM = "urn:cornerstone:problem:"


async def _account(db: Any, slug: str, kind: AccountKind = AccountKind.staff, username: str | None = None) -> str:
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.tenants.services import get_tenant

    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        tenant = await get_tenant(session, slug)
        account = await create_account(session, tenant_id=tenant.id, kind=kind,
                                       username=username or f"u-{uuid.uuid4().hex[:8]}", display_name="Someone",
                                       password=None, scopes=["owner:self"] if kind is AccountKind.owner else [])
    return str(account.id)


async def _roles(client: Any, auth: dict[str, str]) -> dict[str, dict[str, Any]]:
    listed = await client.get("/api/v1/access/roles?limit=200", headers=auth)
    assert listed.status_code == 200, listed.text
    return {r["code"]: r for r in listed.json()["items"]}


async def _post(client: Any, url: str, auth: dict[str, str], body: dict[str, Any], status: int = 201) -> Any:
    response = await client.post(url, json=body, headers=auth)
    assert response.status_code == status, response.text
    return response.json()


async def _assign(client: Any, auth: dict[str, str], account: str, role: dict[str, Any], node: dict[str, Any],
                  status: int = 201) -> Any:
    return await _post(client, "/api/v1/access/assignments", auth,
                       {"accountId": account, "roleId": role["id"], "nodeId": node["id"]}, status)


async def test_default_roles_and_the_permission_catalogue(client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("roles")
    auth = bearer(mint(tenant=slug))
    roles = await _roles(client, auth)
    # Other domains seed roles of their own (approvals: the approvers of its chains).
    ours = {"group_admin", "branch_manager", "project_manager", "customer_service", "auditor"}
    assert ours <= set(roles) and all(roles[code]["system"] for code in ours)
    assert roles["group_admin"]["permissions"] == ["*"]
    assert "roles.manage" in roles["branch_manager"]["permissions"]
    assert "org.manage" not in roles["customer_service"]["permissions"]
    catalogue = (await client.get("/api/v1/access/permissions", headers=auth)).json()
    assert {p["name"] for p in catalogue} == set(PERMISSIONS)
    assert all(set(r["permissions"]) <= set(PERMISSIONS) | {"*"} for r in roles.values())


async def test_role_lifecycle(client: Any, new_tenant: Any, mint: Any, db: Any) -> None:
    slug = await new_tenant("rolecrud")
    auth = bearer(mint(tenant=slug))
    unknown = await _post(client, "/api/v1/access/roles", auth, {
        "code": "complaints_officer", "name": "Complaints", "permissions": ["org.read", "complaints.fly"]}, 422)
    assert [e["field"] for e in unknown["errors"]] == ["permissions[1]"]
    bad_code = await _post(client, "/api/v1/access/roles", auth, {"code": "Bad Code", "name": "x"}, 422)
    assert bad_code["errors"][0]["field"] == "code"

    created = await client.post("/api/v1/access/roles", headers={**auth, "Idempotency-Key": "r-1"}, json={
        "code": "front_desk", "name": "前台 Front desk", "permissions": ["org.read", "org.read"]})
    assert created.status_code == 201, created.text
    role = created.json()
    assert role["permissions"] == ["org.read"] and not role["system"] and created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"/api/v1/access/roles/{role['id']}"
    await _post(client, "/api/v1/access/roles", auth, {"code": "front_desk", "name": "again"}, 409)

    url = f"/api/v1/access/roles/{role['id']}"
    assert (await client.patch(url, json={"name": "x"}, headers=auth)).status_code == 428
    changed = await client.patch(url, json={"permissions": ["org.read", "audit.read"]},
                                 headers={**auth, "If-Match": '"1"'})
    assert changed.status_code == 200 and changed.json()["permissions"] == ["audit.read", "org.read"]

    # In use: not deletable until the assignment goes.
    group = (await client.get("/api/v1/org/group", headers=auth)).json()
    assignment = await _assign(client, auth, await _account(db, slug), role, group)
    in_use = await client.delete(url, headers={**auth, "If-Match": '"2"'})
    assert in_use.status_code == 409 and "assigned 1 times" in in_use.json()["detail"]
    assert (await client.delete(f"/api/v1/access/assignments/{assignment['id']}", headers=auth)).status_code == 204
    assert (await client.delete(url, headers={**auth, "If-Match": '"2"'})).status_code == 204
    assert (await client.get(url, headers=auth)).status_code == 404

    # System roles: editable, never deletable; group_admin keeps '*'.
    roles = await _roles(client, auth)
    auditor = f"/api/v1/access/roles/{roles['auditor']['id']}"
    renamed = await client.patch(auditor, json={"name": "内审 Internal audit"}, headers={**auth, "If-Match": '"1"'})
    assert renamed.status_code == 200 and renamed.json()["system"]
    system = await client.delete(auditor, headers={**auth, "If-Match": '"2"'})
    assert system.status_code == 409 and "cannot be deleted" in system.json()["detail"]
    admin = f"/api/v1/access/roles/{roles['group_admin']['id']}"
    narrowed = await client.patch(admin, json={"permissions": ["org.read"]}, headers={**auth, "If-Match": '"1"'})
    assert narrowed.status_code == 409 and narrowed.json()["errors"][0]["field"] == "permissions"

    async with db.tenant_session(f"t_{slug}") as session:
        actions = (await session.scalars(select(tenant_audit.c.action).where(
            tenant_audit.c.entity_id == role["id"]).order_by(tenant_audit.c.occurred_at))).all()
    assert actions == ["access.role.create", "access.role.update", "access.role.delete"]


async def test_a_branch_manager_staffs_only_their_branch(client: Any, new_tenant: Any, mint: Any, db: Any) -> None:
    slug = await new_tenant("staffing")
    admin = bearer(mint(tenant=slug))
    roles = await _roles(client, admin)
    mine, theirs = [await _post(client, "/api/v1/org/branches", admin, {"code": c, "name": c}) for c in ("SZ", "GZ")]
    p_mine, p_theirs = [await _post(client, "/api/v1/org/projects", admin,
                                    {"branchId": b["id"], "code": f"{b['code']}1", "name": "p"})
                        for b in (mine, theirs)]
    manager, clerk = await _account(db, slug), await _account(db, slug)
    await _assign(client, admin, manager, roles["branch_manager"], mine)
    as_manager = bearer(mint(tenant=slug, subject=manager))

    # Reads: exactly the branch.
    assert [b["id"] for b in (await client.get("/api/v1/org/branches", headers=as_manager)).json()["items"]] == [
        mine["id"]]
    assert (await client.get(f"/api/v1/org/branches/{theirs['id']}", headers=as_manager)).status_code == 404
    assert (await client.get("/api/v1/org/group", headers=as_manager)).status_code == 403

    # Inside the branch: may staff it, with roles no stronger than their own.
    given = await _assign(client, as_manager, clerk, roles["project_manager"], p_mine)
    assert given["nodeKind"] == "project" and given["roleCode"] == "project_manager"
    escalation = await _assign(client, as_manager, clerk, roles["group_admin"], mine, 403)
    assert "can hand out only permissions you hold" in escalation["detail"]
    # Outside: another branch's project is no node of theirs; the group node they can see not.
    outside = await _assign(client, as_manager, clerk, roles["customer_service"], p_theirs, 404)
    assert outside["errors"][0]["field"] == "nodeId"
    await _assign(client, as_manager, clerk, roles["project_manager"], p_mine, 409)  # already has it

    # Their list holds the assignments in their branch only; the admin's holds all of them.
    theirs_list = (await client.get("/api/v1/access/assignments", headers=as_manager)).json()
    assert {a["accountId"] for a in theirs_list["items"]} == {manager, clerk}
    everyone = (await client.get("/api/v1/access/assignments", headers=admin)).json()
    assert theirs_list["total"] < everyone["total"]
    by_account = (await client.get(f"/api/v1/access/assignments?accountId={clerk}", headers=admin)).json()
    assert [a["id"] for a in by_account["items"]] == [given["id"]]
    by_node = (await client.get(f"/api/v1/access/assignments?nodeId={mine['id']}", headers=admin)).json()
    assert [a["accountId"] for a in by_node["items"]] == [manager]

    # The clerk, project manager at p_mine, sees that project and nothing else of the tree.
    as_clerk = bearer(mint(tenant=slug, subject=clerk))
    assert [p["id"] for p in (await client.get("/api/v1/org/projects", headers=as_clerk)).json()["items"]] == [
        p_mine["id"]]
    assert (await client.get("/api/v1/org/branches", headers=as_clerk)).json()["total"] == 0
    # A project manager cannot delete their own project (that is the branch's call), nor assign roles.
    gone = await client.delete(f"/api/v1/org/projects/{p_mine['id']}", headers={**as_clerk, "If-Match": '"1"'})
    assert gone.status_code == 403
    assert (await client.get("/api/v1/access/roles", headers=as_clerk)).status_code == 403
    building = await _post(client, "/api/v1/org/buildings", as_clerk, {"projectId": p_mine["id"], "code": "B1",
                                                                      "name": "1号楼"})
    assert building["parentId"] == p_mine["id"]
    await _post(client, "/api/v1/org/buildings", as_clerk, {"projectId": p_theirs["id"], "code": "B2", "name": "x"},
                404)

    # Revoking: inside the branch yes; a stronger role, no.
    assert (await client.delete(f"/api/v1/access/assignments/{given['id']}", headers=as_manager)).status_code == 204


async def test_assignments_name_accounts_of_the_callers_tenant_only(client: Any, new_tenant: Any, mint: Any,
                                                                    db: Any) -> None:
    a, b = await new_tenant("acct_a"), await new_tenant("acct_b")
    auth = bearer(mint(tenant=a))
    roles = await _roles(client, auth)
    group = (await client.get("/api/v1/org/group", headers=auth)).json()
    # Same username in both tenants: only A's account is A's.
    a_account, b_account = await _account(db, a, username="li.wei"), await _account(db, b, username="li.wei")
    foreign = await _assign(client, auth, b_account, roles["auditor"], group, 404)
    assert foreign["errors"][0]["field"] == "accountId"
    nobody = await _assign(client, auth, str(uuid.uuid4()), roles["auditor"], group, 404)
    assert nobody["errors"] == foreign["errors"]  # no telling another tenant's account from none
    owner = await _assign(client, auth, await _account(db, a, AccountKind.owner), roles["auditor"], group, 422)
    assert owner["errors"][0]["message"] == "not a staff account"
    await _assign(client, auth, a_account, roles["auditor"], group)


async def test_the_group_keeps_an_administrator(client: Any, new_tenant: Any, mint: Any, db: Any) -> None:
    slug = await new_tenant("lastadmin")
    auth = bearer(mint(tenant=slug))
    roles = await _roles(client, auth)
    root_admins = (await client.get(f"/api/v1/access/assignments?roleId={roles['group_admin']['id']}",
                                    headers=auth)).json()["items"]
    [mine] = root_admins  # the test administrator
    last = await client.delete(f"/api/v1/access/assignments/{mine['id']}", headers=auth)
    assert last.status_code == 409 and "last administrator" in last.json()["detail"]
    group = (await client.get("/api/v1/org/group", headers=auth)).json()
    await _assign(client, auth, await _account(db, slug), roles["group_admin"], group)
    assert (await client.delete(f"/api/v1/access/assignments/{mine['id']}", headers=auth)).status_code == 204


async def test_group_admin_holds_permissions_registered_later(client: Any, new_tenant: Any, mint: Any,
                                                              db: Any) -> None:
    slug = await new_tenant("wildcard")
    admin = bearer(mint(tenant=slug))
    roles = await _roles(client, admin)
    branch = await _post(client, "/api/v1/org/branches", admin, {"code": "SZ", "name": "SZ"})
    manager = await _account(db, slug)
    await _assign(client, admin, manager, roles["branch_manager"], branch)
    admin_id = next(a["accountId"] for a in (await client.get(
        f"/api/v1/access/assignments?roleId={roles['group_admin']['id']}", headers=admin)).json()["items"])

    def principal(subject: str) -> Principal:
        return Principal(subject=subject, client_id="x", scopes=frozenset(), tenant=slug, token_id="t",
                         expires_at=0)

    register_permissions({"test.later": "Registered after the roles were seeded."})  # undone below
    try:
        async with db.tenant_session(f"t_{slug}") as session:
            as_admin = await load_authorizer(session, principal(admin_id))
            as_manager = await load_authorizer(session, principal(manager))
            as_client = await load_authorizer(session, principal("x"))
        assert as_admin.paths("test.later") is None  # at the group node: the whole group
        assert as_manager.paths("test.later") == [] and as_manager.paths("org.read") != []
        assert as_client.paths("test.later") is None  # a client credentials token acts for the group
    finally:
        del PERMISSIONS["test.later"]


async def test_client_tokens_act_for_the_whole_group(client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("client")
    admin = bearer(mint(tenant=slug))
    await _post(client, "/api/v1/org/branches", admin, {"code": "SZ", "name": "SZ"})
    partner = bearer(mint(tenant=slug, subject=TEST_CLIENT))
    assert (await client.get("/api/v1/org/branches", headers=partner)).json()["total"] == 1
    assert (await client.get("/api/v1/org/group", headers=partner)).status_code == 200
    # A user with no roles at all sees nothing, and may change nothing.
    nobody = bearer(mint(tenant=slug, subject=str(uuid.uuid4())))
    assert (await client.get("/api/v1/org/branches", headers=nobody)).json()["total"] == 0
    assert (await client.post("/api/v1/org/branches", json={"code": "GZ", "name": "GZ"},
                              headers=nobody)).status_code == 403
