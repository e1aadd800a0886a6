"""The key-account domain's background work: the daily scan over every tenant that flags
improvement actions past their due day and tells their owners."""

from __future__ import annotations

from app.domains.keyaccounts.services import improvements
from app.fanout.tasks import BoundTenant, for_each_tenant

OVERDUE_SCAN = "keyaccounts.improvements_overdue"


async def scan_tenant(tenant: BoundTenant) -> dict[str, int]:
    async with tenant.transaction() as session:
        return await improvements.overdue_scan(session)


improvements_overdue = for_each_tenant(OVERDUE_SCAN, scan_tenant)
