"""Property management in the demo tenant: the property company commissioned for Sunshine Garden
(SZ01), a coordination meeting with an open action item, an open warranty repair of the demo
owner's flat assigned to the company, and the owners' committee in formation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.authz import trusted
from app.domains.org.models import OrgNode, Unit
from app.domains.property import committee, companies, coordination, repairs
from app.domains.property.models import Assignee, CoordinationForm, Party
from app.domains.property.schemas import (
    ActionIn,
    AssignIn,
    CommitteeCreate,
    CompanyCreate,
    ContractCreate,
    EntryCreate,
    RepairCreate,
)
from app.tenants.bound import today


async def seed_demo(session: AsyncSession, people: Any) -> None:
    authz = trusted()
    project = await session.scalar(select(OrgNode).where(OrgNode.code == "SZ01"))
    building = await session.scalar(select(OrgNode).where(OrgNode.code == "SZ01-B1"))
    if project is None or building is None:
        return
    day = await today(session)
    company = await companies.create_company(session, authz, CompanyCreate(
        name="阳光物业服务有限公司 Sunshine Property Services", credit_code="91440300MA5DEMO01X",
        contact_name="赵经理 Manager Zhao", contact_phone="0755-8888 0000"))
    await companies.create_contract(session, authz, ContractCreate(
        project_id=project.id, company_id=company.id, starts_on=date(2025, 12, 1), ends_on=date(2028, 11, 30),
        scope=["move_in_renovation", "security", "cleaning", "greening", "facilities", "maintenance"]))
    await coordination.create_entry(session, authz, EntryCreate(
        project_id=project.id, held_on=day - timedelta(days=3), form=CoordinationForm.meeting,
        topics="入住装修管理、地下车库照明 Renovation control, car-park lighting",
        our_attendees=["王经理 Manager Wang"], their_attendees=["赵经理 Manager Zhao"],
        decisions="车库照明两周内修复 Car-park lighting fixed within two weeks",
        actions=[ActionIn(description="修复B1车库照明 Fix the B1 car-park lighting", owner=Party.property_company,
                          owner_name="赵经理 Manager Zhao", due_on=day + timedelta(days=11))]))
    unit = await session.scalar(select(Unit).where(Unit.building_id == building.id, Unit.number == "601"))
    if unit is not None:
        order = await repairs.create_repair(session, authz, RepairCreate(
            unit_id=unit.id, category="waterproofing",
            description="主卫天花渗水 Water seeping through the master bathroom ceiling"))
        await repairs.assign(session, authz, order, project.path, AssignIn(assignee=Assignee.property_company,
                                                                           company_id=company.id))
    await committee.create_case(session, authz, CommitteeCreate(
        project_id=project.id, subdistrict_office="南山区粤海街道办事处 Yuehai sub-district office",
        subdistrict_contact="陈主任 Director Chen, 0755-2600 0000",
        preparation_group=["王经理 Manager Wang", "赵经理 Manager Zhao", "业主代表 Owners' representative"]))
