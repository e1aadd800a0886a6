"""The subtree matrix: inside one tenant, what a person sees is decided by where their roles
sit in the org tree, on every /api route the app serves.

One realistic group (2 branches × 3 projects, two buildings each, units in every building)
with staff at every level: a group administrator, branch managers, project managers, a
customer-service clerk at one building, an auditor, a custom role holding every permission
at a branch, and a home owner. Then, for each person:

- every list of records with an org node shows exactly the records under their grants
  (``LISTS``), or a subset of them for lists narrowed further (``SUBSET_LISTS``);
- every detail route answers 200 for a record under their grants and 404 for any other,
  without a word of it, and every write on another subtree's record is refused (404) and
  changes nothing;
- creating under a parent outside their subtree is refused;
- owners get 403/404 from every staff route, whatever scopes their token carries.

The routes come from the app (tests/routes.py): a new route fails
``test_every_route_is_classified`` until it is entered below, with a kind of record, or in
``NO_NODE`` with the reason its records have no org node. The truth (every record and the
path of its node) is read from the database, not from the API under test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import Select, literal, select

from app.auth.models import AccountKind
from app.auth.scopes import TENANT_SCOPES
from app.domains.access.authz import ALL, PERMISSIONS
from app.domains.access.models import RoleAssignment
from app.domains.org.models import NodeKind, OrgNode, Unit
from tests import catalogue
from tests.catalogue import Kind, WorldSeed
from tests.conftest import bearer
from tests.routes import handlers, routes, url

STAFF_SCOPES = sorted(TENANT_SCOPES - {"owner:self"})
PAGE = 200

# ------------------------------------------------------------------ kinds of record


def _nodes(kind: NodeKind) -> Callable[[], Select[Any]]:
    return lambda: select(OrgNode.id, OrgNode.path, OrgNode.name, OrgNode.version).where(OrgNode.kind == kind)


def _approval_requests() -> Select[Any]:
    from app.domains.approvals.models import ApprovalRequest

    return (select(ApprovalRequest.id, OrgNode.path, ApprovalRequest.title, ApprovalRequest.version)
            .join(OrgNode, OrgNode.id == ApprovalRequest.node_id))


def _customers() -> Select[Any]:
    from app.domains.customers.models import Customer

    return select(Customer.id, OrgNode.path, Customer.name, Customer.version).join(OrgNode,
                                                                                  OrgNode.id == Customer.node_id)


def _consents() -> Select[Any]:
    from app.domains.customers.models import Customer, CustomerConsent

    # A consent sits where its customer does.
    return (select(CustomerConsent.id, OrgNode.path, CustomerConsent.purpose, CustomerConsent.version)
            .join(Customer, Customer.id == CustomerConsent.customer_id).join(OrgNode, OrgNode.id == Customer.node_id))


def _inquiries() -> Select[Any]:
    from app.domains.inquiries.models import Inquiry

    return select(Inquiry.id, OrgNode.path, Inquiry.subject, Inquiry.version).join(OrgNode,
                                                                                  OrgNode.id == Inquiry.node_id)


KINDS: dict[str, Kind] = {
    "group": Kind("org.read", _nodes(NodeKind.group)),
    "branch": Kind("org.read", _nodes(NodeKind.branch)),
    "project": Kind("org.read", _nodes(NodeKind.project)),
    "building": Kind("org.read", _nodes(NodeKind.building)),
    # A unit sits at its building.
    "unit": Kind("org.read", lambda: select(Unit.id, OrgNode.path, Unit.number, Unit.version)
                 .join(OrgNode, OrgNode.id == Unit.building_id)),
    # Who holds which role where is seen by those who manage roles there.
    "assignment": Kind("roles.manage", lambda: select(RoleAssignment.id, OrgNode.path, literal(None), literal(1))
                       .join(OrgNode, OrgNode.id == RoleAssignment.node_id)),
    "approval_request": Kind("approvals.read", _approval_requests),
    "customer": Kind("customers.read", _customers),
    "consent": Kind("customers.read", _consents),
    "inquiry": Kind("inquiries.read", _inquiries),
}

# ------------------------------------------------------------------ the route table

# GET: exactly the records of the kind under the caller's grants.
LISTS = {
    "/api/v1/org/branches": "branch",
    "/api/v1/org/projects": "project",
    "/api/v1/org/buildings": "building",
    "/api/v1/org/units": "unit",
    "/api/v1/access/assignments": "assignment",
    "/api/v1/approvals/requests": "approval_request",
    "/api/v1/customers": "customer",
    "/api/v1/inquiries": "inquiry",
}
# GET: only records under the caller's grants, narrowed further (e.g. "awaiting my decision").
SUBSET_LISTS = {
    "/api/v1/approvals/inbox": "approval_request",
}
# One record per path parameter value: GET shows it or answers 404; writes on it likewise.
DETAILS = {
    "/api/v1/org/branches/{branch_id:uuid}": "branch",
    "/api/v1/org/projects/{project_id:uuid}": "project",
    "/api/v1/org/projects/{project_id:uuid}/move": "project",
    "/api/v1/org/buildings/{building_id:uuid}": "building",
    "/api/v1/org/units/{unit_id:uuid}": "unit",
    "/api/v1/org/units/{unit_id:uuid}/responsibility": "unit",
    "/api/v1/access/assignments/{assignment_id:uuid}": "assignment",
    "/api/v1/approvals/requests/{request_id:uuid}": "approval_request",
    "/api/v1/approvals/requests/{request_id:uuid}/submit": "approval_request",
    "/api/v1/approvals/requests/{request_id:uuid}/approve": "approval_request",
    "/api/v1/approvals/requests/{request_id:uuid}/reject": "approval_request",
    "/api/v1/approvals/requests/{request_id:uuid}/withdraw": "approval_request",
    "/api/v1/approvals/requests/{request_id:uuid}/resubmit": "approval_request",
    "/api/v1/approvals/requests/{request_id:uuid}/delegate": "approval_request",
    **{f"/api/v1/customers/{{customer_id:uuid}}{tail}": "customer" for tail in (
        "", "/reveal", "/change-requests", "/merge", "/behaviour", "/consents", "/units", "/timeline")},
    "/api/v1/customers/consents/{consent_id:uuid}": "consent",
    "/api/v1/customers/consents/{consent_id:uuid}/withdraw": "consent",
    **{f"/api/v1/inquiries/{{inquiry_id:uuid}}{tail}": "inquiry" for tail in ("", "/transfer", "/answer")},
}
# Where a record of each kind is read back (its ETag, for writes that need If-Match).
READ_URLS = {
    "branch": "/api/v1/org/branches/{}", "project": "/api/v1/org/projects/{}",
    "building": "/api/v1/org/buildings/{}", "unit": "/api/v1/org/units/{}",
    "assignment": "/api/v1/access/assignments/{}", "approval_request": "/api/v1/approvals/requests/{}",
    "customer": "/api/v1/customers/{}", "consent": "/api/v1/customers/consents/{}",
    "inquiry": "/api/v1/inquiries/{}",
}
# A route about one fixed record: only those whose grants cover it may read or change it (403).
SINGLETONS = {
    "/api/v1/org/group": "group",
}
# Routes whose records have no org node, and why.
NO_NODE = {
    "/api/v1/jobs/{job_id:uuid}": "a job belongs to the account that started it, not to a node "
                                  "(tests/worker/test_tasks.py)",
    "/api/v1/org/branches/export": "starts an export of the whole group: it needs org.read at the group node "
                                   "(test_whole_group_routes_need_the_group_node)",
    "/api/v1/access/permissions": "the catalogue of permissions: tenant-wide, no records",
    "/api/v1/access/roles": "roles are tenant-wide definitions (who holds them where: assignments)",
    "/api/v1/access/roles/{role_id:uuid}": "roles are tenant-wide definitions (who holds them where: assignments)",
    "/api/v1/audit": "audit records name entities, not nodes: the trail needs audit.read at the group node "
                     "(tests/core/test_audit_api.py)",
    "/api/v1/audit/exports": "an audit export is a job of its requester over the whole trail",
    "/api/v1/audit/exports/{job_id:uuid}/csv": "an audit export is a job of its requester over the whole trail",
    "/api/v1/approvals/chains": "approval chains are tenant-wide configuration, one per request type",
    "/api/v1/approvals/chains/{request_type:str}": "approval chains are tenant-wide configuration, one per "
                                                   "request type",
    "/api/v1/customers/search": "a POST search (phone and ID numbers stay out of URLs): the list's own filter, "
                                "Authorizer.visible on customers.read (tests/domains/test_customers.py)",
    "/api/v1/customers/imports": "starts an import job; each row is checked against the uploader's grants "
                                 "(tests/domains/test_customers_import.py)",
    "/api/v1/customers/settings": "the group's customer policy: customers.read / customers.write at the group "
                                  "node (tests/domains/test_customers.py)",
    "/api/v1/customers/mine": "an owner's own records (owner:self): the account link decides, not a node "
                              "(tests/domains/test_customers.py)",
    "/api/v1/customers/mine/{customer_id:uuid}": "an owner's own record (owner:self): the account link decides, "
                                                 "not a node (tests/domains/test_customers.py)",
}

# Whole domains whose records have no org node, and why (a prefix: their routes are many).
NO_NODE_PREFIXES = {
    "/api/v1/identity/": "accounts and OAuth clients live in the shared schema, one tenant each, no node; "
                         "guarded by identity:* scopes (tests/auth)",
    "/api/v1/me": "the caller's own account (account:self)",
}


def _no_node(path: str) -> bool:
    return path in NO_NODE or path.startswith(tuple(NO_NODE_PREFIXES))


def _move_body(world: World, user: Person) -> dict[str, Any]:
    # Into a branch of the caller's own where they have one: the move they would want to make.
    own = [b for b in world.records["branch"] if world.sees(user, "org.read", b.path)]
    return {"branchId": str((own or world.records["branch"])[0].id), "reason": "moving another's project"}


# A valid body per write with one (keyed by path and method), so that a refusal is about the
# record and not the body.
WRITE_BODIES: dict[tuple[str, str], Callable[[World, Person], Any]] = {
    ("/api/v1/org/group", "PATCH"): lambda w, u: {"description": "changed"},
    ("/api/v1/org/branches/{branch_id:uuid}", "PATCH"): lambda w, u: {"name": "changed"},
    ("/api/v1/org/projects/{project_id:uuid}", "PATCH"): lambda w, u: {"handoverDate": "2020-01-01"},
    ("/api/v1/org/projects/{project_id:uuid}/move", "POST"): _move_body,
    ("/api/v1/org/buildings/{building_id:uuid}", "PATCH"): lambda w, u: {"name": "changed"},
    ("/api/v1/org/units/{unit_id:uuid}", "PATCH"): lambda w, u: {"status": "handed_over"},
    ("/api/v1/approvals/requests/{request_id:uuid}/approve", "POST"): lambda w, u: {},
    ("/api/v1/approvals/requests/{request_id:uuid}/reject", "POST"): lambda w, u: {"comment": "no"},
    ("/api/v1/approvals/requests/{request_id:uuid}/withdraw", "POST"): lambda w, u: {},
    ("/api/v1/approvals/requests/{request_id:uuid}/resubmit", "POST"): lambda w, u: {"reason": "again"},
    ("/api/v1/approvals/requests/{request_id:uuid}/delegate", "POST"):
        lambda w, u: {"accountId": w.people["bm_sz"].account},
    ("/api/v1/customers/{customer_id:uuid}", "PATCH"): lambda w, u: {"status": "inactive"},
    ("/api/v1/customers/{customer_id:uuid}/reveal", "POST"): lambda w, u: {"fields": ["phone", "idNumber"],
                                                                           "reason": "核对"},
    ("/api/v1/customers/{customer_id:uuid}/change-requests", "POST"):
        lambda w, u: {"action": "change", "reason": "更名", "changes": {"name": "changed"}},
    ("/api/v1/customers/{customer_id:uuid}/merge", "POST"):
        lambda w, u: {"mergedId": str(w.records["customer"][0].id), "reason": "重复"},
    ("/api/v1/customers/{customer_id:uuid}/behaviour", "PUT"): lambda w, u: {"data": {"visits": 1}},
    ("/api/v1/customers/{customer_id:uuid}/consents", "POST"):
        lambda w, u: {"kind": "marketing", "purpose": "节日关怀", "channel": "app"},
    ("/api/v1/customers/{customer_id:uuid}/units", "POST"):
        lambda w, u: {"unitId": str(w.records["unit"][0].id), "role": "co_owner"},
    ("/api/v1/customers/consents/{consent_id:uuid}/withdraw", "POST"): lambda w, u: {"channel": "phone"},
    ("/api/v1/inquiries/{inquiry_id:uuid}/transfer", "POST"): lambda w, u: {"toOwnerId": u.account,
                                                                             "need": "over to you"},
    ("/api/v1/inquiries/{inquiry_id:uuid}/answer", "POST"): lambda w, u: {"answer": "answered"},
}

# Creating under a parent: (parent kind, body naming the parent). Refused outside the subtree.
CREATES: dict[str, tuple[str, Callable[[uuid.UUID], dict[str, Any]], str]] = {
    "/api/v1/org/branches": ("group", lambda parent: {"code": f"X{uuid.uuid4().hex[:8]}", "name": "x"},
                             "org.manage"),
    "/api/v1/org/projects": ("branch", lambda parent: {"branchId": str(parent), "code": f"X{uuid.uuid4().hex[:8]}",
                                                        "name": "x"}, "org.manage"),
    "/api/v1/org/buildings": ("project", lambda parent: {"projectId": str(parent),
                                                          "code": f"X{uuid.uuid4().hex[:8]}", "name": "x"},
                              "org.manage"),
    "/api/v1/org/units": ("building", lambda parent: {"buildingId": str(parent), "number": "X1", "floor": 1},
                          "org.manage"),
}


def _merge_domain_tables() -> None:
    """The tables of the domains that keep their entries under tests/catalogue/."""
    tables: list[tuple[dict[Any, Any], str]] = [
        (KINDS, "kinds"), (LISTS, "lists"), (SUBSET_LISTS, "subset_lists"), (DETAILS, "details"),
        (READ_URLS, "read_urls"), (SINGLETONS, "singletons"), (NO_NODE, "no_node"),
        (WRITE_BODIES, "write_bodies"), (CREATES, "creates")]
    for module in catalogue.modules():
        for table, name in tables:
            entries = getattr(module.SUBTREE, name)
            twice = set(table) & set(entries)
            assert not twice, f"{module.__name__} redefines {name} {sorted(twice)}"
            table.update(entries)


_merge_domain_tables()

# ------------------------------------------------------------------ the world


@dataclass(frozen=True)
class Record:
    id: uuid.UUID
    path: str
    value: str | None  # a distinctive value that must not leak
    version: int


@dataclass
class Person:
    name: str
    account: str
    auth: dict[str, str]
    grants: list[tuple[frozenset[str], str]] = field(default_factory=list)  # (permissions, node path)


@dataclass
class World:
    slug: str
    admin: dict[str, str]  # the test administrator's token (builds the world, reads ETags)
    people: dict[str, Person]
    records: dict[str, list[Record]]
    owner: str  # an owner's account id
    nodes: dict[str, dict[str, Any]]  # code -> node as the API shows it

    @staticmethod
    def _under(path: str, root: str) -> bool:
        return path == root or path.startswith(root + "/")

    def sees(self, person: Person, permission: str, path: str) -> bool:
        return any(permission in perms and self._under(path, root) for perms, root in person.grants)

    def visible(self, person: Person, kind: str) -> set[uuid.UUID]:
        return {r.id for r in self.records[kind] if self.sees(person, KINDS[kind].permission, r.path)}


BRANCHES = {"SZ": "深圳分公司", "GZ": "广州分公司"}
PROJECTS = ["阳光花园", "翠湖苑", "滨江壹号"]
# name -> (role, node code); "every" is a custom role holding every permission, spelled out.
STAFF = {
    "group_admin": ("group_admin", "GROUP"),
    "bm_sz": ("branch_manager", "SZ"),
    "bm_gz": ("branch_manager", "GZ"),
    "pm_sz1": ("project_manager", "SZ1"),
    "pm_gz2": ("project_manager", "GZ2"),
    "cs_sz3_b1": ("customer_service", "SZ3-B1"),
    "auditor_gz": ("auditor", "GZ"),
    "every_gz": ("every", "GZ"),
}


async def _ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _account(db: Any, slug: str, name: str, kind: AccountKind) -> str:
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.tenants.services import get_tenant

    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        tenant = await get_tenant(session, slug)
        account = await create_account(session, tenant_id=tenant.id, kind=kind, username=name,
                                       display_name=name, password=None, scopes=[])
    return str(account.id)


async def _approval_drafts(db: Any, slug: str, projects: list[dict[str, Any]]) -> None:
    """One draft approval request per project, made by the system (so no staff member is its
    submitter, and only subtree grants make it visible)."""
    from app.core.audit import SYSTEM
    from app.domains.approvals import services
    from app.domains.approvals.registry import register_request_type, request_types

    if "test_subtree" not in request_types():
        register_request_type("test_subtree", "Subtree matrix request")
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        for p in projects:
            await services.create_request(session, request_type="test_subtree", title=f"Request of {p['code']}",
                                          node_id=uuid.UUID(p["id"]), submit=False)


async def _customer_records(client: Any, admin: dict[str, str], nodes: dict[str, dict[str, Any]]) -> None:
    """A customer owning a unit in each project, with a consent, and a prospect in each branch."""
    from tests.domains.customers_helpers import id_number, phone

    def body(name: str, **extra: Any) -> dict[str, Any]:
        return {"kind": "person", "name": name, "source": "售楼处", "purpose": "购房服务", "phone": phone(),
                "idNumber": id_number(), "consents": [{"kind": "behaviour", "purpose": f"{name}的偏好",
                                                       "channel": "paper"}], **extra}

    for code in BRANCHES:
        await _ok(await client.post("/api/v1/customers", headers=admin,
                                    json=body(f"{code}意向客户", nodeId=nodes[code]["id"])))
        for i in range(1, len(PROJECTS) + 1):
            units = await _ok(await client.get("/api/v1/org/units", headers=admin,
                                               params={"number": f"{code}{i}-1-101"}), 200)
            await _ok(await client.post("/api/v1/customers", headers=admin, json=body(
                f"{code}{i}业主", units=[{"unitId": units["items"][0]["id"], "amount": "1500000.00"}])))


_SERVED_BY = {"approval_request": "/api/v1/approvals/requests", "customer": "/api/v1/customers",
              "consent": "/api/v1/customers", "inquiry": "/api/v1/inquiries"}


async def _truth(db: Any, slug: str, served: set[str]) -> dict[str, list[Record]]:
    kinds = {k for k in KINDS if _SERVED_BY.get(k, "/") in served or k not in _SERVED_BY}
    async with db.tenant_session(f"t_{slug}") as session:
        return {k: [Record(*row) for row in (await session.execute(KINDS[k].truth())).all()] for k in kinds}


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    slug = await new_tenant("subtree", name="阳光地产集团")
    admin = bearer(mint(tenant=slug))
    served = {r.path for r in routes(app, ("/api/",))}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        nodes: dict[str, dict[str, Any]] = {"GROUP": await _ok(await c.get("/api/v1/org/group", headers=admin), 200)}
        projects = []
        for code, name in BRANCHES.items():
            nodes[code] = await _ok(await c.post("/api/v1/org/branches", headers=admin,
                                                 json={"code": code, "name": name}))
            for i, pname in enumerate(PROJECTS, 1):
                p = nodes[f"{code}{i}"] = await _ok(await c.post("/api/v1/org/projects", headers=admin, json={
                    "branchId": nodes[code]["id"], "code": f"{code}{i}", "name": f"{name[:2]}{pname}",
                    "handoverDate": f"2026-0{i}-15"}))
                projects.append(p)
                for b in (1, 2):
                    bd = nodes[f"{code}{i}-B{b}"] = await _ok(await c.post("/api/v1/org/buildings", headers=admin,
                                                                           json={"projectId": p["id"],
                                                                                 "code": f"{code}{i}-B{b}",
                                                                                 "name": f"{b}号楼"}))
                    for floor in (1, 2):
                        await _ok(await c.post("/api/v1/org/units", headers=admin, json={
                            "buildingId": bd["id"], "number": f"{code}{i}-{b}-{floor}01", "floor": floor,
                            "layout": "3室2厅", "area": "96.30"}))
        roles = {r["code"]: r for r in (await _ok(await c.get("/api/v1/access/roles?limit=200", headers=admin),
                                                  200))["items"]}
        every = sorted(PERMISSIONS)
        roles["every"] = await _ok(await c.post("/api/v1/access/roles", headers=admin, json={
            "code": "every_permission", "name": "Every permission, spelled out", "permissions": every}))
        if "/api/v1/customers" in served:
            await _customer_records(c, admin, nodes)
        if "/api/v1/inquiries" in served:
            for p in projects:  # one inquiry per project, recorded by the administrator
                await _ok(await c.post("/api/v1/inquiries", headers=admin, json={
                    "channel": "hotline", "projectId": p["id"], "subject": f"{p['name']}的咨询",
                    "description": "交付时间", "promisedReplyAt": "2999-01-01T00:00:00Z", "contactNote": "来电"}))
        units = {u["number"]: u for u in (await _ok(await c.get("/api/v1/org/units", headers=admin,
                                                                 params={"limit": 200}), 200))["items"]}
        seed = WorldSeed(client=c, admin=admin, db=db, slug=slug, nodes=nodes, projects=projects, units=units)
        for module in catalogue.modules():
            if module.SUBTREE.populate is not None:
                await module.SUBTREE.populate(seed)
        people: dict[str, Person] = {}
        for name, (role, at) in STAFF.items():
            account = await _account(db, slug, name, AccountKind.staff)
            await _ok(await c.post("/api/v1/access/assignments", headers=admin, json={
                "accountId": account, "roleId": roles[role]["id"], "nodeId": nodes[at]["id"]}))
            perms = roles[role]["permissions"]
            path = (await _truth_path(db, slug, nodes[at]["id"]))
            people[name] = Person(name, account, bearer(mint(tenant=slug, subject=account, scopes=STAFF_SCOPES)),
                                  [(frozenset(PERMISSIONS) if ALL in perms else frozenset(perms), path)])
    if "/api/v1/approvals/requests" in served:
        await _approval_drafts(db, slug, projects)
    owner = await _account(db, slug, "owner_li", AccountKind.owner)
    return World(slug=slug, admin=admin, people=people, records=await _truth(db, slug, served), owner=owner,
                 nodes=nodes)


async def _truth_path(db: Any, slug: str, node_id: str) -> str:
    async with db.tenant_session(f"t_{slug}") as session:
        return str(await session.scalar(select(OrgNode.path).where(OrgNode.id == uuid.UUID(node_id))))


async def _all_ids(client: Any, path: str, auth: dict[str, str]) -> tuple[int, set[uuid.UUID]]:
    """Every id a list shows, page by page (status, ids)."""
    ids: set[uuid.UUID] = set()
    offset = 0
    while True:
        answer = await client.get(path, params={"limit": PAGE, "offset": offset}, headers=auth)
        if answer.status_code != 200:
            return answer.status_code, ids
        body = answer.json()
        ids |= {uuid.UUID(item["id"]) for item in body["items"]}
        offset += PAGE
        if offset >= body["total"]:
            assert len(ids) == body["total"], f"{path}: the total does not match the items"
            return 200, ids


def _samples(world: World, kind: str) -> list[Record]:
    """The records a detail route is tried on: every branch and project; per project, one
    building, one unit and its approval request; every assignment."""
    records = world.records[kind]
    if kind in ("unit", "building"):
        seen: set[str] = set()
        picked = []
        for r in sorted(records, key=lambda r: r.path):
            project = r.path.split("/")[2]
            if project not in seen:
                seen.add(project)
                picked.append(r)
        return picked
    return records


# ------------------------------------------------------------------ the tests


def test_every_route_is_classified(app: Any) -> None:
    tables = [LISTS, SUBSET_LISTS, DETAILS, SINGLETONS, NO_NODE]
    for route in routes(app, ("/api/",)):
        where = [t for t in tables if route.path in t]
        if route.path.startswith(tuple(NO_NODE_PREFIXES)):
            where.append(NO_NODE_PREFIXES)
        assert len(where) == 1, (
            f"{route.path} must be in exactly one table of {__file__}: a list or detail route of a kind of "
            f"record with an org node (LISTS, SUBSET_LISTS, DETAILS, SINGLETONS), or NO_NODE with the reason")
        for method, handler in handlers(route):
            if (method in ("POST", "PUT", "PATCH") and "data" in handler.parsed_fn_signature.parameters
                    and (route.path in DETAILS or route.path in SINGLETONS)):
                assert (route.path, method) in WRITE_BODIES, f"{method} {route.path}: add a body to WRITE_BODIES"


def test_the_world_is_what_the_issue_describes(world: World) -> None:
    # The expectations below are computed from grants; check they say what is meant.
    by_code = {code: uuid.UUID(n["id"]) for code, n in world.nodes.items()}
    everyone, p = world.people, world.people["pm_sz1"]
    projects = {by_code[f"SZ{i}"] for i in (1, 2, 3)}
    assert world.visible(everyone["bm_sz"], "project") == projects
    assert world.visible(everyone["group_admin"], "project") == {r.id for r in world.records["project"]}
    assert world.visible(p, "project") == {by_code["SZ1"]}
    assert len(world.visible(p, "unit")) == 4 and len(world.records["unit"]) == 24
    assert world.visible(everyone["cs_sz3_b1"], "building") == {by_code["SZ3-B1"]}
    assert world.visible(p, "assignment") == set()  # project managers do not manage roles
    assert world.visible(everyone["bm_sz"], "assignment")  # branch managers do, in their branch


async def test_lists_show_exactly_the_callers_subtree(client: Any, app: Any, world: World) -> None:
    served = {r.path for r in routes(app, ("/api/",))}
    checked = 0
    for path, kind in {**LISTS, **SUBSET_LISTS}.items():
        if path not in served:
            continue
        for person in world.people.values():
            status, ids = await _all_ids(client, path, person.auth)
            expected = world.visible(person, kind)
            if not expected and status == 403:
                continue  # no grant for this kind anywhere: refusing the list outright is fine
            assert status == 200, f"GET {path} as {person.name}: {status}"
            outside = ids - expected
            assert not outside, f"GET {path} as {person.name} shows {len(outside)} records outside their subtree"
            if path in LISTS:
                assert ids == expected, f"GET {path} as {person.name} misses {len(expected - ids)} records"
            checked += 1
    assert checked >= len(LISTS) - 1


async def test_details_outside_the_subtree_are_not_found(client: Any, app: Any, world: World) -> None:
    served = {r.path for r in routes(app, ("/api/",))}
    before = await _truth(app.state.db, world.slug, served)
    # Read once per record, not once per route: a refused write changes nothing (each answer is
    # checked, and the records' versions at the end), so the ETag stays the record's real one.
    etags: dict[uuid.UUID, str] = {}
    for route in routes(app, ("/api/",)):
        kind = DETAILS.get(route.path)
        if kind is None:
            continue
        [param] = route.path_parameters
        for record in _samples(world, kind):
            target = url(route, {param: str(record.id)})
            # The record's real ETag: were a write let through, it would not stop at 412.
            if record.id not in etags:
                current = await client.get(READ_URLS[kind].format(record.id), headers=world.admin)
                assert current.status_code == 200, current.text
                etags[record.id] = current.headers["etag"]
            etag = etags[record.id]
            for person in world.people.values():
                inside = world.sees(person, KINDS[kind].permission, record.path)
                for method, _ in handlers(route):
                    if method in ("OPTIONS", "HEAD") or (inside and method != "GET"):
                        continue  # writes inside one's subtree are each domain's own tests
                    make = WRITE_BODIES.get((route.path, method))
                    answer = await client.request(method, target, json=make(world, person) if make else None,
                                                  headers={**person.auth, "If-Match": etag})
                    where = f"{method} {route.path} as {person.name} ({'inside' if inside else 'outside'})"
                    if inside:
                        assert answer.status_code == 200, f"{where}: {answer.status_code} {answer.text}"
                        continue
                    # Exactly what an id that never existed gets: no status, header or word of it.
                    assert answer.status_code == 404, f"{where}: {answer.status_code} {answer.text}"
                    assert answer.json()["type"] == "urn:cornerstone:problem:not-found", where
                    assert "etag" not in answer.headers, where
                    if record.value:
                        assert record.value not in answer.text, f"{where} leaked {record.value!r}"
    # Nothing a refused write aimed at has changed.
    assert await _truth(app.state.db, world.slug, served) == before


async def test_singletons_need_a_grant_at_their_node(client: Any, world: World) -> None:
    for path, kind in SINGLETONS.items():
        [record] = world.records[kind]
        for person in world.people.values():
            inside = world.sees(person, KINDS[kind].permission, record.path)
            answer = await client.get(path, headers=person.auth)
            assert answer.status_code == (200 if inside else 403), f"GET {path} as {person.name}: {answer.text}"
            if not inside:
                changed = await client.patch(path, json=WRITE_BODIES[(path, "PATCH")](world, person),
                                             headers={**person.auth, "If-Match": answer.headers.get("etag", '"1"')})
                assert changed.status_code == 403, f"PATCH {path} as {person.name}: {changed.text}"


async def test_creating_outside_the_subtree_is_refused(client: Any, app: Any, world: World) -> None:
    served = {r.path for r in routes(app, ("/api/",))}
    before = await _truth(app.state.db, world.slug, served)
    for path, (parent_kind, body, permission) in CREATES.items():
        for person in world.people.values():
            outside = [r for r in _samples(world, parent_kind) if not world.sees(person, permission, r.path)]
            for parent in outside[:2]:
                answer = await client.post(path, json=body(parent.id), headers=person.auth)
                assert answer.status_code in (403, 404), f"POST {path} as {person.name}: {answer.text}"
                if answer.status_code == 404:  # not theirs to see: named like a parent that does not exist
                    assert not world.sees(person, "org.read", parent.path)
                    assert parent.value not in answer.text
    assert await _truth(app.state.db, world.slug, served) == before


async def test_whole_group_routes_need_the_group_node(client: Any, world: World) -> None:
    [group] = world.records["group"]
    for person in world.people.values():
        at_group = world.sees(person, "org.read", group.path)
        answer = await client.post("/api/v1/org/branches/export", headers=person.auth)
        assert answer.status_code == (202 if at_group else 403), f"export as {person.name}: {answer.text}"


async def test_owners_get_nothing_from_staff_routes(client: Any, app: Any, mint: Any, world: World) -> None:
    served = {r.path for r in routes(app, ("/api/",))}
    before = await _truth(app.state.db, world.slug, served)
    samples = {kind: records[0] for kind, records in world.records.items()}
    owner = Person("owner", world.owner, {})
    # Their token's scope (owner:self) stops them at the guard; were an owner's token to carry
    # every tenant scope, holding no role would still show them no record with an org node
    # (routes without one are guarded by scopes an owner's account never holds).
    for scopes in (["owner:self"], sorted(TENANT_SCOPES)):
        auth = bearer(mint(tenant=world.slug, subject=world.owner, scopes=scopes))
        for route in routes(app, ("/api/",)):
            if scopes != ["owner:self"] and _no_node(route.path):
                continue
            kind = DETAILS.get(route.path) or SINGLETONS.get(route.path)
            params = {name: str(samples[kind].id) if kind else str(uuid.uuid4()) for name in route.path_parameters}
            for method, handler in handlers(route):
                required = handler.opt.get("scopes")
                if not required or "owner:self" in required:
                    continue  # the framework's OPTIONS; owner routes have tests of their own
                if route.path in CREATES and method == "POST":
                    body: Any = CREATES[route.path][1](samples[CREATES[route.path][0]].id)
                elif (route.path, method) in WRITE_BODIES:
                    body = WRITE_BODIES[(route.path, method)](world, owner)
                else:
                    body = {} if "data" in handler.parsed_fn_signature.parameters else None
                answer = await client.request(method, url(route, params), headers=auth, json=body)
                where = f"{method} {route.path} as an owner with {scopes}: {answer.status_code} {answer.text}"
                if answer.status_code == 200 and method == "GET" and route.path in {**LISTS, **SUBSET_LISTS}:
                    assert answer.json()["total"] == 0, where
                else:
                    # 422 only where the body is refused before any record is looked at.
                    assert answer.status_code in (403, 404, 422), where
                    if scopes == ["owner:self"]:
                        assert answer.status_code == 403, where
    assert await _truth(app.state.db, world.slug, served) == before
