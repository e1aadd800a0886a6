"""What a new tenant starts with in confidentiality: the two roles of seed 000 §17's flow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.clearance import clearance
from app.domains.access.schemas import RoleCreate
from app.domains.access.services import ensure_roles
from app.domains.confidentiality import services
from app.domains.customers.services import READ as CUSTOMERS_READ
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant

ROLES = [
    # 000 §17: the customer service department classifies (①), hands over numbered (②),
    # supervises (③) and remedies (④, ⑤); cleared for the first two levels.
    RoleCreate(code="secrecy_officer", name="客户信息保密专员 Customer secrecy officer",
               description="Classifies customer records, hands classified material over and takes it back, "
                           "reports breaches and records their remedial actions.",
               permissions=["org.read", CUSTOMERS_READ, services.READ, services.CLASSIFY, services.TRANSFER,
                            services.BREACH, clearance(2)]),
    # 000 §17 ⑥: the customer service manager reviews the breach report and closes it.
    RoleCreate(code="secrecy_manager", name="客户服务部经理（保密） Customer secrecy manager",
               description="Everything the officer does, and closes breaches with their report; cleared for "
                           "every level.",
               permissions=["org.read", CUSTOMERS_READ, services.READ, services.CLASSIFY, services.TRANSFER,
                            services.BREACH, services.CLOSE, clearance(6)]),
]


@seeder("confidentiality.roles", since="0019_confidentiality", every_migration=True)
async def seed_roles(session: AsyncSession, tenant: Tenant) -> None:
    await ensure_roles(session, ROLES)
