"""The club's records in the demo tenant (``make run``): 阳光·悦享会 established, the demo owner a
member with points, and a family activity published at SZ01 that the owner can register for
from the app."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.domains.access.authz import trusted
from app.domains.club import activities, clubs, members
from app.domains.club.models import ActivityStage, ClubStage, Member
from app.domains.club.schemas import ActivityCreate, ClubCreate, EntryIn, MemberCreate
from app.domains.customers.models import Customer
from app.domains.org.models import OrgNode
from app.domains.org.services import get_root


async def seed_demo(session: AsyncSession, people: Any) -> None:
    system, now = trusted(), clock.utcnow()
    root = await get_root(session)
    club = await clubs.create_club(session, system, msgspec.convert({
        "nodeId": str(root.id), "name": "阳光·悦享会 Sunshine Club",
        "purpose": "业主之家：维系业主关系，提升满意度与口碑",
        "charter": "业主及意向客户自愿入会；积分可兑换物业费与礼品；会员专属活动", "budget": "300000.00",
        "referralPoints": 500, "tiers": [{"code": "member", "name": "悦享会员", "minPoints": 0},
                                          {"code": "gold", "name": "金卡会员", "minPoints": 2000,
                                           "benefits": "专属活动优先报名"}]}, ClubCreate))
    # The demo's plan counts as approved (its chain's manager is not among the demo's people).
    before = audit.snapshot(club)
    club.stage, club.established_at = ClubStage.established, now
    await session.flush()
    await session.refresh(club)
    await audit.record(session, action="club.club.establish", entity_type=clubs.CLUB, entity_id=club.id,
                       before=before, after=audit.snapshot(club), reason="demo data")
    owner = (await session.scalars(select(Customer).where(Customer.account_id == people.owner_id))).first()
    if owner is None:
        return
    member = await members.enrol(session, system, MemberCreate(club_id=club.id, customer_id=owner.id,
                                                                birth_date=None))
    locked = await session.scalar(select(Member).where(Member.id == member.id).with_for_update())
    assert locked is not None
    await members.add_entry(session, system, locked, root.path, EntryIn(kind="earn", points=1200,
                                                                        reason="入会及签约奖励 Welcome points"))
    project = await session.scalar(select(OrgNode).where(OrgNode.code == "SZ01"))
    if project is None:
        return
    activity = await activities.create_activity(session, system, msgspec.convert({
        "clubId": str(club.id), "nodeId": str(project.id), "kind": "event", "title": "亲子烘焙日 Family baking day",
        "purpose": "增进业主互动", "content": "烘焙课程与亲子游戏", "form": "沙龙 Salon", "venue": "会所 Clubhouse",
        "startsAt": (now + timedelta(days=14)).isoformat(), "endsAt": (now + timedelta(days=14, hours=3)).isoformat(),
        "capacity": 20, "budget": [{"item": "场地", "amount": "2000.00"}, {"item": "物料", "amount": "1500.00"}]},
        ActivityCreate))
    before = audit.snapshot(activity)
    activity.stage, activity.published_at = ActivityStage.published, now  # its plan counted as approved
    await session.flush()
    await session.refresh(activity)
    await audit.record(session, action="club.activity.publish", entity_type=activities.ACTIVITY,
                       entity_id=activity.id, before=before, after=audit.snapshot(activity), reason="demo data")
