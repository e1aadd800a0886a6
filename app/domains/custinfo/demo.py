"""Customer information in the demo tenant: this quarter's review of the customer base open at
the group, the walk-in prospect screened, qualified and applied for (waiting for the
development supervisor), and engineering's need for opinions on the housing answered by customer affairs with a
customer's feedback, reviewed and classified."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.authz import trusted
from app.domains.access.services import grant_by_code
from app.domains.custinfo.models import InfoChannel, InfoTopic
from app.domains.custinfo.schemas import (
    DevelopmentCreate,
    ItemClassify,
    ItemCreate,
    ItemReview,
    NeedCreate,
    ProvisionCreate,
    ScreeningCreate,
)
from app.domains.custinfo.services import developments, information, reviews
from app.domains.customers.models import Customer, CustomerUnit
from app.domains.org.models import OrgNode


async def seed_demo(session: AsyncSession, people: Any) -> None:
    system = trusted()
    await reviews.scan(session)
    prospect = await session.scalar(select(Customer).where(~Customer.id.in_(select(CustomerUnit.customer_id)))
                                    .order_by(Customer.number).limit(1))
    if prospect is not None:
        screening = await developments.create_screening(session, system, msgspec.convert({
            "nodeId": str(prospect.node_id), "title": "学区房意向客户筛选 School-district prospects",
            "scope": "关注学区、首次置业的家庭客户 First-home families looking for a school district",
            "entries": [{"customerId": str(prospect.id), "qualified": True,
                         "reason": "老客户推荐，预算匹配，三个月内置业 Referred, fits the budget"}]},
            ScreeningCreate))
        # The demo manager reviews it first (000 §17: the development supervisor), so the
        # application waits in their approval inbox.
        branch = await session.get(OrgNode, prospect.node_id)
        assert branch is not None
        await grant_by_code(session, account_id=people.staff_id, role_code="development_supervisor", node=branch)
        await grant_by_code(session, account_id=people.staff_id, role_code="cs_manager", node=branch)
        await developments.create_development(session, system, DevelopmentCreate(
            screening_id=screening.id, customer_id=prospect.id, report_every_days=14,
            plan="两周内邀约参观样板间，介绍学区配套与公积金贷款方案 Show the model flat within two weeks"))
    owner = await session.scalar(select(Customer).where(Customer.account_id == people.owner_id))
    if owner is None:
        return
    project = await session.get(OrgNode, owner.node_id)
    assert project is not None
    need = await information.create_need(session, system, NeedCreate(
        node_id=project.id, department="工程部 Engineering", topic=InfoTopic.housing,
        description="业主对户型、门窗与防水的意见，用于下一期设计 Owners' opinions on layouts, windows and "
                    "waterproofing, for the next phase's design"))
    item = await information.collect_item(session, system, ItemCreate(
        node_id=project.id, customer_id=owner.id, topic=need.topic, channel=InfoChannel.visit,
        content="主卧飘窗雨天渗水，希望下一期改为落地窗 The bay window leaks in the rain; prefers French windows"))
    item = await information.review_item(session, system, item, project.path, ItemReview(accepted=True))
    item = await information.classify_item(session, system, item, project.path,
                                           ItemClassify(topic=need.topic, tags=["门窗 Windows", "渗水 Leak"]))
    await information.provide(session, system, need, project.path, ProvisionCreate(
        item_ids=[item.id], note="本季度第一批 First batch this quarter"))
