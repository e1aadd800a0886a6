"""In-sale orders' background work: the scan over every tenant that flags orders left
unconfirmed past their deadline (001 §3.2.1 (1)) and tells the order-processing centre."""

from __future__ import annotations

from app.domains.service import orders
from app.fanout.tasks import BoundTenant, for_each_tenant

OVERDUE_SCAN = "orders.overdue_scan"


async def scan_tenant(tenant: BoundTenant) -> dict[str, int]:
    async with tenant.transaction() as session:
        return await orders.scan(session)


overdue_scan = for_each_tenant(OVERDUE_SCAN, scan_tenant)
