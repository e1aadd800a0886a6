"""The club's background work: the daily points-expiry scan over every tenant (expiry.py)."""

from __future__ import annotations

import uuid

from app.domains.club import expiry
from app.fanout.tasks import BoundTenant, for_each_tenant

POINTS_EXPIRY = "club.points_expiry"


async def expire_tenant(tenant: BoundTenant) -> dict[str, int]:
    """Batches of members, each in a transaction of its own (short locks, fresh reads)."""
    totals = {"members": 0, "points": 0}
    after: uuid.UUID | None = None
    while True:
        async with tenant.transaction() as session:
            before = await expiry.cutoff(session)
            ids = await expiry.candidates(session, before, after)
            counts = await expiry.expire_members(session, ids, before)
        for key, value in counts.items():
            totals[key] += value
        if len(ids) < expiry.BATCH:
            return totals
        after = ids[-1]


points_expiry = for_each_tenant(POINTS_EXPIRY, expire_tenant)
