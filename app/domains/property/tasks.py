"""Property management's background work: the daily coordination-cadence scan, one task per tenant."""

from __future__ import annotations

from app.domains.property import photos
from app.domains.property.coordination import scan
from app.fanout.tasks import BoundTenant, for_each_tenant
from app.storage import get_store

CADENCE_SCAN = "property.cadence_scan"


async def scan_tenant(tenant: BoundTenant) -> dict[str, int]:
    """Projects past their coordination cadence and overdue action items, flagged and told; then
    the photos whose upload was never completed."""
    async with tenant.transaction() as session:
        counts = await scan(session)
    async with tenant.transaction() as session:
        counts["expiredPhotos"] = await photos.expire(session, get_store(), tenant.slug)
    return counts


cadence_scan = for_each_tenant(CADENCE_SCAN, scan_tenant)
