"""The inquiries domain's background work: the handover switch, hourly, one task per tenant."""

from __future__ import annotations

from app.domains.inquiries.services import switch_at_handover
from app.fanout.tasks import BoundTenant, for_each_tenant

HANDOVER_SWITCH = "inquiries.handover_switch"


async def switch_tenant(tenant: BoundTenant) -> dict[str, int]:
    """The open inquiries of projects whose handover day has come move to customer affairs."""
    async with tenant.transaction() as session:
        return {"moved": await switch_at_handover(session)}


handover_switch = for_each_tenant(HANDOVER_SWITCH, switch_tenant)
