"""Visit planning in the demo tenant (seed 000 §21–22): the Sunshine Bay area with its route
of owners, this month's regional plan, and the planned visit's application sent to the
customer relations supervisor (the demo's staff account, which decides it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.authz import trusted
from app.domains.access.records import under
from app.domains.access.services import grant_by_code
from app.domains.customers.models import Customer
from app.domains.interactions import services as interactions
from app.domains.interactions.models import Visit, VisitStatus
from app.domains.interactions.schemas import Submission
from app.domains.org.models import OrgNode
from app.domains.visiting import services
from app.domains.visiting.schemas import AreaCreate, PlanCreate, RouteIn
from app.tenants.bound import today


async def seed_demo(session: AsyncSession, people: Any) -> None:
    project = await session.scalar(select(OrgNode).where(OrgNode.code == "SZ01"))
    branch = await session.scalar(select(OrgNode).where(OrgNode.code == "SZ"))
    if project is None or branch is None:
        return
    system = trusted()
    owners = (await session.scalars(select(Customer.id)
                                    .where(under(Customer.node_id, project.path), Customer.merged_into_id.is_(None))
                                    .order_by(Customer.number).limit(6))).all()
    if owners:
        area = await services.create_area(session, system, AreaCreate(
            node_id=project.id, name="阳光·滨海湾片区 Sunshine Bay area",
            transport="地铁2号线滨海湾站，步行10分钟 Metro line 2, 10 minutes on foot",
            routes=[RouteIn(name="一期业主 Phase 1 owners", customer_ids=list(owners))]))
        start = (await today(session)).replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        await services.create_plan(session, system, PlanCreate(
            area_id=area.id, title=f"{start:%Y-%m} 滨海湾拜访计划 Sunshine Bay visits", starts_on=start, ends_on=end))
    # The visit application goes to the customer relations supervisor, the customer service
    # manager when referred on: the demo's staff account holds both at the branch (the demo's
    # role holders are seeded after the domains' records).
    for role in ("cr_supervisor", "cs_manager"):
        await grant_by_code(session, account_id=people.staff_id, role_code=role, node=branch)
    planned = (await session.execute(select(Visit, OrgNode.path).join(OrgNode, OrgNode.id == Visit.node_id)
                                     .where(Visit.status == VisitStatus.planned))).tuples().all()
    for visit, path in planned:
        await interactions.apply_for_visit(session, system, visit, path,
                                           Submission(note="客户确认时间 Time agreed with the customer"))
