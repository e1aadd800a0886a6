"""The forums' background work: the daily scan flagging overdue improvement actions (one task
per tenant, one transaction per batch)."""

from __future__ import annotations

from app.domains.forums import actions
from app.fanout.tasks import BoundTenant, for_each_tenant

OVERDUE_SCAN = "forums.overdue_scan"
MAX_BATCHES = 20  # a backlog larger than this waits for the next run


async def scan_tenant(tenant: BoundTenant) -> dict[str, int]:
    totals = {"flagged": 0, "messages": 0}
    for _ in range(MAX_BATCHES):
        async with tenant.transaction() as session:
            counts = await actions.scan_overdue(session)
        for key, value in counts.items():
            totals[key] += value
        if counts["flagged"] < actions.SCAN_BATCH:
            break
    return totals


overdue_scan = for_each_tenant(OVERDUE_SCAN, scan_tenant)
