"""The club's background work: the daily scan over every tenant, which expires points
(expiry.py) and removes activity photos whose upload was never completed (photos.py)."""

from __future__ import annotations

import uuid

from app.domains.club import expiry, photos
from app.fanout.tasks import BoundTenant, for_each_tenant
from app.storage import get_store

POINTS_EXPIRY = "club.points_expiry"


async def expire_tenant(tenant: BoundTenant) -> dict[str, int]:
    """Points: batches of members, each in a transaction of its own (short locks, fresh reads);
    then the photos never completed."""
    totals = await expire_points(tenant)
    async with tenant.transaction() as session:
        totals["expiredPhotos"] = await photos.expire(session, get_store(), tenant.slug)
    return totals


async def expire_points(tenant: BoundTenant) -> dict[str, int]:
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
