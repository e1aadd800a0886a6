"""The demo tenant's in-sale orders and call quality: the demo owner's parking-space order
confirmed and in progress (a milestone sent to them), their fit-out package delivered with
their feedback, a prospect's order still waiting for confirmation; the logged call evaluated
by the demo's manager against the seeded scorecard."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.authz import SYSTEM_PRINCIPAL, Authorizer, trusted
from app.domains.customers.models import Customer
from app.domains.interactions.models import Call
from app.domains.service import orders, quality
from app.domains.service.models import Inspection, OrderKind
from app.domains.service.schemas import (
    ConfirmIn,
    DeliveryIn,
    EvaluationCreate,
    FeedbackIn,
    MarkIn,
    OrderCreate,
    ProgressIn,
)


async def seed_demo(session: AsyncSession, people: Any) -> None:
    system = trusted()
    owner = await session.scalar(select(Customer).where(Customer.account_id == people.owner_id))
    if owner is not None:
        parking = await orders.receive(session, system, OrderCreate(
            customer_id=owner.id, kind=OrderKind.parking, item="地下车位 B2-118 Parking space B2-118",
            amount="180000.00", channel="sales_office"))
        await orders.confirm(session, system, parking, "", ConfirmIn(note="车位已锁定 Space held"))
        await orders.post_progress(session, system, parking, "", ProgressIn(
            milestone="车位合同已备案 Parking contract registered", note="产权证办理中 Title in progress"))
        fit_out = await orders.receive(session, system, OrderCreate(
            customer_id=owner.id, kind=OrderKind.fit_out, item="精装升级包 Fit-out upgrade package",
            amount="68000.00", channel="app"))
        await orders.confirm(session, system, fit_out, "", ConfirmIn())
        await orders.deliver(session, system, fit_out, "", DeliveryIn(
            inspection=Inspection.accepted, notes="业主验收完好 Inspected with the owner: intact",
            feedback=FeedbackIn(rating=5, comment="安装及时，师傅专业 On time and professional")))
    prospect = await session.scalar(select(Customer).where(Customer.account_id.is_(None))
                                    .order_by(Customer.number).limit(1))
    if prospect is not None:
        await orders.receive(session, system, OrderCreate(
            customer_id=prospect.id, kind=OrderKind.unit, item="认购 3号楼 1203 Subscription of 3-1203",
            channel="sales_office"))
    call = await session.scalar(select(Call).order_by(Call.started_at).limit(1))
    if call is not None:
        manager = Authorizer(principal=msgspec.structs.replace(SYSTEM_PRINCIPAL, subject=str(people.staff_id)),
                             whole_group=True)
        card, _ = await quality.read_scorecard(session, system)
        marks = [MarkIn(code=c.code, rating=4 if c.code != "feedback" else 3) for c in card.criteria]
        await quality.evaluate(session, manager, EvaluationCreate(
            call_id=call.id, marks=marks, comment="问候规范，回访时间未告知客户 Polite; no callback time given"))
