"""What the group and its customers prefer: the group's quiet hours (a tenant setting, in its
time zone) and each customer's care channels in order of preference (with an owner's own quiet
hours, which the owner sets from the app: own.py)."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, tenant_settings
from app.domains.access.authz import Authorizer
from app.domains.care.models import CarePreference
from app.domains.care.schemas import PreferenceIn, PreferenceOut, QuietHours, QuietHoursOut
from app.domains.care.wechat import is_bound
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer
from app.domains.org import services as org
from app.tenants.bound import time_zone

READ, CONFIGURE = "care.read", "care.configure"
CUSTOMERS_WRITE = "customers.write"
PREFERENCE = "care_preference"

QUIET = tenant_settings.declare(
    "care.quiet_hours", {"start": "21:00:00", "end": "08:00:00"},
    "When no care message goes out, in the group's time zone; messages due meanwhile wait until it ends.")


async def quiet_hours(session: AsyncSession, *, lock: bool = False) -> tuple[QuietHours, int]:
    value, version = await tenant_settings.get(session, QUIET, lock=lock)
    return msgspec.convert(value, QuietHours), version


async def quiet_out(session: AsyncSession, hours: QuietHours) -> QuietHoursOut:
    return QuietHoursOut(start=hours.start, end=hours.end, time_zone=await time_zone(session))


async def read_quiet(session: AsyncSession, authz: Authorizer) -> tuple[QuietHoursOut, int]:
    authz.require_anywhere(READ)
    hours, version = await quiet_hours(session)
    return await quiet_out(session, hours), version


async def lock_quiet(session: AsyncSession, authz: Authorizer) -> int:
    """The setting's version, locked, for a caller allowed to change it (at the group node)."""
    authz.require(CONFIGURE, (await org.get_root(session)).path)
    return (await quiet_hours(session, lock=True))[1]


async def set_quiet(session: AsyncSession, data: QuietHours) -> tuple[QuietHoursOut, int]:
    version = await tenant_settings.put(session, QUIET, msgspec.to_builtins(data))
    return await quiet_out(session, data), version


async def preference_of(session: AsyncSession, customer_id: uuid.UUID, *,
                        lock: bool = False) -> CarePreference | None:
    """The customer's preference (the latest changed one after a merge)."""
    stmt = (select(CarePreference).where(CarePreference.customer_id == customer_id)
            .order_by(CarePreference.updated_at.desc(), CarePreference.id.desc()).limit(1))
    return await session.scalar(stmt.with_for_update() if lock else stmt)


def own_quiet(p: CarePreference | None) -> QuietHours | None:
    """The customer's own quiet hours, if they set any."""
    if p is None or p.quiet_start is None or p.quiet_end is None:
        return None
    return QuietHours(start=p.quiet_start.isoformat("seconds"), end=p.quiet_end.isoformat("seconds"))


async def own_quiet_out(session: AsyncSession, p: CarePreference | None) -> QuietHoursOut | None:
    hours = own_quiet(p)
    return None if hours is None else await quiet_out(session, hours)


async def preference_out(session: AsyncSession, customer: Customer, p: CarePreference | None) -> PreferenceOut:
    return PreferenceOut(customer_id=customer.id, channels=list(p.channels) if p else [],
                         quiet_hours=await own_quiet_out(session, p),
                         wechat_bound=await is_bound(session, customer.account_id),
                         updated_at=p.updated_at if p else None, version=p.version if p else 0)


async def get_preference(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, *,
                         lock: bool = False) -> tuple[Customer, CarePreference | None]:
    """For a caller who reads the customer (404 otherwise); ``lock`` for a change, which needs
    ``customers.write`` at the customer's node."""
    customer, node = await customer_for(session, authz, customer_id, READ if not lock else CUSTOMERS_WRITE,
                                        lock=lock)
    if lock:
        authz.require(CUSTOMERS_WRITE, node.path)
    return customer, await preference_of(session, customer.id, lock=lock)


async def set_preference(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID,
                         current: CarePreference | None, data: PreferenceIn,
                         quiet: QuietHours | None | msgspec.UnsetType = msgspec.UNSET) -> CarePreference:
    """Set the channels (and, from the owner's app, ``quiet``: their own quiet hours or none)."""
    channels: list[str] = list(dict.fromkeys(data.channels))
    before = audit.snapshot(current) if current is not None else None
    if current is None:
        current = CarePreference(customer_id=customer_id, channels=channels, updated_by=authz.principal.subject)
        session.add(current)
    else:
        current.channels, current.updated_by = channels, authz.principal.subject
    if not isinstance(quiet, msgspec.UnsetType):
        current.quiet_start, current.quiet_end = quiet.times() if quiet is not None else (None, None)
    await session.flush()
    await session.refresh(current)
    await audit.record(session, action="care.preference.set", entity_type=PREFERENCE, entity_id=current.id,
                       before=before, after=audit.snapshot(current))
    return current
