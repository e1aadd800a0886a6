"""The care campaigns of the demo tenant: birthday greetings, the National Day greeting and the
handover anniversary; the demo owner bound their WeChat in the app and hears by WeChat
template message, then through the app, then app push, never between 22:00 and 09:00."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.domains.access.authz import Authorizer, trusted
from app.domains.care import services, wechat
from app.domains.care.preferences import set_preference
from app.domains.care.schemas import PreferenceIn, QuietHours, RuleIn, WechatBindIn
from app.domains.customers.models import Customer

RULES = [
    {"name": "生日祝福 Birthday", "occasion": "birthday", "channels": ["wechat", "app", "email"],
     "subject": "{name}，生日快乐 Happy birthday", "body": "{name}您好，阳光·悦享会祝您生日快乐！"},
    {"name": "国庆问候 National Day", "occasion": "holiday", "month": 10, "day": 1,
     "channels": ["wechat", "app", "email"],
     "subject": "{name}，国庆快乐", "body": "{name}您好，祝您和家人国庆快乐！"},
    {"name": "交付周年 Handover anniversary", "occasion": "anniversary", "channels": ["app"],
     "subject": "{name}，入住周年快乐", "body": "{name}您好，感谢您一年来的信任与陪伴。"},
]


async def seed_demo(session: AsyncSession, people: Any) -> None:
    for rule in RULES:
        await services.create_rule(session, trusted(), msgspec.convert(rule, RuleIn))
    owner = (await session.scalars(select(Customer).where(Customer.account_id == people.owner_id))).first()
    if owner is not None:
        # As the owner's app does it: bind the owner's WeChat (a made-up openid), then choose.
        app = Authorizer(principal=Principal(subject=str(people.owner_id), client_id="demo", scopes=frozenset(
            {"owner:self"}), tenant=None, token_id="", expires_at=0), account_id=people.owner_id)
        await wechat.bind(session, app, WechatBindIn(openid="oDemoOwner0000000000000000001"))
        await set_preference(session, app, owner.id, None, PreferenceIn(channels=["wechat", "app", "push"]),
                             quiet=QuietHours(start="22:00:00", end="09:00:00"))
