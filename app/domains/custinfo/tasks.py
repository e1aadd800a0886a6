"""The customer information domain's background work: the daily scan over every tenant that
opens the quarter's review of the customer base at the group, once per quarter."""

from __future__ import annotations

from app.domains.custinfo.services import reviews
from app.fanout.tasks import BoundTenant, for_each_tenant

REVIEW_SCAN = "custinfo.review_scan"


async def scan_tenant(tenant: BoundTenant) -> dict[str, int]:
    async with tenant.transaction() as session:
        return await reviews.scan(session)


review_scan = for_each_tenant(REVIEW_SCAN, scan_tenant)
