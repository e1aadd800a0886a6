"""Owners' WeChat bindings: the openid of an owner for the group's official account, bound from
the owner's app (binding is where the owner agrees to template messages; unbinding withdraws
that), so that care campaigns can reach them by WeChat template message.

The openid is personal data: stored sealed with the tenant's key and found by its blind index,
which is unique, so an openid belongs to one owner of the tenant (409 for another). Staff see
only whether an owner is bound (``PreferenceOut.wechat_bound``), never the openid.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.keystore import tenant_keys
from app.core.problems import ProblemError, field_error
from app.domains.access.authz import Authorizer
from app.domains.care.models import WechatBinding
from app.domains.care.schemas import WechatBindIn, WechatBindingOut

OPENID = "care_wechat_bindings.openid"  # the sealed field's name (its associated data)
IX_OPENID = "wechat_openid"  # its blind-index namespace
ENTITY = "care_wechat_binding"


def owner_of(authz: Authorizer) -> uuid.UUID:
    owner = authz.owner_id
    if owner is None:  # owner:self on a token that is no owner account's: no owner to find
        raise ProblemError("not-found", "No home owner account is signed in.")
    return owner


def binding_out(b: WechatBinding | None) -> WechatBindingOut:
    return WechatBindingOut(bound=b is not None, bound_at=b.bound_at if b else None, version=b.version if b else 0)


def _snapshot(b: WechatBinding) -> dict[str, Any]:
    # The openid stays out of the audit trail: whether and when, never what.
    return {"accountId": str(b.account_id), "boundAt": b.bound_at.isoformat(), "version": b.version}


async def binding_of(session: AsyncSession, account_id: uuid.UUID, *, lock: bool = False) -> WechatBinding | None:
    stmt = select(WechatBinding).where(WechatBinding.account_id == account_id)
    return await session.scalar(stmt.with_for_update() if lock else stmt)


async def is_bound(session: AsyncSession, account_id: uuid.UUID | None) -> bool:
    return account_id is not None and await session.scalar(
        select(WechatBinding.id).where(WechatBinding.account_id == account_id)) is not None


async def openid_of(session: AsyncSession, account_id: uuid.UUID) -> str | None:
    """The owner's openid, opened (for the outbox only)."""
    b = await binding_of(session, account_id)
    return None if b is None else (await tenant_keys(session)).open(OPENID, b.openid_sealed)


async def bind(session: AsyncSession, authz: Authorizer, data: WechatBindIn) -> WechatBinding:
    """Bind (or bind again, after WeChat authorised the app anew) the owner's openid."""
    owner = owner_of(authz)
    keys = await tenant_keys(session)
    index = keys.blind_index(IX_OPENID, data.openid)
    holder = await session.scalar(select(WechatBinding.account_id).where(WechatBinding.openid_index == index))
    if holder is not None and holder != owner:
        raise ProblemError("conflict", "This WeChat is bound to another owner's account; unbind it there first.",
                           errors=[field_error("openid", "bound to another owner")])
    current = await binding_of(session, owner, lock=True)
    before = _snapshot(current) if current is not None else None
    if current is None:
        current = WechatBinding(account_id=owner, openid_sealed=keys.seal(OPENID, data.openid), openid_index=index,
                                bound_at=clock.utcnow())
        session.add(current)
    else:
        current.openid_sealed, current.openid_index, current.bound_at = \
            keys.seal(OPENID, data.openid), index, clock.utcnow()
    await session.flush()
    await session.refresh(current)
    await audit.record(session, action="care.wechat.bind", entity_type=ENTITY, entity_id=current.id,
                       before=before, after=_snapshot(current))
    return current


async def unbind(session: AsyncSession, binding: WechatBinding) -> None:
    before = _snapshot(binding)
    await session.execute(delete(WechatBinding).where(WechatBinding.id == binding.id))
    await audit.record(session, action="care.wechat.unbind", entity_type=ENTITY, entity_id=binding.id,
                       before=before, after=None)
