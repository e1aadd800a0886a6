"""The care campaigns' background work: the hourly scan over every tenant (each sends what is
due today in its own time zone, outside its quiet hours, once)."""

from __future__ import annotations

from app.domains.care import services
from app.fanout.tasks import BoundTenant, for_each_tenant

CARE_SCAN = "care.scan"


async def scan_tenant(tenant: BoundTenant) -> dict[str, int]:
    async with tenant.transaction() as session:
        return await services.scan(session)


care_scan = for_each_tenant(CARE_SCAN, scan_tenant)
