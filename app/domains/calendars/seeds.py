"""What a new tenant starts with in the calendars domain: the default calendar ``CN``, China's
official holidays and make-up working days in the tenant's time zone. A group that already
has a calendar keeps its own (and its own default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.calendars.models import WorkingCalendar
from app.domains.calendars.services import seed_default
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant


@seeder("calendars.default", since="0008_complaints")
async def seed_calendar(session: AsyncSession, tenant: Tenant) -> None:
    if await session.scalar(select(WorkingCalendar.id).limit(1)) is None:
        await seed_default(session, tenant.time_zone)
