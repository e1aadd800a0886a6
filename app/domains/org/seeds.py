"""What a new tenant's org tree starts with: the group node."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.org.models import NodeKind, OrgNode
from app.domains.org.services import create_root
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant


@seeder("org.root", since="0001_tenant_base")
async def seed_root(session: AsyncSession, tenant: Tenant) -> None:
    if await session.scalar(select(OrgNode.id).where(OrgNode.kind == NodeKind.group)) is None:
        await create_root(session, tenant.display_name)
