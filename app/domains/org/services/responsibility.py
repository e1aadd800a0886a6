"""Who is responsible for a unit's customers: the project department until the project's
handover date, customer affairs from it on.
"""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.domains.access.authz import Authorizer
from app.domains.org.models import OrgNode
from app.domains.org.schemas import Department, Responsibility
from app.domains.org.services.units import get_unit

# -------------------------------------------------------------------- responsibility


def responsibility(project: OrgNode, time_zone: str) -> Responsibility:
    """Who owns the customer relation of a project's units today (in the tenant's time
    zone): the project department until the handover date, customer affairs from it on."""
    zone = ZoneInfo(time_zone)
    today = clock.utcnow().astimezone(zone).date()  # through the module: tests fix the time
    handover = project.handover_date
    if handover is not None and today >= handover:
        return Responsibility(department=Department.customer_affairs, project_id=project.id,
                              handover_date=handover, since=handover)
    return Responsibility(department=Department.project_department, project_id=project.id, handover_date=handover,
                          since=project.created_at.astimezone(zone).date())


async def unit_responsibility(session: AsyncSession, authz: Authorizer, unit_id: uuid.UUID,
                              time_zone: str) -> Responsibility:
    unit, _ = await get_unit(session, authz, unit_id)
    project = await session.scalar(select(OrgNode).where(OrgNode.id == unit.project_id))
    assert project is not None  # a foreign key holds it
    return responsibility(project, time_zone)
