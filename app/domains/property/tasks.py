"""Property management's background work: the daily coordination-cadence scan, one task per tenant."""

from __future__ import annotations

from app.domains.property.coordination import scan
from app.fanout.tasks import BoundTenant, for_each_tenant

CADENCE_SCAN = "property.cadence_scan"


async def scan_tenant(tenant: BoundTenant) -> dict[str, int]:
    """Projects past their coordination cadence and overdue action items, flagged and told."""
    async with tenant.transaction() as session:
        return await scan(session)


cadence_scan = for_each_tenant(CADENCE_SCAN, scan_tenant)
