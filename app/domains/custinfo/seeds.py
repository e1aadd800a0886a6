"""What a new tenant starts with in customer information: the people of the three processes.
The ``customer_development`` approval type registers with the engine when the services load,
so the engine's seeding stores its default chain (seed 000 §17: the development supervisor,
then the customer service manager) and creates the roles it names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.schemas import RoleCreate
from app.domains.access.services import ensure_roles
from app.domains.custinfo.services import common
from app.domains.customers.services import READ as CUSTOMERS_READ
from app.domains.customers.services import WRITE as CUSTOMERS_WRITE
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant

ROLES = [
    # 001 §2.2.1 (1): the quarterly full review of the customer database.
    RoleCreate(code="customer_info_specialist", name="客户信息专员 Customer information specialist",
               description="Opens the quarter's review of the customer records and works each record it lists "
                           "(renewed, corrected, retired).",
               permissions=["org.read", CUSTOMERS_READ, CUSTOMERS_WRITE, common.READ, common.REVIEW]),
    # 000 §17: the development specialist screens prospects, applies, carries out and reports.
    RoleCreate(code="development_specialist", name="客户开发专员 Customer development specialist",
               description="Screens prospects, applies for their development, carries it out and reports on it.",
               permissions=["org.read", CUSTOMERS_READ, CUSTOMERS_WRITE, common.READ, common.DEVELOP]),
    # 004 §4.8.3-5: customer affairs reviews, classifies and provides.
    RoleCreate(code="customer_affairs_officer", name="客户事务部 Customer affairs officer",
               description="Reviews the customer information collected, classifies it into the information "
                           "base and provides it to the departments that asked.",
               permissions=["org.read", CUSTOMERS_READ, common.READ, common.COLLECT, common.AFFAIRS]),
    # 004 §4.8.2-3: each department states its needs and sends what it collects.
    RoleCreate(code="information_contact", name="部门客户信息联络人 Department information contact",
               description="States the department's needs for customer information, sends what it collects to "
                           "customer affairs and reads what is provided to it.",
               permissions=["org.read", common.READ, common.NEED, common.COLLECT]),
]


@seeder("custinfo.roles", since="0024_custinfo", every_migration=True)
async def seed_roles(session: AsyncSession, tenant: Tenant) -> None:
    await ensure_roles(session, ROLES)
