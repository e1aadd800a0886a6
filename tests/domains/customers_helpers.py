"""Shared set-up of the customer tests: a group with a branch, a project, a building and
units made through the API, the approvers the change_control and customer_merge chains need,
and believable, checksum-valid personal identifiers."""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from app.core.pii import id_check_character
from tests.conftest import bearer
from tests.domains.test_approvals import Org, as_, assign, make_account

API = "/api/v1/customers"
PROBLEM = "urn:cornerstone:problem:"
_serial = itertools.count(random.randrange(10_000_000))


def phone() -> str:
    """A fresh mainland mobile number (the 170 block: virtual operators, unused by real people here)."""
    return f"170{next(_serial) % 100_000_000:08d}"


def id_number(birth: str | None = None, region: str = "440305") -> str:
    """A fresh resident ID number with a valid check character (birth date and sequence vary
    with a serial, so a file of many stays free of repeats)."""
    n = next(_serial)
    born = birth or (date(1950, 1, 1) + timedelta(days=n % 18_000)).strftime("%Y%m%d")
    first17 = f"{region}{born}{n // 18_000 % 1000:03d}"
    return first17 + id_check_character(first17)


def person(**extra: Any) -> dict[str, Any]:
    body = {"kind": "person", "name": "王小明", "source": "售楼处来访", "purpose": "购房服务与交付通知",
            "gender": "male", "phone": phone(), "idNumber": id_number(), "address": "广东省深圳市南山区科技园路1号",
            "email": "wang@example.com", "occupation": "工程师", "interests": ["高尔夫", "摄影"]}
    body.update(extra)
    return body


@dataclass
class World:
    slug: str
    org: Org
    admin: dict[str, str]  # the tenant's test administrator (group_admin at the group)
    branch: dict[str, Any]
    project: dict[str, Any]
    building: dict[str, Any]
    units: list[dict[str, Any]]
    supervisor: dict[str, str] = field(default_factory=dict)  # department_supervisor at the branch
    crm_head: dict[str, str] = field(default_factory=dict)  # crm_head at the group


async def ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def make_world(client: Any, db: Any, new_tenant: Any, mint: Any, *, units: int = 4,
                     handover: str = "2020-01-01", prefix: str = "cu") -> World:
    from sqlalchemy import select

    from app.domains.org.models import NodeKind, OrgNode
    from app.tenants.models import Tenant

    slug = await new_tenant(prefix)
    admin = bearer(mint(tenant=slug))
    group = await ok(await client.get("/api/v1/org/group", headers=admin), 200)
    code = uuid.uuid4().hex[:6].upper()
    branch = await ok(await client.post("/api/v1/org/branches", headers=admin,
                                        json={"code": f"B{code}", "name": "深圳分公司"}))
    project = await ok(await client.post("/api/v1/org/projects", headers=admin, json={
        "branchId": branch["id"], "code": f"P{code}", "name": "阳光花园", "handoverDate": handover}))
    building = await ok(await client.post("/api/v1/org/buildings", headers=admin, json={
        "projectId": project["id"], "code": f"D{code}", "name": "1号楼"}))
    made = [await ok(await client.post("/api/v1/org/units", headers=admin, json={
        "buildingId": building["id"], "number": f"{1 + i // 2}0{1 + i % 2}", "floor": 1 + i // 2}))
        for i in range(units)]
    async with db.platform_session() as session:
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    org = Org(slug=slug, tenant_id=tenant_id, root=uuid.UUID(group["id"]), branch=uuid.UUID(branch["id"]),
              project=uuid.UUID(project["id"]))
    world = World(slug=slug, org=org, admin=admin, branch=branch, project=project, building=building, units=made)
    supervisor = await make_account(db, org, "supervisor")
    crm = await make_account(db, org, "crm")
    await assign(db, org, supervisor, "department_supervisor", org.branch)
    await assign(db, org, crm, "crm_head", org.root)
    world.supervisor, world.crm_head = as_(mint, org, supervisor), as_(mint, org, crm)
    async with db.tenant_session(f"t_{slug}") as session:
        assert await session.scalar(select(OrgNode.id).where(OrgNode.kind == NodeKind.group)) == org.root
    return world


async def approve_all(client: Any, world: World, request_id: str) -> dict[str, Any]:
    """Take an approval request through both steps of the seeded chain (the supervisor refers
    a change on to the CRM head: a step taken when referred)."""
    detail: dict[str, Any] = {}
    for who in (world.supervisor, world.crm_head):
        detail = await ok(await client.post(f"/api/v1/approvals/requests/{request_id}/approve", headers=who,
                                            json={"refer": True}), 200)
    assert detail["status"] == "approved", detail
    return detail


async def create(client: Any, world: World, body: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
    created = await client.post(API, headers=headers or world.admin, json=body or person())
    return await ok(created)  # type: ignore[no-any-return]
