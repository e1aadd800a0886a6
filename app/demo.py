"""The demo tenant that `make run` seeds: a development group with believable data, and
the accounts and OAuth clients to try every sign-in flow with.

Demo credentials are for a local evaluation only; the confidential client's secret is
written to ``<data dir>/demo-credentials.txt`` because it is shown only once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, AccountKind, ClientKind
from app.auth.scopes import PLATFORM_SCOPES, TENANT_SCOPES
from app.auth.services import create_account, create_client
from app.config import Settings
from app.core.audit import Actor
from app.core.clock import utcnow
from app.core.db import Database
from app.core.manifest import load
from app.domains import domains
from app.domains.access.authz import trusted
from app.domains.access.services import grant_by_code
from app.domains.org.models import UnitStatus
from app.domains.org.schemas import BranchCreate, BuildingCreate, ProjectCreate, UnitCreate
from app.domains.org.services import create_branch, create_building, create_project, create_unit, get_root
from app.tenants.models import Tenant, schema_name
from app.tenants.schemas import TenantCreate
from app.tenants.services import create_tenant

BRANCHES = [
    ("SZ", "深圳分公司 Shenzhen Branch", "Shenzhen and Dongguan projects."),
    ("GZ", "广州分公司 Guangzhou Branch", "Guangzhou and Foshan projects."),
]
# branch code -> projects: (code, name, description, handover date). One handed over (customer
# affairs is responsible), the others not yet, one without a date (still selling).
PROJECTS: dict[str, list[tuple[str, str, str, date | None]]] = {
    "SZ": [("SZ01", "阳光花园 Sunshine Garden", "南山区 Nanshan, 2 high-rises.", date(2025, 12, 28)),
           ("SZ02", "阳光·滨海湾 Sunshine Bay", "宝安区 Bao'an, sea-view flats.", date(2027, 6, 30))],
    "GZ": [("GZ01", "翠湖苑 Jade Lake Court", "天河区 Tianhe, garden flats.", date(2026, 9, 30)),
           ("GZ02", "云山壹号 Cloud Hill No. 1", "白云区 Baiyun, pre-sale.", None)],
}
FLOORS = 6
# per flat of a floor: (suffix, layout, area in m²)
FLATS = [("01", "3室2厅2卫", "118.60"), ("02", "2室2厅1卫", "89.35")]

STAFF = ("manager", "Sunshine-Staff-2026")
# Holds every other role of the group where workflows look for it (see _seed_role_holders): the
# approver of what the manager proposes, since no one decides their own request.
SUPERVISOR = ("supervisor", "Sunshine-Staff-2026")
OWNER = ("owner", "Sunshine-Home-2026")
OPERATOR = ("admin", "Sunshine-Ops-2026")
# Fixed so that a person trying the demo can add it to an authenticator app once.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPCORNERSTONEDEMOS"  # noqa: S105 - the demo's, published in README.md
MOBILE_CLIENT = "demo-mobile"
PARTNER_CLIENT = "demo-partner"
# What a partner front end (a sales office, a call-centre desk) is granted: the group's records
# and workflows; not identity or access administration, nor an owner's own scope.
PARTNER_SCOPES = sorted(s for s in TENANT_SCOPES
                        if s not in {"owner:self", "account:self"} and not s.startswith(("identity:", "access:")))
CONSOLE_CLIENT = "platform-console"
MOBILE_REDIRECTS = ["com.sunshine.app:/oauth/callback", "http://127.0.0.1:8765/callback"]


@dataclass(frozen=True)
class DemoPeople:
    """Who a domain's demo records may name: the demo's staff account (``manager``, group
    administrator) and its home owner (``owner``, a customer with a unit in SZ01)."""

    staff_id: uuid.UUID
    owner_id: uuid.UUID


def credentials_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-credentials.txt"


async def seed_demo(db: Database, slug: str, actor: Actor, settings: Settings | None = None) -> bool:
    """Create the demo tenant, its data, accounts and clients; False when it already exists."""
    async with db.platform_transaction() as session:
        session.info["actor"] = actor
        if await session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
            return False
        tenant = await create_tenant(session, TenantCreate(slug=slug,
                                                           display_name="阳光地产集团 Sunshine Property Group"))
        staff = await create_account(session, tenant_id=tenant.id, kind=AccountKind.staff, username=STAFF[0],
                                     display_name="王经理 Manager Wang", password=STAFF[1],
                                     scopes=sorted(TENANT_SCOPES - {"owner:self"}), email="manager@example.com")
        staff.totp_secret, staff.totp_confirmed_at = DEMO_TOTP_SECRET, utcnow()
        staff_id = staff.id
        supervisor = await create_account(session, tenant_id=tenant.id, kind=AccountKind.staff,
                                          username=SUPERVISOR[0], display_name="赵主管 Supervisor Zhao",
                                          password=SUPERVISOR[1], scopes=sorted(TENANT_SCOPES - {"owner:self"}),
                                          email="supervisor@example.com")
        supervisor.totp_secret, supervisor.totp_confirmed_at = DEMO_TOTP_SECRET, utcnow()
        supervisor_id = supervisor.id
        owner = await create_account(session, tenant_id=tenant.id, kind=AccountKind.owner, username=OWNER[0],
                                     display_name="李业主 Owner Li", password=OWNER[1], scopes=["owner:self"],
                                     email="owner@example.com")
        owner_id = owner.id
        await create_client(session, tenant_id=tenant.id, name="阳光生活 Sunshine Life (mobile)",
                            kind=ClientKind.public, redirect_uris=MOBILE_REDIRECTS,
                            allowed_scopes=sorted(TENANT_SCOPES), first_party=True, client_id=MOBILE_CLIENT)
        _, secret = await create_client(session, tenant_id=tenant.id, name="Sales office system",
                                        kind=ClientKind.confidential, redirect_uris=[],
                                        allowed_scopes=PARTNER_SCOPES, client_id=PARTNER_CLIENT)
        if not await session.scalar(select(Account.id).where(Account.tenant_id.is_(None),
                                                             Account.username == OPERATOR[0])):
            operator = await create_account(session, tenant_id=None, kind=AccountKind.operator,
                                            username=OPERATOR[0], display_name="Platform operator",
                                            password=OPERATOR[1], scopes=sorted(PLATFORM_SCOPES))
            operator.totp_secret, operator.totp_confirmed_at = DEMO_TOTP_SECRET, utcnow()
            await create_client(session, tenant_id=None, name="Platform console", kind=ClientKind.public,
                                redirect_uris=["http://127.0.0.1:8765/callback"],
                                allowed_scopes=sorted(PLATFORM_SCOPES), first_party=True,
                                client_id=CONSOLE_CLIENT)
    async with db.tenant_transaction(schema_name(slug)) as session:
        session.info["actor"] = actor
        root = await get_root(session)
        # The demo manager administers the whole group (the partner client acts for it anyway).
        await grant_by_code(session, account_id=staff_id, role_code="group_admin", node=root)
        await _seed_tree(session)
        await _seed_customers(session, owner_id)
        await _seed_archives(session)
        await _seed_relations(session)
        people = DemoPeople(staff_id=staff_id, owner_id=owner_id)
        for domain in domains():
            if domain.demo:
                await load(domain.demo)(session, people)
        await _seed_role_holders(session, supervisor_id)
        await _seed_grade_summary(session)
    if settings is not None and secret:
        path = credentials_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{PARTNER_CLIENT} {secret}\n")
        path.chmod(0o600)
    return True


async def _seed_role_holders(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Every role the group has, held by the supervisor where it is looked for, so that every
    workflow runs from the demo's accounts: each role an approval chain names, at every node of
    the level the chain names (a branch's approver is found at that branch); the others at the
    first branch and its handed-over project (branch_manager at the branch, the rest at the
    project), auditor at the group. Read from the tenant, so the roles and chains a domain seeds are covered with it."""
    from app.domains.access.models import Role
    from app.domains.approvals.models import ApprovalChain
    from app.domains.org.models import NodeKind, OrgNode

    nodes = (await session.scalars(select(OrgNode).order_by(OrgNode.code))).all()
    by_kind = {kind: [n for n in nodes if n.kind == kind] for kind in NodeKind}
    wanted: set[tuple[str, uuid.UUID]] = set()
    for steps in (await session.scalars(select(ApprovalChain.steps))).all():
        for step in steps:
            if step.get("role") and step.get("at") in by_kind:
                wanted |= {(step["role"], node.id) for node in by_kind[NodeKind(step["at"])]}
    # A chain may name a role the group has not created (yet): nobody can hold that one.
    codes = set((await session.scalars(select(Role.code))).all())
    wanted = {(role, node_id) for role, node_id in wanted if role in codes}
    in_chains = {role for role, _ in wanted}
    for code in sorted(codes):
        if code in in_chains or code == "group_admin":
            continue
        at = {"branch_manager": BRANCHES[0][0], "auditor": by_kind[NodeKind.group][0].code}.get(
            code, PROJECTS[BRANCHES[0][0]][0][0])
        wanted.add((code, next(n.id for n in nodes if n.code == at)))
    by_id = {n.id: n for n in nodes}
    for code, node_id in sorted(wanted, key=lambda w: (w[0], by_id[w[1]].code)):
        await grant_by_code(session, account_id=account_id, role_code=code, node=by_id[node_id])


def _status(project_handed_over: bool, floor: int, flat: int) -> UnitStatus:
    # Believable, and the same every run: sold from the top down, the ground floor last.
    if project_handed_over:
        return UnitStatus.handed_over if floor > 1 else UnitStatus.contracted
    return [UnitStatus.contracted, UnitStatus.subscribed, UnitStatus.unsold][(floor + flat) % 3]


async def _seed_tree(session: AsyncSession) -> None:
    """Branches → projects → two buildings each → six floors of two flats, through the
    same services (and audit) as the API."""
    system = trusted()
    for code, name, description in BRANCHES:
        branch = await create_branch(session, BranchCreate(code=code, name=name, description=description))
        for p_code, p_name, p_description, handover in PROJECTS[code]:
            project = await create_project(session, system, ProjectCreate(
                branch_id=branch.id, code=p_code, name=p_name, description=p_description, handover_date=handover))
            handed_over = handover is not None and handover <= utcnow().date()
            for b in (1, 2):
                building = await create_building(session, system, BuildingCreate(
                    project_id=project.id, code=f"{p_code}-B{b}", name=f"{b}栋 Building {b}"))
                for floor in range(1, FLOORS + 1):
                    for i, (suffix, layout, area) in enumerate(FLATS):
                        await create_unit(session, system, UnitCreate(
                            building_id=building.id, number=f"{floor}{suffix}", floor=floor, layout=layout,
                            area=area, status=_status(handed_over, floor, i)))


def _demo_id(region: str, born: str, seq: int) -> str:
    """A resident ID number of the demo: the sequence 9xx marks it made up; the check character is valid."""
    from app.core.pii import id_check_character

    first17 = f"{region}{born}{900 + seq:03d}"
    return first17 + id_check_character(first17)


async def _seed_customers(session: AsyncSession, owner_id: Any) -> None:
    """A few customers through the customers service: an owner (the demo owner's account), a
    co-owner, a prospect with a subscription, a walk-in prospect, an enterprise with a shop.
    Phone numbers are 1390000xxxx and ID numbers have the sequence 9xx: plainly made up."""
    import msgspec

    from app.domains.customers.schemas import CustomerCreate
    from app.domains.customers.services import create_customer
    from app.domains.org.models import OrgNode, Unit

    async def unit(building: str, number: str) -> str:
        return str(await session.scalar(select(Unit.id).join(OrgNode, OrgNode.id == Unit.building_id)
                                        .where(OrgNode.code == building, Unit.number == number)))

    async def node(code: str) -> str:
        return str(await session.scalar(select(OrgNode.id).where(OrgNode.code == code)))

    marketing = {"kind": "marketing", "purpose": "节日关怀与社区活动通知 Holiday care and events", "channel": "paper"}
    customers: list[dict[str, Any]] = [
        {"kind": "person", "name": "李建国", "gender": "male", "phone": "13900000001",
         "idNumber": _demo_id("440305", "19780312", 1), "address": "广东省深圳市南山区阳光花园1栋601",
         "email": "owner@example.com", "occupation": "工程师", "interests": ["高尔夫", "摄影"],
         "source": "售楼处来访 Sales office visit", "purpose": "购房合同履行与交付服务 Contract and handover service",
         "accountId": str(owner_id), "consents": [marketing],
         "units": [{"unitId": await unit("SZ01-B1", "601"), "stage": "contract", "paymentMethod": "mortgage",
                    "amount": "3280000.00", "contractNumber": "SZ01-HT-2024-0601", "subscribedOn": "2024-03-02",
                    "contractedOn": "2024-03-16"}]},
        {"kind": "person", "name": "陈静", "gender": "female", "phone": "13900000002",
         "idNumber": _demo_id("440305", "19810923", 2), "source": "售楼处来访 Sales office visit",
         "purpose": "共有产权人登记 Co-owner registration",
         "units": [{"unitId": await unit("SZ01-B1", "601"), "role": "co_owner", "stage": "contract"}]},
        {"kind": "person", "name": "王芳", "gender": "female", "phone": "13900000003",
         "idNumber": _demo_id("440106", "19900517", 3), "occupation": "教师",
         "source": "线上直播看房 Online viewing", "purpose": "认购与签约服务 Subscription and contract",
         "units": [{"unitId": await unit("SZ02-B1", "302"), "stage": "subscription",
                    "paymentMethod": "provident_fund", "amount": "2150000.00", "subscribedOn": "2026-10-08"}]},
        {"kind": "person", "name": "张伟", "gender": "male", "phone": "13900000004", "interests": ["学区房"],
         "source": "老客户推荐 Referral", "purpose": "新项目开盘通知 Launch notices", "nodeId": await node("GZ")},
        {"kind": "enterprise", "name": "深圳前海云帆科技有限公司", "industry": "软件和信息技术服务", "size": "small",
         "creditRating": "AA", "bankName": "招商银行深圳前海分行", "bankAccount": "755900000000001",
         "taxId": "91440300MA5DEMO001", "phone": "13900000005",
         "address": "广东省深圳市南山区前海深港合作区前湾一路1号",
         "source": "商铺招商会 Retail leasing fair", "purpose": "商铺销售与发票 Shop sale and invoicing",
         "contacts": [{"name": "刘洋", "title": "行政总监", "phone": "13900000006"}],
         "units": [{"unitId": await unit("GZ01-B2", "102"), "stage": "contract", "paymentMethod": "full",
                    "amount": "4600000.00"}]},
    ]
    for data in customers:
        await create_customer(session, trusted(), msgspec.convert(data, CustomerCreate))


async def _seed_archives(session: AsyncSession) -> None:
    """The first owner's archive volume, its contents list and remarks sheet filled in, waiting
    for its pages to be scanned in (POST /api/v1/archives/volumes/{id}/pages)."""
    import msgspec

    from app.domains.archives import services as archives
    from app.domains.archives.models import RetentionPeriod
    from app.domains.archives.schemas import ContentsIn, RemarksIn, VolumeCreate
    from app.domains.customers.models import Customer, CustomerUnit
    from app.domains.org.models import OrgNode

    customer, path = (await session.execute(select(Customer, OrgNode.path).join(
        OrgNode, OrgNode.id == Customer.node_id).where(Customer.name == "李建国"))).one()
    units = (await session.scalars(select(CustomerUnit.unit_id).where(CustomerUnit.customer_id == customer.id))).all()
    volume = await archives.create_volume(session, trusted(), VolumeCreate(
        customer_id=customer.id, title="李建国 阳光花园1栋601 购房及交付档案",
        responsible_party="客户事务部 Customer affairs",
        retention=RetentionPeriod.years_30, unit_ids=list(units)))
    items = [("认购书 Subscription agreement", "SZ01-RG-2024-0601", "2024-03-02", 1, 2),
             ("商品房买卖合同 Sale contract", "SZ01-HT-2024-0601", "2024-03-16", 3, 8),
             ("交付验收单 Handover inspection", "SZ01-JF-2025-0601", "2025-12-28", 9, 9)]
    await archives.put_contents(session, trusted(), volume, path, msgspec.convert({"items": [
        {"responsibleParty": "销售部 Sales", "title": title, "documentNumber": number, "date": day, "pageFrom": first,
         "pageTo": last} for title, number, day, first, last in items]}, ContentsIn))
    await archives.put_remarks(session, trusted(), volume, path, RemarksIn(
        notes="待扫描：共9页。 To be scanned: 9 pages.", compiler="王档案", compiled_on=date(2026, 1, 8)))


async def _seed_relations(session: AsyncSession) -> None:
    """A visit planned for next week, a call from a prospect, the Mid-Autumn gift plan, the
    handed-over project's return visits with the first owner's answers, and everyone graded."""
    from datetime import timedelta

    import msgspec

    from app.domains.customers.models import Customer
    from app.domains.grading.services import recompute
    from app.domains.interactions import services as interactions
    from app.domains.interactions.schemas import CallCreate, GiftPlanCreate, VisitCreate
    from app.domains.org.models import OrgNode
    from app.domains.surveys import services as surveys
    from app.domains.surveys.models import Question, Questionnaire, ReturnVisitTarget
    from app.domains.surveys.schemas import PlanCreate, ResultCreate

    system, now = trusted(), utcnow()

    async def customer(name: str) -> Customer:
        return (await session.scalars(select(Customer).where(Customer.name == name))).one()

    async def node(code: str) -> Any:
        return await session.scalar(select(OrgNode.id).where(OrgNode.code == code))

    await interactions.create_visit(session, system, VisitCreate(
        customer_id=(await customer("王芳")).id, purpose="签约前拜访：贷款方案与交房时间 Pre-contract visit",
        planned_at=now + timedelta(days=7), location="阳光·滨海湾售楼处 Sunshine Bay sales office"))
    await interactions.create_call(session, system, msgspec.convert({
        "direction": "inbound", "startedAt": (now - timedelta(days=2)).isoformat(), "durationSeconds": 320,
        "subject": "咨询云山壹号开盘时间 Cloud Hill launch date", "customerId": str((await customer("张伟")).id),
        "outcome": {"kind": "callback", "callbackAt": (now + timedelta(days=3)).isoformat()}}, CallCreate))
    await interactions.create_gift_plan(session, system, msgspec.convert({
        "nodeId": str(await node("SZ")), "title": "2026 中秋业主关怀 Mid-Autumn owner care",
        "occasion": "中秋节 Mid-Autumn",
        "items": [{"item": "月饼礼盒 Mooncakes", "quantity": 200, "unitValue": "188.00"}]},
        GiftPlanCreate))
    plan = await surveys.create_plan(session, system, msgspec.convert({
        "nodeId": str(await node("SZ01")), "title": "交付后三十天回访 30 days after handover", "method": "phone",
        "dueOn": (now + timedelta(days=30)).date().isoformat(), "filters": {"hasUnits": True}}, PlanCreate))
    questionnaire = (await session.scalars(select(Questionnaire))).one()  # the standard one, seeded
    owner = await customer("李建国")
    target = await session.scalar(select(ReturnVisitTarget.id).where(ReturnVisitTarget.plan_id == plan.id,
                                                                     ReturnVisitTarget.customer_id == owner.id))
    questions = (await session.scalars(select(Question).where(Question.questionnaire_id == questionnaire.id)
                                       .order_by(Question.position))).all()
    scores = {"product_quality": 4, "service": 5, "price": 3, "overall": 4}
    await surveys.create_result(session, system, msgspec.convert({
        "customerId": str(owner.id), "questionnaireId": str(questionnaire.id), "method": "phone",
        "targetId": str(target), "answers": [
            {"questionId": str(q.id), "score": scores[q.dimension.value]} if q.dimension else
            {"questionId": str(q.id), "text": "希望小区增加充电桩 More EV chargers, please"} for q in questions]},
        ResultCreate))
    await recompute(session)


async def _seed_grade_summary(session: AsyncSession) -> None:
    """The group's grade summary table prepared for sign-off (seed 002), waiting for the
    sales management manager's check: once the role holders exist, whom its chain needs."""
    from app.domains.grading.schemas import GradeSummaryIn
    from app.domains.grading.services import summaries

    await summaries.prepare_summary(session, trusted(), GradeSummaryIn(title="客户等级管理汇总表 Grade summary table"))


def print_demo_help(console: Any, settings: Settings, base: str) -> None:
    tenant = settings.demo_tenant
    path = credentials_file(settings)
    secret = path.read_text().split()[1] if path.exists() else "<see demo-credentials.txt>"
    console.print(f"""
[bold]Cornerstone is starting on {base}[/bold]  (docs: {base}/docs)
Demo tenant [bold]{tenant}[/bold]:
  staff   {STAFF[0]} / {STAFF[1]}   TOTP secret {DEMO_TOTP_SECRET}   (group administrator)
  staff   {SUPERVISOR[0]} / {SUPERVISOR[1]}   same TOTP secret   (every other role: approves what {STAFF[0]} proposes)
  owner   {OWNER[0]} / {OWNER[1]}
  mobile app (public, code + PKCE): client_id {MOBILE_CLIENT}, redirect {MOBILE_REDIRECTS[1]}
  partner (confidential, client credentials):
    curl -s -u {PARTNER_CLIENT}:{secret} -d grant_type=client_credentials -d "scope=org:read complaints:write" \\
         {base}/oauth/token
    (scopes it may ask for: {" ".join(PARTNER_SCOPES)}; docs/partners.md)
  operator {OPERATOR[0]} / {OPERATOR[1]} (same TOTP secret) through client {CONSOLE_CLIENT}
Or mint a token directly (as the CLI client itself, i.e. a client token acting for the group;
a user subject sees only what their roles grant):
  TOKEN=$(.venv/bin/cornerstone tokens mint --tenant {tenant} --subject cornerstone-cli)
  curl -H "Authorization: Bearer $TOKEN" {base}/api/v1/org/branches
""")
