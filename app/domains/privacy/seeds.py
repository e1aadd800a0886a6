"""What a new tenant starts with in the privacy domain: the role of the person in charge of
personal information protection (PIPL art. 52). Retention periods need no row: each kind's
declared default applies until the group sets its own.

Groups that existed before get the role at the migration that brings the domain, and a role
added here later at their next migration (the seeder runs on every migration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.schemas import RoleCreate
from app.domains.access.services import ensure_roles
from app.domains.privacy import services
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant

ROLES = [
    RoleCreate(code="privacy_officer", name="个人信息保护负责人 Privacy officer",
               description="Answers people's requests to see, copy, correct and delete their personal "
                           "information, carries out erasures and sets retention periods.",
               permissions=["org.read", "approvals.read", services.READ, services.WRITE, services.ERASE,
                            services.CONFIGURE]),
]


@seeder("privacy.roles", since="0014_personal", every_migration=True)
async def seed_roles(session: AsyncSession, tenant: Tenant) -> None:
    await ensure_roles(session, ROLES)
