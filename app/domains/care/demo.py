"""The care campaigns of the demo tenant: birthday greetings, the National Day greeting and the
handover anniversary; the demo owner hears through the app, then app push."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.authz import trusted
from app.domains.care import services
from app.domains.care.preferences import set_preference
from app.domains.care.schemas import PreferenceIn, RuleIn
from app.domains.customers.models import Customer

RULES = [
    {"name": "生日祝福 Birthday", "occasion": "birthday", "channels": ["app", "email"],
     "subject": "{name}，生日快乐 Happy birthday", "body": "{name}您好，阳光·悦享会祝您生日快乐！"},
    {"name": "国庆问候 National Day", "occasion": "holiday", "month": 10, "day": 1, "channels": ["app", "email"],
     "subject": "{name}，国庆快乐", "body": "{name}您好，祝您和家人国庆快乐！"},
    {"name": "交付周年 Handover anniversary", "occasion": "anniversary", "channels": ["app"],
     "subject": "{name}，入住周年快乐", "body": "{name}您好，感谢您一年来的信任与陪伴。"},
]


async def seed_demo(session: AsyncSession, people: Any) -> None:
    for rule in RULES:
        await services.create_rule(session, trusted(), msgspec.convert(rule, RuleIn))
    owner = (await session.scalars(select(Customer).where(Customer.account_id == people.owner_id))).first()
    if owner is not None:
        await set_preference(session, trusted(), owner.id, None, PreferenceIn(channels=["app", "push"]))
