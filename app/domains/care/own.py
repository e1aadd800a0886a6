"""The owner's app (``owner:self``): how the owner wants to hear from the group's care campaigns
(their channels in order, their own quiet hours) and their WeChat binding.

An owner's preference is kept per customer record (staff see and set it there too); the owner
sets it for every live customer record of their account at once, and reads it from the first
(by number), whose version is the ETag.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import ProblemError
from app.domains.access.authz import Authorizer
from app.domains.care import wechat
from app.domains.care.models import CarePreference
from app.domains.care.preferences import own_quiet_out, preference_of, set_preference
from app.domains.care.schemas import OwnPreferenceIn, OwnPreferenceOut, PreferenceIn
from app.domains.customers.models import Customer


async def _own_customers(session: AsyncSession, authz: Authorizer, *, lock: bool = False) -> list[Customer]:
    owner = authz.owner_id
    if owner is None:
        return []
    stmt = (select(Customer).where(Customer.account_id == owner, Customer.merged_into_id.is_(None))
            .order_by(Customer.number, Customer.id))
    return list((await session.scalars(stmt.with_for_update() if lock else stmt)).all())


async def read(session: AsyncSession, authz: Authorizer) -> tuple[OwnPreferenceOut, int]:
    """The owner's preference; the defaults (version 0) while none is set or no record is linked."""
    customers = await _own_customers(session, authz)
    return await _out(session, authz, await preference_of(session, customers[0].id) if customers else None)


async def _out(session: AsyncSession, authz: Authorizer, p: CarePreference | None) -> tuple[OwnPreferenceOut, int]:
    owner = authz.owner_id
    binding = await wechat.binding_of(session, owner) if owner is not None else None
    version = p.version if p else 0
    return OwnPreferenceOut(channels=list(p.channels) if p else [], quiet_hours=await own_quiet_out(session, p),
                            wechat=wechat.binding_out(binding), updated_at=p.updated_at if p else None,
                            version=version), version


async def lock(session: AsyncSession, authz: Authorizer) -> tuple[list[Customer], int]:
    """The owner's records, locked, and the version a change's If-Match must name; 404 while
    no customer record is linked to the account (nothing to hold a preference)."""
    customers = await _own_customers(session, authz, lock=True)
    if not customers:
        raise ProblemError("not-found", "No customer record is linked to your account yet.")
    first = await preference_of(session, customers[0].id, lock=True)
    return customers, first.version if first else 0


async def write(session: AsyncSession, authz: Authorizer, customers: list[Customer],
                data: OwnPreferenceIn) -> tuple[OwnPreferenceOut, int]:
    channels = PreferenceIn(channels=data.channels)
    written = [await set_preference(session, authz, c.id, await preference_of(session, c.id, lock=True), channels,
                                    quiet=data.quiet_hours) for c in customers]
    return await _out(session, authz, written[0])
