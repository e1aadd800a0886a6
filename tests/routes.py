"""The route catalogue every route-wide test shares: how to make, for each path template the
app serves, a resource that a request to it can act on.

The cross-tenant matrix (tests/isolation), the audit gate and the fuzzer (tests/quality) read
the routes from the app itself and look them up here, so a new route is covered the day it
is added: a route with a path parameter, or a write route, needs an entry in FACTORIES
(those tests fail, naming the route, until it has one).
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from litestar.routes import HTTPRoute

from app.core.ids import new_id
from app.core.openapi import IF_MATCH_OPT

# Methods that change state go last, so that a leak in them cannot hide one in a read.
METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
PREFIXES = ("/api/", "/platform/")

# A partner back end's token (client credentials: subject == client id) acts for the whole
# group within its scopes, so the tests that use it meet the scope guard and not role grants.
CLIENT = "test-client"


@dataclass
class Made:
    """A resource created for a route template, as the template needs it."""

    params: dict[str, str]  # path parameter name -> value
    values: list[str]  # the resource's distinctive values (the isolation test hunts for them)
    url: str | None  # where its owner reads it back (and its ETag); None when nothing to read
    bodies: dict[str, Any] = field(default_factory=dict)  # a valid body per write method
    # Who must make the writes (and read ``url``) when not ``Ctx.auth``: e.g. the home owner of
    # an owner:self route. None: ``Ctx.auth``.
    auth: dict[str, str] | None = None
    # A body given as bytes is sent as is, with this media type (e.g. a CSV upload).
    content_type: str | None = None


@dataclass
class Ctx:
    """What a factory needs: a client on the app, the database, and who acts."""

    client: Any
    db: Any
    tenant: str  # the tenant /api resources are made in
    subject: str
    auth: dict[str, str]  # headers of a token of ``tenant`` with every tenant scope
    mark: str  # makes this run's values unique
    operator: dict[str, str] = field(default_factory=dict)  # headers of an operator token (/platform)
    # Parents that factories may share instead of making their own each time (the project a
    # complaint is filed in, a customer's building, the approvers of a chain). None: every
    # resource gets parents of its own, as the isolation matrices and domain tests want. The
    # route-wide gates (fuzz, hostile input, audit) make thousands of resources whose parents
    # no request of theirs touches: they pass a dict, and the parents are made once.
    shared: dict[Any, Any] | None = None


Factory = Callable[[Ctx], Awaitable[Made]]
T = TypeVar("T")


async def shared(ctx: Ctx, key: Any, make: Callable[[], Awaitable[T]]) -> T:
    """``make()``, once per ``key`` when ``ctx`` shares parents; every time when it does not."""
    if ctx.shared is None:
        return await make()
    if key not in ctx.shared:
        ctx.shared[key] = await make()
    return ctx.shared[key]  # type: ignore[no-any-return]


def _unique() -> str:
    return uuid.uuid4().hex[:12]


# ------------------------------------------------------------------------------- /api


async def _branch(ctx: Ctx) -> Made:
    created = await ctx.client.post("/api/v1/org/branches", headers=ctx.auth, json={
        "code": f"A{ctx.mark}{_unique()}", "name": f"A-only branch {ctx.mark}",
        "description": f"A's secret {ctx.mark}"})
    assert created.status_code == 201, created.text
    b = created.json()
    return Made(params={"branch_id": b["id"]}, values=[b["id"], b["code"], b["name"], b["description"]],
                bodies={"PATCH": {"name": "written by B"}}, url=created.headers["location"])


async def _job(ctx: Ctx) -> Made:
    # No endpoint creates a bare job (long-running endpoints do, as a side effect): use its service.
    from app.core import jobs
    from app.core.audit import Actor

    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = Actor(kind="user", id=ctx.subject, client_id="test-client")
        job = await jobs.create_job(session, f"iso_{ctx.mark}")
    return Made(params={"job_id": str(job.id)}, values=[str(job.id), job.kind], url=f"/api/v1/jobs/{job.id}")


async def _branches(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={
        "POST": {"code": f"N{_unique()}", "name": f"New branch {ctx.mark}"}})


async def _branch_export(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)  # POST without a body


async def _group(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url="/api/v1/org/group",
                bodies={"PATCH": {"description": f"Described {_unique()}"}})


async def _audit_export(ctx: Ctx) -> Made:
    # Requested as the ctx's user and run in-process: a worker taking a task sent here could race it.
    from app.core.audit import SYSTEM, Actor
    from app.domains.audit import services
    from app.domains.audit.schemas import AuditFilter

    # The last minute's records: a long-lived tenant (the fuzzer's) holds more than an export
    # may take in one file.
    recent = AuditFilter(from_=datetime.now(UTC) - timedelta(minutes=1))
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = Actor(kind="user", id=ctx.subject, client_id="test-client")
        job = await services.start_export(session, recent)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        assert await services.run_export(session, job.id, recent)
    return Made(params={"job_id": str(job.id)}, values=[str(job.id)], url=f"/api/v1/jobs/{job.id}")


async def _audit_exports(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": {}})  # no filter: every record


async def _create(ctx: Ctx, url: str, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    created = await ctx.client.post(url, headers=ctx.auth, json=body)
    assert created.status_code == 201, created.text
    return created.json(), created.headers["location"]


async def _new_branch(ctx: Ctx) -> dict[str, Any]:
    return (await _create(ctx, "/api/v1/org/branches", {"code": f"B{_unique()}", "name": f"分公司 {ctx.mark}"}))[0]


async def _new_project(ctx: Ctx) -> tuple[dict[str, Any], str]:
    branch = await _new_branch(ctx)
    return await _create(ctx, "/api/v1/org/projects", {
        "branchId": branch["id"], "code": f"P{_unique()}", "name": f"A-only project {ctx.mark}",
        "description": f"A's secret project {ctx.mark}", "handoverDate": "2030-01-01"})


async def _new_building(ctx: Ctx) -> tuple[dict[str, Any], str]:
    project, _ = await _new_project(ctx)
    return await _create(ctx, "/api/v1/org/buildings", {
        "projectId": project["id"], "code": f"BD{_unique()}", "name": f"A-only building {ctx.mark}"})


async def _projects(ctx: Ctx) -> Made:
    branch = await _new_branch(ctx)
    return Made(params={}, values=[], url=None, bodies={
        "POST": {"branchId": branch["id"], "code": f"P{_unique()}", "name": f"New project {ctx.mark}"}})


async def _project(ctx: Ctx) -> Made:
    p, location = await _new_project(ctx)
    # The move names another branch: the move succeeds (and, across tenants, would show a leak).
    other = await _new_branch(ctx)
    return Made(params={"project_id": p["id"]}, values=[p["id"], p["code"], p["name"], p["description"]],
                url=location, bodies={"PATCH": {"name": f"Renamed {ctx.mark}"},
                                      "POST": {"branchId": other["id"], "reason": "regional reorganisation"}})


async def _buildings(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    return Made(params={}, values=[], url=None, bodies={
        "POST": {"projectId": project["id"], "code": f"BD{_unique()}", "name": f"New building {ctx.mark}"}})


async def _building(ctx: Ctx) -> Made:
    b, location = await _new_building(ctx)
    return Made(params={"building_id": b["id"]}, values=[b["id"], b["code"], b["name"]], url=location,
                bodies={"PATCH": {"name": f"Renamed {ctx.mark}"}})


async def _units(ctx: Ctx) -> Made:
    building, _ = await _new_building(ctx)
    return Made(params={}, values=[], url=None, bodies={
        "POST": {"buildingId": building["id"], "number": f"N{_unique()}", "floor": 3, "area": "89.50"}})


async def _unit(ctx: Ctx) -> Made:
    building, _ = await _new_building(ctx)
    u, location = await _create(ctx, "/api/v1/org/units", {
        "buildingId": building["id"], "number": f"N{_unique()}", "floor": 12, "layout": f"L{ctx.mark}",
        "area": "88.88"})
    return Made(params={"unit_id": u["id"]}, values=[u["id"], u["number"], u["layout"], building["id"]],
                url=location, bodies={"PATCH": {"status": "contracted"}})


async def _roles(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={
        "POST": {"code": f"r{_unique()}", "name": f"New role {ctx.mark}", "permissions": ["org.read"]}})


async def _role(ctx: Ctx) -> Made:
    r, location = await _create(ctx, "/api/v1/access/roles", {
        "code": f"r{_unique()}", "name": f"A-only role {ctx.mark}", "description": f"A's secret role {ctx.mark}",
        "permissions": ["org.read"]})
    return Made(params={"role_id": r["id"]}, values=[r["id"], r["code"], r["name"], r["description"]],
                url=location, bodies={"PATCH": {"name": f"Renamed {ctx.mark}"}})


async def _staff_account(ctx: Ctx) -> str:
    # Accounts live in the shared schema; no /api endpoint creates them: use the service.
    from sqlalchemy import select

    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.tenants.models import Tenant

    async with ctx.db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == ctx.tenant))
        account = await create_account(session, tenant_id=tenant_id, kind=AccountKind.staff,
                                       username=f"staff-{_unique()}", display_name=f"Staff {ctx.mark}",
                                       password=None, scopes=["org:read"])
    return str(account.id)


async def _assignment_body(ctx: Ctx) -> dict[str, Any]:
    roles = (await ctx.client.get("/api/v1/access/roles?q=auditor", headers=ctx.auth)).json()["items"]
    group = (await ctx.client.get("/api/v1/org/group", headers=ctx.auth)).json()
    return {"accountId": await _staff_account(ctx), "roleId": roles[0]["id"], "nodeId": group["id"]}


async def _assignments(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": await _assignment_body(ctx)})


async def _assignment(ctx: Ctx) -> Made:
    body = await _assignment_body(ctx)
    a, location = await _create(ctx, "/api/v1/access/assignments", body)
    return Made(params={"assignment_id": a["id"]}, values=[a["id"], body["accountId"]], url=location)


# ------------------------------------------------------------------------- approvals

APPROVAL_TYPE = "catalogue_request"
APPROVAL_SUBMIT = "test.catalogue.submit"


def _register_approval_type() -> None:
    # At import: the cross-tenant matrix grants every permission registered when it runs.
    from app.domains.access.authz import register_permissions
    from app.domains.approvals.registry import register_request_type, request_types

    register_permissions({APPROVAL_SUBMIT: "Tests: submit the route catalogue's approval requests."})
    if APPROVAL_TYPE not in request_types():
        # No default chain: a tenant has a chain of this type only once a factory made one.
        register_request_type(APPROVAL_TYPE, "Route catalogue request", permission=APPROVAL_SUBMIT)


_register_approval_type()


async def _approval_chain_of(ctx: Ctx) -> tuple[dict[str, Any], str]:
    """The catalogue type's chain in ``ctx.tenant``, made on first use: one step, decided by
    a staff account of its own."""
    url = f"/api/v1/approvals/chains/{APPROVAL_TYPE}"
    got = await ctx.client.get(url, headers=ctx.auth)
    if got.status_code == 200:
        return got.json(), url
    assert got.status_code == 404, got.text
    put = await ctx.client.put(url, headers={**ctx.auth, "If-Match": '"0"'}, json={"steps": [
        {"name": f"A-only approver {ctx.mark}", "user": await _staff_account(ctx)}]})
    assert put.status_code == 200, put.text
    return put.json(), url


async def _approval_chain(ctx: Ctx) -> Made:
    chain, url = await _approval_chain_of(ctx)
    step = chain["steps"][0]
    return Made(params={"request_type": APPROVAL_TYPE}, values=[step["user"], step["name"]], url=url,
                bodies={"PUT": {"steps": [step]}})


async def _approval_body(ctx: Ctx, *, submit: bool = True) -> dict[str, Any]:
    from sqlalchemy import select

    from app.domains.org.models import NodeKind, OrgNode

    await _approval_chain_of(ctx)
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        group = await session.scalar(select(OrgNode.id).where(OrgNode.kind == NodeKind.group))
    return {"type": APPROVAL_TYPE, "title": f"A-only request {ctx.mark} {_unique()}", "nodeId": str(group),
            "payload": {"note": f"A's secret request {ctx.mark}"}, "reason": "catalogue", "submit": submit}


async def _approval_requests(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": await _approval_body(ctx)})


async def _reject_as_approver(ctx: Ctx, request_id: str, approver: str) -> None:
    from app.auth.principal import Principal
    from app.core.audit import Actor
    from app.domains.access.authz import load_authorizer
    from app.domains.approvals import services

    principal = Principal(subject=approver, client_id=CLIENT, scopes=frozenset(), tenant=ctx.tenant,
                          token_id=_unique(), expires_at=0)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = Actor(kind="user", id=approver)
        await services.decide(session, uuid.UUID(request_id), approve=False, comment="revise it", expected_step=1,
                              principal=principal, authz=await load_authorizer(session, principal))


def _approval_request(action: str | None) -> Factory:
    """A request submitted by ``ctx.subject``, in the state ``action`` acts on (a draft to
    submit, a rejected one to resubmit, else pending at its one step). Approving, rejecting
    and delegating are for the step's approver, a person (``Made.auth``): a client's token is
    refused (403)."""
    bodies: dict[str | None, Any] = {
        "submit": {}, "approve": {"comment": "fine"}, "reject": {"comment": "not like this"},
        "withdraw": {"comment": "no longer needed"}, "resubmit": {"reason": "revised"},
    }

    async def make(ctx: Ctx) -> Made:
        created = await ctx.client.post("/api/v1/approvals/requests", headers=ctx.auth,
                                        json=await _approval_body(ctx, submit=action != "submit"))
        assert created.status_code == 201, created.text
        r = created.json()
        approver = str(r["rounds"][0]["steps"][0]["approvers"][0]) if action != "submit" else None
        if action == "resubmit":
            await _reject_as_approver(ctx, r["id"], str(approver))
        body = {"accountId": await _staff_account(ctx)} if action == "delegate" else bodies.get(action)
        # The step's approver decides (and delegates) with their own token; the rest is the submitter's.
        auth = (await _token_of(ctx, str(approver), ["approvals:read", "approvals:write"])
                if action in {"approve", "reject", "delegate"} else None)
        return Made(params={"request_id": r["id"]}, values=[r["id"], r["title"], r["payload"]["note"]],
                    url=created.headers["location"], bodies={"POST": body} if action else {}, auth=auth)

    return make


# ------------------------------------------------------------------------ /api customers


def _person(ctx: Ctx, **extra: Any) -> dict[str, Any]:
    from tests.domains.customers_helpers import id_number, phone

    return {"kind": "person", "name": f"客户{ctx.mark}", "source": "catalogue", "purpose": "catalogue",
            "phone": phone(), "idNumber": id_number(), "address": f"深圳市南山区{ctx.mark}号", **extra}


async def _customer_approvers(ctx: Ctx, branch_id: str) -> None:
    """Approvers of the customer chains (change_control, customer_merge) at the branch and the group."""
    from sqlalchemy import select

    from app.core.audit import Actor
    from app.domains.access.services import grant_by_code
    from app.domains.org.models import NodeKind, OrgNode

    supervisor, crm = await _staff_account(ctx), await _staff_account(ctx)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        branch = await session.scalar(select(OrgNode).where(OrgNode.id == uuid.UUID(branch_id)))
        root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
        await grant_by_code(session, account_id=uuid.UUID(supervisor), role_code="department_supervisor",
                            node=branch)
        await grant_by_code(session, account_id=uuid.UUID(crm), role_code="crm_head", node=root)


async def _customer_home(ctx: Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    """A branch with a project and a building in it, and the customer chains' approvers there."""
    branch = await _new_branch(ctx)
    project, _ = await _create(ctx, "/api/v1/org/projects", {
        "branchId": branch["id"], "code": f"P{_unique()}", "name": f"项目 {ctx.mark}", "handoverDate": "2030-01-01"})
    building, _ = await _create(ctx, "/api/v1/org/buildings", {
        "projectId": project["id"], "code": f"BD{_unique()}", "name": f"楼 {ctx.mark}"})
    await _customer_approvers(ctx, branch["id"])
    return branch, building


async def _new_customer(ctx: Ctx, *, unit: bool = True, own_project: bool = False) -> tuple[dict[str, Any], str, str]:
    """A customer owning a fresh unit of a fresh project (of a shared one where ``ctx`` shares
    parents, unless ``own_project``), with the customer chains' approvers; the customer, its URL
    and the building id."""
    make = functools.partial(_customer_home, ctx)
    branch, building = await make() if own_project else await shared(ctx, "customer-home", make)
    u, _ = await _create(ctx, "/api/v1/org/units", {"buildingId": building["id"], "number": f"N{_unique()}",
                                                    "floor": 3})
    body = _person(ctx, units=[{"unitId": u["id"], "amount": "1000000.00"}] if unit else [],
                   nodeId=None if unit else branch["id"],
                   consents=[{"kind": "behaviour", "purpose": f"catalogue {ctx.mark}", "channel": "paper"}])
    customer, location = await _create(ctx, "/api/v1/customers", body)
    return customer, location, building["id"]


async def _customers(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": _person(ctx)})


async def _customer_search(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": {"namePrefix": "客户"}})


async def _customer_import(ctx: Ctx) -> Made:
    from tests.domains.customers_helpers import id_number, phone

    csv = (f"kind,name,phone,id_number,source,purpose\nperson,导入客户{ctx.mark},{phone()},{id_number()},"
           "catalogue,catalogue\n")
    return Made(params={}, values=[], url=None, bodies={"POST": csv.encode()}, content_type="text/csv")


async def _customer_settings(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url="/api/v1/customers/settings",
                bodies={"PUT": {"ownerContactChangesNeedApproval": False}})


async def _my_customers(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


def _customer_post(body: Callable[[Ctx, dict[str, Any], str], Awaitable[dict[str, Any]]]) -> Factory:
    """A customer and the body of one POST sub-resource route on it."""
    async def make(ctx: Ctx) -> Made:
        c, location, building = await _new_customer(ctx)
        return Made(params={"customer_id": c["id"]}, values=[c["id"], c["number"], c["name"], c["phone"]],
                    url=location, bodies={"POST": await body(ctx, c, building)})

    return make


async def _reveal_body(ctx: Ctx, c: dict[str, Any], building: str) -> dict[str, Any]:
    return {"fields": ["phone", "idNumber", "address"], "reason": "catalogue"}


async def _change_body(ctx: Ctx, c: dict[str, Any], building: str) -> dict[str, Any]:
    return {"action": "change", "reason": "catalogue", "changes": {"name": f"改名 {_unique()}"}}


async def _merge_body(ctx: Ctx, c: dict[str, Any], building: str) -> dict[str, Any]:
    other, _, _ = await _new_customer(ctx, unit=False)
    return {"mergedId": other["id"], "reason": "catalogue duplicate"}


async def _consent_body(ctx: Ctx, c: dict[str, Any], building: str) -> dict[str, Any]:
    return {"kind": "marketing", "purpose": f"节日关怀 {ctx.mark}", "channel": "app"}


async def _unit_body(ctx: Ctx, c: dict[str, Any], building: str) -> dict[str, Any]:
    spare, _ = await _create(ctx, "/api/v1/org/units", {"buildingId": building, "number": f"S{_unique()}",
                                                        "floor": 4})
    return {"unitId": spare["id"], "role": "primary", "stage": "contract", "amount": "990000.00"}


async def _customer_behaviour(ctx: Ctx) -> Made:
    c, location, _ = await _new_customer(ctx)  # it has a behaviour consent
    return Made(params={"customer_id": c["id"]}, values=[c["id"], c["number"], c["name"]], url=location,
                bodies={"PUT": {"data": {"visits": 2, "prefers": "周末"}}})


async def _customer_one(ctx: Ctx) -> Made:
    c, location, _ = await _new_customer(ctx)
    return Made(params={"customer_id": c["id"]}, values=[c["id"], c["number"], c["name"], c["phone"]],
                url=location, bodies={"PATCH": {"occupation": f"教师 {ctx.mark}", "status": "inactive"}})


async def _consent(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    listed = await ctx.client.get(f"/api/v1/customers/{c['id']}/consents", headers=ctx.auth)
    assert listed.status_code == 200, listed.text
    consent = listed.json()["items"][0]
    return Made(params={"consent_id": consent["id"]}, values=[consent["id"], consent["purpose"], c["id"]],
                url=f"/api/v1/customers/consents/{consent['id']}", bodies={"POST": {"channel": "phone"}})


async def _token_of(ctx: Ctx, account_id: str, scopes: list[str]) -> dict[str, str]:
    """Headers of a user token for ``account_id`` in ``ctx.tenant`` (as the token endpoint issues it)."""
    from app.auth.tokens import KeyRing
    from app.config import get_settings

    settings = get_settings()
    ring = KeyRing(issuer=settings.issuer, audience=settings.audience, token_ttl=settings.access_token_ttl)
    async with ctx.db.platform_session() as session:
        await ring.refresh(session, force=True)
    token = ring.mint(subject=account_id, client_id=CLIENT, scopes=scopes, tenant=ctx.tenant)
    return {"Authorization": f"Bearer {token}"}


async def _my_customer(ctx: Ctx) -> Made:
    """An owner's own record: a customer linked to the acting account when it is one (the
    isolation matrix's subject), else to a new owner account that acts with its own token."""
    from sqlalchemy import select, update

    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.domains.customers.models import Customer
    from app.tenants.models import Tenant

    c, _ = await _create(ctx, "/api/v1/customers", _person(ctx))
    try:
        owner, auth = str(uuid.UUID(ctx.subject)), None
    except ValueError:
        async with ctx.db.platform_transaction() as session:
            session.info["actor"] = Actor(kind="operator", id="operator@test")
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == ctx.tenant))
            account = await create_account(session, tenant_id=tenant_id, kind=AccountKind.owner,
                                           username=f"owner-{_unique()}", display_name=f"Owner {ctx.mark}",
                                           password=None, scopes=["owner:self"])
        owner, auth = str(account.id), await _token_of(ctx, str(account.id), ["owner:self"])
    # Linked in the database: the API links only owner accounts, and the matrix's subject is none.
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(Customer).where(Customer.id == uuid.UUID(c["id"]))
                              .values(account_id=uuid.UUID(owner)))
    return Made(params={"customer_id": c["id"]}, values=[c["id"], c["number"], c["name"]],
                url=f"/api/v1/customers/mine/{c['id']}", auth=auth,
                bodies={"PATCH": {"email": f"owner{_unique()}@example.com"}})


# ------------------------------------------------------------------------ /api inquiries


def _inquiry_body(ctx: Ctx, project_id: str) -> dict[str, Any]:
    return {"channel": "wechat", "projectId": project_id, "subject": f"A-only inquiry {ctx.mark}",
            "description": f"A's secret question {ctx.mark}", "promisedReplyAt": "2999-01-01T00:00:00Z",
            "contactNote": f"A's caller {ctx.mark}"}


async def _customer_timeline(ctx: Ctx) -> Made:
    """A customer with an inquiry about them: their history shows it."""
    c, location, _ = await _new_customer(ctx)
    i, _ = await _create(ctx, "/api/v1/inquiries", {**_inquiry_body(ctx, c["units"][0]["projectId"]),
                                                    "customerId": c["id"]})
    return Made(params={"customer_id": c["id"]}, values=[c["id"], i["id"], i["number"], i["subject"]],
                url=location)


async def _inquiries(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": _inquiry_body(ctx, project["id"])})


async def _inquiry(ctx: Ctx) -> Made:
    from tests.grants import grant

    project, _ = await _new_project(ctx)
    i, location = await _create(ctx, "/api/v1/inquiries", _inquiry_body(ctx, project["id"]))
    # The next owner: a colleague who may handle the project's inquiries.
    colleague = await _staff_account(ctx)
    await grant(ctx.db, ctx.tenant, colleague, ["inquiries.read", "inquiries.write"], uuid.UUID(project["id"]))
    return Made(params={"inquiry_id": i["id"]}, values=[i["id"], i["number"], i["subject"], i["description"]],
                url=location, bodies={"POST": {"toOwnerId": colleague, "need": "over to you"}})


async def _inquiry_answer(ctx: Ctx) -> Made:
    made = await _inquiry(ctx)
    made.bodies = {"POST": {"answer": f"Answered {ctx.mark}"}}
    return made


# ------------------------------------------------------------------------- /api identity

ACCOUNTS = "/api/v1/identity/accounts"
CLIENTS = "/api/v1/identity/clients"


def _staff_body(ctx: Ctx) -> dict[str, Any]:
    mark = _unique()
    return {"username": f"staff{mark}", "displayName": f"A-only staff {ctx.mark}", "email": f"s{mark}@example.com",
            "scopes": ["org:read"]}


def _account(*, disabled: bool = False) -> Factory:
    async def make(ctx: Ctx) -> Made:
        a, location = await _create(ctx, ACCOUNTS + "/staff", _staff_body(ctx))
        if disabled:
            etag = (await ctx.client.get(location, headers=ctx.auth)).headers["etag"]
            moved = await ctx.client.post(location + "/disable", json={"reason": "catalogue"},
                                          headers={**ctx.auth, "If-Match": etag})
            assert moved.status_code == 200, moved.text
        return Made(params={"account_id": a["id"]}, values=[a["id"], a["username"], a["displayName"], a["email"]],
                    url=location, bodies={"PATCH": {"displayName": f"Renamed {ctx.mark}"},
                                          "POST": {"reason": "catalogue"}})

    return make


def _client(kind: str) -> Factory:
    async def make(ctx: Ctx) -> Made:
        body: dict[str, Any] = {"kind": kind, "name": f"A-only client {ctx.mark} {_unique()}",
                                "allowedScopes": ["org:read"]}
        if kind == "public":
            body["redirectUris"] = [f"com.a{_unique()}.app:/callback"]
        created, location = await _create(ctx, CLIENTS, body)
        c = created["client"]
        return Made(params={"client_pk": c["id"]}, values=[c["id"], c["clientId"], c["name"]], url=location,
                    bodies={"PATCH": {"name": f"Renamed {ctx.mark}"}, "POST": {"reason": "catalogue"}})

    return make


async def _staff(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": _staff_body(ctx)})


async def _owners(ctx: Ctx) -> Made:
    mark = _unique()
    return Made(params={}, values=[], url=None, bodies={
        "POST": {"username": f"owner{mark}", "displayName": f"Owner {ctx.mark}", "email": f"o{mark}@example.com"}})


async def _clients(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={
        "POST": {"kind": "confidential", "name": f"New client {ctx.mark}", "allowedScopes": ["org:read"]}})


# /api/v1/me acts on the token's own account: these factories make a person of their own
# (with a password; with an authenticator where the route needs one) who acts with their
# own token (``Made.auth``); a client's token gets 403 there.
async def _person_with_password(ctx: Ctx, *, totp: str | None = None) -> tuple[dict[str, str], str, str | None]:
    """A staff account of ctx.tenant: (its token's headers, its password, its TOTP secret).
    ``totp``: None, "pending" (enrolment started) or "on"."""
    from sqlalchemy import select

    from app.auth import accounts
    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.core.clock import utcnow
    from app.tenants.models import Tenant

    password = f"Pw-{_unique()}-9a"
    secret = accounts.new_totp_secret() if totp else None
    async with ctx.db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == ctx.tenant))
        account = await create_account(session, tenant_id=tenant_id, kind=AccountKind.staff,
                                       username=f"me{_unique()}", display_name=f"Me {ctx.mark}",
                                       password=password, scopes=["account:self"])
        account.totp_secret = secret
        account.totp_confirmed_at = utcnow() if totp == "on" else None
    return await _token_of(ctx, str(account.id), ["account:self"]), password, secret


async def _me_password(ctx: Ctx) -> Made:
    auth, password, _ = await _person_with_password(ctx)
    return Made(params={}, values=[], url=None, auth=auth, bodies={
        "POST": {"currentPassword": password, "newPassword": f"Pw-{_unique()}-9a"}})


async def _me_totp(ctx: Ctx) -> Made:
    auth, _, _ = await _person_with_password(ctx)
    return Made(params={}, values=[], url=None, auth=auth)  # POST without a body


def _me_code(state: str) -> Factory:
    async def make(ctx: Ctx) -> Made:
        import pyotp

        auth, _, secret = await _person_with_password(ctx, totp=state)
        assert secret is not None
        # The code is taken when the factory runs: use the Made at once (a code lives 30-90 s).
        return Made(params={}, values=[], url=None, auth=auth, bodies={"POST": {"code": pyotp.TOTP(secret).now()}})

    return make


# ------------------------------------------------------------------------- /platform


async def _tenant_in(ctx: Ctx, *actions: str) -> str:
    """A new tenant (made through the API), taken through the lifecycle ``actions``."""
    slug = f"rt_{_unique()}"
    created = await ctx.client.post("/platform/v1/tenants", headers=ctx.operator,
                                    json={"slug": slug, "displayName": f"Catalogue {ctx.mark}"})
    assert created.status_code == 201, created.text
    etag = created.headers["etag"]
    for action in actions:
        moved = await ctx.client.post(f"/platform/v1/tenants/{slug}/{action}", json={"reason": "catalogue"},
                                      headers={**ctx.operator, "If-Match": etag})
        assert moved.status_code == 200, moved.text
        etag = moved.headers["etag"]
    return slug


def _tenant(*actions: str) -> Factory:
    async def make(ctx: Ctx) -> Made:
        slug = await _tenant_in(ctx, *actions)
        return Made(params={"slug": slug}, values=[slug], url=f"/platform/v1/tenants/{slug}", bodies={
            "PATCH": {"displayName": f"Renamed {ctx.mark}"},
            # Every lifecycle POST takes a reason; purge also the slug, typed again.
            "POST": {"reason": "catalogue", **({"confirm": slug} if actions == ("delete",) else {})},
        })

    return make


async def _tenants(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={
        "POST": {"slug": f"rn_{_unique()}", "displayName": f"New group {ctx.mark}"}})


async def _fanout_run(ctx: Ctx) -> Made:
    # A run over no tenant (finished at once): the report's row is what the route reads.
    from sqlalchemy import false

    from app.fanout.runs import start_run

    run_id = new_id()
    await start_run(ctx.db, f"catalogue.{ctx.mark}", run_id, where=false())
    return Made(params={"run_id": str(run_id)}, values=[str(run_id)], url=f"/platform/v1/fanout-runs/{run_id}")


# Path template (as the app declares it) -> factory making a resource that template acts on
# (for a write route: in a state where the write succeeds).
FACTORIES: dict[str, Factory] = {
    "/api/v1/org/group": _group,
    "/api/v1/org/branches": _branches,
    "/api/v1/org/branches/export": _branch_export,
    "/api/v1/org/branches/{branch_id:uuid}": _branch,
    "/api/v1/jobs/{job_id:uuid}": _job,
    "/api/v1/audit/exports": _audit_exports,
    "/api/v1/audit/exports/{job_id:uuid}/csv": _audit_export,
    "/api/v1/org/projects": _projects,
    "/api/v1/org/projects/{project_id:uuid}": _project,
    "/api/v1/org/projects/{project_id:uuid}/move": _project,
    "/api/v1/org/buildings": _buildings,
    "/api/v1/org/buildings/{building_id:uuid}": _building,
    "/api/v1/org/units": _units,
    "/api/v1/org/units/{unit_id:uuid}": _unit,
    "/api/v1/org/units/{unit_id:uuid}/responsibility": _unit,
    "/api/v1/access/roles": _roles,
    "/api/v1/access/roles/{role_id:uuid}": _role,
    "/api/v1/access/assignments": _assignments,
    "/api/v1/access/assignments/{assignment_id:uuid}": _assignment,
    "/api/v1/approvals/chains/{request_type:str}": _approval_chain,
    "/api/v1/approvals/requests": _approval_requests,
    "/api/v1/approvals/requests/{request_id:uuid}": _approval_request(None),
    **{f"/api/v1/approvals/requests/{{request_id:uuid}}/{action}": _approval_request(action)
       for action in ("submit", "approve", "reject", "withdraw", "resubmit", "delegate")},
    "/api/v1/customers": _customers,
    "/api/v1/customers/search": _customer_search,
    "/api/v1/customers/imports": _customer_import,
    "/api/v1/customers/settings": _customer_settings,
    "/api/v1/customers/mine": _my_customers,
    "/api/v1/customers/mine/{customer_id:uuid}": _my_customer,
    "/api/v1/customers/{customer_id:uuid}": _customer_one,
    "/api/v1/customers/{customer_id:uuid}/reveal": _customer_post(_reveal_body),
    "/api/v1/customers/{customer_id:uuid}/change-requests": _customer_post(_change_body),
    "/api/v1/customers/{customer_id:uuid}/merge": _customer_post(_merge_body),
    "/api/v1/customers/{customer_id:uuid}/behaviour": _customer_behaviour,
    "/api/v1/customers/{customer_id:uuid}/consents": _customer_post(_consent_body),
    "/api/v1/customers/{customer_id:uuid}/units": _customer_post(_unit_body),
    "/api/v1/customers/{customer_id:uuid}/timeline": _customer_timeline,
    "/api/v1/customers/consents/{consent_id:uuid}": _consent,
    "/api/v1/customers/consents/{consent_id:uuid}/withdraw": _consent,
    "/api/v1/inquiries": _inquiries,
    "/api/v1/inquiries/{inquiry_id:uuid}": _inquiry,
    "/api/v1/inquiries/{inquiry_id:uuid}/transfer": _inquiry,
    "/api/v1/inquiries/{inquiry_id:uuid}/answer": _inquiry_answer,
    ACCOUNTS + "/staff": _staff,
    ACCOUNTS + "/owners": _owners,
    ACCOUNTS + "/{account_id:uuid}": _account(),
    ACCOUNTS + "/{account_id:uuid}/disable": _account(),
    ACCOUNTS + "/{account_id:uuid}/enable": _account(disabled=True),
    ACCOUNTS + "/{account_id:uuid}/mfa/reset": _account(),
    CLIENTS: _clients,
    CLIENTS + "/{client_pk:uuid}": _client("public"),
    CLIENTS + "/{client_pk:uuid}/secret": _client("confidential"),
    CLIENTS + "/{client_pk:uuid}/disable": _client("public"),
    "/api/v1/me/password": _me_password,
    "/api/v1/me/mfa/totp": _me_totp,
    "/api/v1/me/mfa/totp/confirm": _me_code("pending"),
    "/api/v1/me/mfa/recovery-codes": _me_code("on"),
    "/platform/v1/tenants": _tenants,
    "/platform/v1/tenants/{slug:str}": _tenant(),
    "/platform/v1/tenants/{slug:str}/provisioning": _tenant(),
    "/platform/v1/tenants/{slug:str}/suspend": _tenant(),
    "/platform/v1/tenants/{slug:str}/resume": _tenant("suspend"),
    "/platform/v1/tenants/{slug:str}/delete": _tenant(),
    "/platform/v1/tenants/{slug:str}/purge": _tenant("delete"),
    "/platform/v1/fanout-runs/{run_id:uuid}": _fanout_run,
}


def _merge_domain_catalogues() -> None:
    # Domains that keep their entries in tests/catalogue/<domain>.py; they import from this
    # module, so they are loaded once everything above exists.
    from tests import catalogue

    for module in catalogue.modules():
        twice = set(FACTORIES) & set(module.FACTORIES)
        assert not twice, f"{module.__name__} redefines route factories {sorted(twice)}"
        FACTORIES.update(module.FACTORIES)


_merge_domain_catalogues()


def missing_factory(paths: list[str]) -> str:
    return (f"no route factory for {paths}: add one to FACTORIES in {__file__} (or in the domain's module "
            "under tests/catalogue/) that makes the resource "
            "(in a state where every write on the route succeeds) and returns its path parameters, "
            "values, read-back URL and a valid body per write method")


# --------------------------------------------------------------------- route helpers


def routes(app: Any, prefixes: tuple[str, ...] = PREFIXES) -> list[HTTPRoute]:
    """The app's routes under ``prefixes``; every one must be an HTTP route."""
    found = [r for r in app.routes if r.path.startswith(prefixes)]
    odd = [r.path for r in found if not isinstance(r, HTTPRoute)]
    assert not odd, f"non-HTTP routes under {prefixes} need tests of their own: {odd}"
    return found


def handlers(route: HTTPRoute) -> list[tuple[str, Any]]:
    """(method, handler) pairs of a route, reads first."""
    pairs = [(m, h) for h in route.route_handlers for m in h.http_methods]
    return sorted(pairs, key=lambda p: METHOD_ORDER.index(p[0]) if p[0] in METHOD_ORDER else -1)


def is_framework_options(method: str, handler: Any) -> bool:
    """Litestar's automatic OPTIONS answer (passed by the guard, outside the document)."""
    return method == "OPTIONS" and not handler.opt.get("scopes") and not handler.include_in_schema


def operations(app: Any, prefixes: tuple[str, ...] = PREFIXES) -> Iterator[tuple[HTTPRoute, str, Any]]:
    """Every (route, method, handler) the app serves under ``prefixes``, but the framework's OPTIONS."""
    for route in routes(app, prefixes):
        for method, handler in handlers(route):
            if not is_framework_options(method, handler):
                yield route, method, handler


def url(route: HTTPRoute, params: dict[str, str]) -> str:
    result = route.path
    for name, definition in route.path_parameters.items():
        result = result.replace("{" + definition.full + "}", params[name])
    return result


def random_params(route: HTTPRoute) -> dict[str, str]:
    return {name: str(new_id()) if d.type is uuid.UUID else f"x{uuid.uuid4().hex[:12]}"
            for name, d in route.path_parameters.items()}


def reads_if_match(handler: Any) -> bool:
    return bool(handler.opt.get(IF_MATCH_OPT))


def takes_body(handler: Any) -> bool:
    return "data" in handler.parsed_fn_signature.parameters


_TYPED = re.compile(r"\{(\w+):\w+\}")


def document_path(template: str) -> str:
    """The OpenAPI path of a route template: ``/x/{id:uuid}`` -> ``/x/{id}``."""
    return _TYPED.sub(r"{\1}", template)
