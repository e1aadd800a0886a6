"""What a new tenant starts with in the complaints domain: the category tree (quality —
structure, waterproofing, fittings, equipment —; service; delivery; certificate; property
management; other), the roles that work complaints, and the company's supervising manager
(who approves resolution proposals, seed 004 §3.1.2) able to read the records they decide on.

A group that existed before complaints gets the same at the migration that brings them:
categories by code (a code is never changed nor deleted, so an existing one is the group's,
left as it is), the roles whose code it lacks (on every migration, like the access domain's
roles), and the approver's permissions added to the approving role (at 0015_relations too,
when the chain's approver became the company's supervising manager).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.authz import trusted
from app.domains.access.models import Role
from app.domains.access.schemas import RoleCreate, RoleUpdate
from app.domains.access.services import ensure_roles, update_role
from app.domains.complaints.models import ComplaintCategory
from app.domains.complaints.schemas import CategoryCreate
from app.domains.complaints.services import create_category
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant

# (code, name, quality, own targets in business minutes (None: inherited), children)
CATEGORIES = [
    ("QUALITY", "质量 Quality", True, (None, 4500), [
        ("STRUCTURE", "结构 Structure", (120, None)),
        ("WATERPROOFING", "防水渗漏 Waterproofing", (None, None)),
        ("FITTINGS", "装修部品 Fittings", (None, None)),
        ("EQUIPMENT", "设备设施 Equipment", (None, None)),
    ]),
    ("SERVICE", "服务态度 Service", False, (None, None), []),
    ("DELIVERY", "交付 Delivery", False, (None, None), []),
    ("CERTIFICATE", "产权证 Certificate", False, (None, None), []),
    ("PROPERTY", "物业管理 Property management", False, (None, None), []),
    ("OTHER", "其他 Other", False, (None, None), []),
]

APPROVER_ROLE = "company_supervising_manager"
APPROVER_PERMISSIONS = {"complaints.read", "complaints.supervise", "customers.read", "org.read"}

ROLES = [
    RoleCreate(code="complaint_handler", name="客诉专员 Complaint handler",
               description="Registers complaints and disputes of the node's projects and works them through the "
                           "resolution loop.",
               permissions=["approvals.read", "complaints.read", "complaints.write", "customers.read", "org.read"]),
    RoleCreate(code="complaint_supervisor", name="客户事务部主管 Complaint supervisor",
               description="Works complaints, takes them to litigation, and is told of SLA escalations at the "
                           "node where the role is held.",
               permissions=["approvals.read", "complaints.read", "complaints.supervise", "complaints.write",
                            "customers.read", "org.read"]),
]


async def _category(session: AsyncSession, existing: dict[str, ComplaintCategory],
                    data: CategoryCreate) -> ComplaintCategory:
    """The category of that code: the group's when it has one, else the default, created."""
    found = existing.get(data.code)
    return found if found is not None else await create_category(session, data)


@seeder("complaints.roles", since="0008_complaints", every_migration=True)
async def seed_roles(session: AsyncSession, tenant: Tenant) -> None:
    await ensure_roles(session, ROLES)


@seeder("complaints.defaults", since="0008_complaints")
async def seed_complaints(session: AsyncSession, tenant: Tenant) -> None:
    existing = {c.code: c for c in (await session.scalars(select(ComplaintCategory))).all()}
    for code, name, quality, (response, resolution), children in CATEGORIES:
        parent = await _category(session, existing, CategoryCreate(code=code, name=name, quality=quality,
                                                                   response_minutes=response,
                                                                   resolution_minutes=resolution))
        for child_code, child_name, (child_response, child_resolution) in children:
            await _category(session, existing, CategoryCreate(
                code=child_code, name=child_name, quality=quality, parent_id=parent.id,
                response_minutes=child_response, resolution_minutes=child_resolution))
    await _approver_reads(session)


@seeder("complaints.approver", since="0015_relations")
async def seed_approver(session: AsyncSession, tenant: Tenant) -> None:
    await _approver_reads(session)


async def _approver_reads(session: AsyncSession) -> None:
    # The approval chain's approver (made by the approvals seeder) sees the records it decides
    # on: the permissions are added, nothing else the role has is taken away or renamed.
    approver = await session.scalar(select(Role).where(Role.code == APPROVER_ROLE))
    if approver is not None and not APPROVER_PERMISSIONS <= set(approver.permissions):
        await update_role(session, trusted(), approver, RoleUpdate(
            permissions=sorted(set(approver.permissions) | APPROVER_PERMISSIONS)))
