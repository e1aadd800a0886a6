"""The confidentiality register of the demo tenant: the leasing contract of the enterprise
customer handed over for review and still out, and a breach under remediation (000 §17)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.authz import trusted
from app.domains.confidentiality import services
from app.domains.confidentiality.schemas import BreachCreate, TransferCreate
from app.domains.customers.models import Customer, CustomerKind


async def seed_demo(session: AsyncSession, people: Any) -> None:
    company = await session.scalar(select(Customer).where(Customer.kind == CustomerKind.enterprise)
                                   .order_by(Customer.number).limit(1))
    if company is None:
        return
    transfer = await services.hand_over(session, trusted(), TransferCreate(
        customer_id=company.id, material="商铺买卖合同副本 Shop sale contract copy", classification="secret",
        recipient_account_id=people.staff_id, purpose="法务审核 Legal review"))
    breach = await services.report_breach(session, trusted(), BreachCreate(
        customer_id=company.id, transfer_id=transfer.id,
        description="合同副本在会议室遗留 Contract copy left in a meeting room"))
    await services.add_action(session, trusted(), breach, "", "收回副本，提醒经办人 Copy recovered, staff reminded")
