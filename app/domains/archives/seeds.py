"""What a new tenant starts with in the archives domain: two roles for its archive staff.

The archive policy needs no row (its defaults apply until the group changes it), and the
approval chain of classification changes is seeded by the approvals domain from the type
the services register (importing them here registers it before any seeder runs).

Groups that existed before archives get these roles at the migration that brings them, and
a role added here later at their next migration (the seeder runs on every migration); a role
of one of these codes that the group already has is left as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.schemas import RoleCreate
from app.domains.access.services import ensure_roles
from app.domains.archives import services
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant

ROLES = [
    RoleCreate(code="archivist", name="档案员 Archivist",
               description="Builds customer archive volumes and reads those of internal level.",
               permissions=["org.read", services.READ, services.WRITE, services.clearance(1)]),
    RoleCreate(code="archives_manager", name="档案主管 Archives manager",
               description="Reviews, files and corrects volumes, sets legal holds, asks for classification "
                           "changes and verifies integrity; cleared for the first two levels.",
               permissions=["org.read", services.READ, services.WRITE, services.REVIEW, services.FILE,
                            services.CORRECT, services.HOLD, services.CLASSIFY, services.VERIFY,
                            services.clearance(2)]),
]


@seeder("archives.roles", since="0009_archives", every_migration=True)
async def seed_roles(session: AsyncSession, tenant: Tenant) -> None:
    await ensure_roles(session, ROLES)
