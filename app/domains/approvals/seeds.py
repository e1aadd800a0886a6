"""A new tenant's approval chains: each registered type's default, stored as the tenant's own.

Types registered after a tenant was provisioned need no seeding: their default applies
(``GET /api/v1/approvals/chains/{type}`` shows it at version 0) until the tenant edits it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.approvals import services
from app.domains.approvals.registry import REQUEST_TYPES
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant


@seeder("approvals.chains")
async def seed_chains(session: AsyncSession, tenant: Tenant) -> None:
    for code in sorted(REQUEST_TYPES):
        await services.create_default_chain(session, REQUEST_TYPES[code])
