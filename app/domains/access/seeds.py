"""The roles every new group starts with (system roles: editable, never deletable).

``group_admin`` holds ``*``: every permission, including those domains register later.
The other sets use today's permissions; a domain that adds permissions extends them here.

A role added to these lists in a later revision reaches the groups that existed before it
at their next migration: the seeder runs on every migration and creates the default roles
whose code is missing (a system role cannot be deleted, nor its code changed, so a missing
one is one the group never had). A role that exists is the group's and is left as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.authz import ALL
from app.domains.access.schemas import RoleCreate
from app.domains.access.services import ensure_roles
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant

DEFAULT_ROLES = [
    RoleCreate(code="group_admin", name="集团管理员 Group administrator",
               description="Everything, wherever assigned; at the group node, the whole group.",
               permissions=[ALL]),
    RoleCreate(code="branch_manager", name="分公司经理 Branch manager",
               description="Runs a branch: its projects, buildings and units, its staff's roles, its audit trail.",
               permissions=["audit.read", "org.manage", "org.read", "roles.manage"]),
    RoleCreate(code="project_manager", name="项目经理 Project manager",
               description="Runs a project: its buildings and units.",
               permissions=["org.manage", "org.read"]),
    RoleCreate(code="customer_service", name="客服专员 Customer service",
               description="Serves the customers of the node's projects; reads the org tree there.",
               permissions=["org.read"]),
    RoleCreate(code="auditor", name="审计员 Auditor",
               description="Reads the org tree and the audit trail; changes nothing.",
               permissions=["audit.read", "org.read"]),
]


@seeder("access.roles", since="0003_org_access", every_migration=True)
async def seed_roles(session: AsyncSession, tenant: Tenant) -> None:
    await ensure_roles(session, DEFAULT_ROLES)
