"""The tenant a tenant session is bound to: its id, its time zone and today's date there.

Read once per session from the registry (one query for both) and kept in ``session.info``;
every domain asks here rather than another domain's services.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.tenants.models import Tenant

_KEY = "bound_tenant"


@dataclass(frozen=True)
class _Bound:
    id: uuid.UUID
    time_zone: str


async def _bound(session: AsyncSession) -> _Bound:
    found = session.info.get(_KEY)
    if found is None:
        schema = session.info["tenant_schema"]
        row = (await session.execute(select(Tenant.id, Tenant.time_zone)
                                     .where(Tenant.slug == schema.removeprefix("t_")))).one_or_none()
        if row is None:
            raise RuntimeError(f"no tenant for schema {schema}")
        found = session.info[_KEY] = _Bound(id=row.id, time_zone=row.time_zone)
    return found


async def tenant_id(session: AsyncSession) -> uuid.UUID:
    """The tenant's id (accounts and the outbox name it)."""
    return (await _bound(session)).id


async def time_zone(session: AsyncSession) -> str:
    """The tenant's time zone (responsibility, numbering years and deadlines count in it)."""
    return (await _bound(session)).time_zone


async def today(session: AsyncSession) -> date:
    """Today's date in the tenant's time zone."""
    return clock.utcnow().astimezone(ZoneInfo(await time_zone(session))).date()


async def local_year(session: AsyncSession, at: datetime) -> int:
    """The year of ``at`` in the tenant's time zone (register numbers count per year there)."""
    return at.astimezone(ZoneInfo(await time_zone(session))).year
