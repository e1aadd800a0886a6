from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.tenants.seeding import seeder
from tests.kit_sample.models import KitNote


@seeder("kitnotes.welcome", since=None)
async def seed_welcome(session: AsyncSession, tenant: Any) -> None:
    session.add(KitNote(text=f"Welcome, {tenant.display_name}"))
    await session.flush()
