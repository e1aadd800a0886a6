"""What a new tenant starts with in property management: the standard handover checklist (walls,
doors and windows, plumbing, electrical, waterproofing…), the routine supervision checklist, the
statutory minimum warranty periods at the group node (PRC Regulation on the Quality Management
of Construction Projects, art. 40), and the role that does the work. All of it is the group's to
edit; an existing checklist or period (by code/category) is left as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.domains.access.authz import trusted
from app.domains.access.models import Role
from app.domains.access.schemas import RoleCreate, RoleUpdate
from app.domains.access.services import ensure_roles, update_role
from app.domains.org.models import NodeKind, OrgNode
from app.domains.property.models import Checklist, ChecklistKind, WarrantyPeriod
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant

CHECKLISTS = [
    (ChecklistKind.handover, "handover_standard", "交付验收 Standard handover inspection", [
        ("walls", "墙面 Walls and ceilings"), ("floors", "地面 Floors"),
        ("doors_windows", "门窗 Doors and windows"), ("plumbing", "给排水 Plumbing"),
        ("electrical", "电气 Electrical and lighting"), ("waterproofing", "防水 Waterproofing (wet rooms, balcony)"),
        ("heating", "供暖 Heating"), ("fixtures", "设施部品 Fixtures and fittings"),
    ]),
    (ChecklistKind.supervision, "supervision_routine", "物业日常检查 Routine property inspection", [
        ("security", "保安服务 Security"), ("cleaning", "保洁服务 Cleaning"), ("greening", "绿化服务 Greening"),
        ("facilities", "设备设施 Facilities and equipment"),
        ("renovation_control", "入住及装修管理 Move-in and renovation control"),
        ("service_desk", "客服响应 Service desk and response to owners"),
    ]),
]

# Art. 40: the minimum warranty periods under normal use.
PERIODS = [
    ("structure", "地基基础和主体结构 Foundations and main structure", 600,
     "Art. 40(1): the design life of the building (50 years for an ordinary residential building)."),
    ("waterproofing", "屋面防水及有防水要求的卫生间、房间和外墙面 Waterproofing", 60,
     "Art. 40(2): 5 years for roofing, rooms with waterproofing requirements and exterior walls."),
    ("heating_cooling", "供热与供冷系统 Heating and cooling", 24,
     "Art. 40(3): 2 heating or cooling seasons."),
    ("electrical", "电气管线 Electrical wiring", 24, "Art. 40(4): 2 years for electrical pipes and wiring."),
    ("plumbing", "给排水管道、设备安装 Plumbing and equipment installation", 24,
     "Art. 40(4): 2 years for water supply and drainage pipes and equipment installation."),
    ("decoration", "装修工程 Decoration", 24, "Art. 40(4): 2 years for decoration works."),
]

ROLES = [
    RoleCreate(code="property_officer", name="物业协调专员 Property coordination officer",
               description="Hands homes over, works warranty repairs, keeps the coordination log with the property "
                           "company, inspects it and follows the owners' committee in the node's projects.",
               permissions=["approvals.read", "customers.read", "org.read", "property.read", "property.write"]),
]
MANAGER_ROLE = "customer_affairs_manager"  # signs off the replacement of the property company
MANAGER_PERMISSIONS = {"property.read", "property.write", "org.read"}


@seeder("property.roles", since="0011_property", every_migration=True)
async def seed_roles(session: AsyncSession, tenant: Tenant) -> None:
    await ensure_roles(session, ROLES)


@seeder("property.defaults", since="0011_property")
async def seed_defaults(session: AsyncSession, tenant: Tenant) -> None:
    codes = set((await session.scalars(select(Checklist.code))).all())
    for kind, code, name, items in CHECKLISTS:
        if code not in codes:
            checklist = Checklist(kind=kind, code=code, name=name, items=[{"code": c, "label": label}
                                                                         for c, label in items])
            session.add(checklist)
            await session.flush()
            await audit.record(session, action="property.checklist.create", entity_type="property_checklist",
                               entity_id=checklist.id, after={"code": code, "items": checklist.items})
    root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
    if root is not None:
        have = set((await session.scalars(select(WarrantyPeriod.category)
                                          .where(WarrantyPeriod.node_id == root.id))).all())
        for category, name, months, basis in PERIODS:
            if category not in have:
                period = WarrantyPeriod(node_id=root.id, category=category, name=name, months=months, basis=basis)
                session.add(period)
                await session.flush()
                await audit.record(session, action="property.warranty_period.create", entity_type="warranty_period",
                                   entity_id=period.id, after={"category": category, "months": months})
    manager = await session.scalar(select(Role).where(Role.code == MANAGER_ROLE))
    if manager is not None and not MANAGER_PERMISSIONS <= set(manager.permissions):
        await update_role(session, trusted(), manager, RoleUpdate(
            permissions=sorted(set(manager.permissions) | MANAGER_PERMISSIONS)))
