"""What a new tenant starts with in the calendars domain: the default calendar ``CN``, China's
official holidays and make-up working days in the tenant's time zone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.calendars.services import seed_default
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant


@seeder("calendars.default")
async def seed_calendar(session: AsyncSession, tenant: Tenant) -> None:
    await seed_default(session, tenant.time_zone)
