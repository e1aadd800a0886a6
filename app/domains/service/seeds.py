"""What a new tenant starts with for in-sale orders and call-centre quality: the roles of the
seeds' flows. The confirmation deadline, the departments told and the scorecard are tenant
settings with defaults naming their clauses (orders.py, quality.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.schemas import RoleCreate
from app.domains.access.services import ensure_roles
from app.domains.service import orders, quality
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant

CUSTOMERS_READ, CALLS_READ, CALLS_WRITE = "customers.read", "interactions.read", "interactions.write"

ROLES = [
    # 001 §3.2.2 (1): sales receives the order and keeps the customer told of its progress.
    RoleCreate(code="order_sales", name="销售部门（订单） Sales (orders)",
               description="Receives customers' orders and posts their progress to the customer.",
               permissions=["org.read", CUSTOMERS_READ, orders.READ, orders.RECEIVE]),
    # 001 §3.2.2 (2): the order-processing centre checks, confirms and allocates.
    RoleCreate(code="order_centre", name="订单处理中心 Order-processing centre",
               description="Confirms or cancels received orders; told of orders unconfirmed past their deadline.",
               permissions=["org.read", CUSTOMERS_READ, orders.READ, orders.CONFIRM, orders.DELIVER]),
    # 001 §3.2.2 (3)-(5): the departments told of a confirmed order (the settings name them).
    RoleCreate(code="order_preparation", name="生产/准备部门 Preparation",
               description="Prepares what a confirmed order needs; records its delivery and inspection.",
               permissions=["org.read", orders.READ, orders.DELIVER]),
    RoleCreate(code="order_logistics", name="物流部门 Logistics",
               description="Delivers confirmed orders and records the delivery and inspection.",
               permissions=["org.read", orders.READ, orders.DELIVER]),
    RoleCreate(code="order_finance", name="财务部门（收款） Finance (collection)",
               description="Collects payment of confirmed orders.",
               permissions=["org.read", orders.READ]),
    # 000 §12: the agent (呼叫中心专员) takes and logs calls and reads their own evaluations.
    RoleCreate(code="call_agent", name="呼叫中心专员 Call-centre agent",
               description="Takes and logs calls; reads the evaluations of their own calls.",
               permissions=["org.read", CALLS_READ, CALLS_WRITE]),
    # 000 §12 ⑥ ⑦: the supervisor (呼叫中心主管) evaluates calls and reads agents' performance.
    RoleCreate(code="call_supervisor", name="呼叫中心主管 Call-centre supervisor",
               description="Evaluates calls against the scorecard; reads every evaluation and agents' performance.",
               permissions=["org.read", CALLS_READ, quality.READ, quality.EVALUATE]),
    # 000 §12 ①-③: the customer service manager sets the management method: the scorecard.
    RoleCreate(code="call_centre_manager", name="客户服务经理（呼叫中心） Customer service manager (call centre)",
               description="Sets the call-centre scorecard; reads every evaluation and agents' performance.",
               permissions=["org.read", CALLS_READ, quality.READ, quality.CONFIGURE, orders.CONFIGURE]),
]


@seeder("service.roles", since="0023_service", every_migration=True)
async def seed_roles(session: AsyncSession, tenant: Tenant) -> None:
    await ensure_roles(session, ROLES)
