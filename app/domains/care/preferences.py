"""What the group and its customers prefer: the group's quiet hours (a tenant setting, in its
time zone) and each customer's care channels in order of preference."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, tenant_settings
from app.domains.access.authz import Authorizer
from app.domains.care.models import CarePreference
from app.domains.care.schemas import PreferenceIn, PreferenceOut, QuietHours, QuietHoursOut
from app.domains.customers.lookups import customer_for
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


def preference_out(customer_id: uuid.UUID, p: CarePreference | None) -> PreferenceOut:
    if p is None:
        return PreferenceOut(customer_id=customer_id, channels=[], updated_at=None, version=0)
    return PreferenceOut(customer_id=customer_id, channels=list(p.channels), updated_at=p.updated_at,
                         version=p.version)


async def get_preference(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, *,
                         lock: bool = False) -> tuple[uuid.UUID, CarePreference | None]:
    """For a caller who reads the customer (404 otherwise); ``lock`` for a change, which needs
    ``customers.write`` at the customer's node."""
    customer, node = await customer_for(session, authz, customer_id, READ if not lock else CUSTOMERS_WRITE,
                                        lock=lock)
    if lock:
        authz.require(CUSTOMERS_WRITE, node.path)
    return customer.id, await preference_of(session, customer.id, lock=lock)


async def set_preference(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID,
                         current: CarePreference | None, data: PreferenceIn) -> CarePreference:
    channels: list[str] = list(dict.fromkeys(data.channels))
    before = audit.snapshot(current) if current is not None else None
    if current is None:
        current = CarePreference(customer_id=customer_id, channels=channels, updated_by=authz.principal.subject)
        session.add(current)
    else:
        current.channels, current.updated_by = channels, authz.principal.subject
    await session.flush()
    await session.refresh(current)
    await audit.record(session, action="care.preference.set", entity_type=PREFERENCE, entity_id=current.id,
                       before=before, after=audit.snapshot(current))
    return current
