"""What the care domain holds about a person (app/core/personal.py): the care messages sent to
them (which rule, which occasion, through which channel, when; the text is the rule's), and
the WeChat openid an owner bound in the app (sealed; kept per owner account)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.personal import Erasure, Holding, PersonalData, rows_holding, sealed_column
from app.domains.care.models import CareMessage, WechatBinding
from app.domains.care.wechat import OPENID
from app.domains.customers.models import Customer


def _bindings_of(customer_id: uuid.UUID) -> Any:
    account = select(Customer.account_id).where(Customer.id == customer_id).scalar_subquery()
    return WechatBinding.account_id == account


async def _collect_wechat(session: AsyncSession, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    from app.core.keystore import tenant_keys

    rows = (await session.scalars(select(WechatBinding).where(_bindings_of(customer_id)))).all()
    keys = await tenant_keys(session) if rows else None
    return [{"openid": keys.open(OPENID, b.openid_sealed) if keys else None, "boundAt": b.bound_at.isoformat()}
            for b in rows]


async def _erase_wechat(session: AsyncSession, customer_id: uuid.UUID) -> Erasure:
    # Unbinding is all there is to anonymise: the row is the openid.
    ids = (await session.scalars(select(WechatBinding.id).where(_bindings_of(customer_id)))).all()
    if ids:
        await session.execute(delete(WechatBinding).where(WechatBinding.id.in_(ids)))
    return Erasure(kind="care.wechat", anonymised=len(ids))


PERSONAL = PersonalData(holdings=(
    rows_holding("care.messages", "Care messages sent to the person: rule, occasion, channel, when.", CareMessage,
                 show=("rule_id", "occasion", "channel", "sent_at"),
                 keep="a sent message holds no content, only which greeting went out when: it is what keeps a "
                      "greeting from being sent twice"),
    Holding("care.wechat", "The WeChat openid the owner bound in the app for care messages, and when.",
            _collect_wechat, _erase_wechat),
), sealed=(sealed_column(WechatBinding, "openid_sealed", OPENID),))
