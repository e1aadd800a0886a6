"""Points expiry: points earned expire after the group's validity period.

The period is the tenant setting ``club.points_validity`` (``{"months": 24}`` unless the group
sets another through ``PUT /api/v1/club/settings``). Points earned on day D (in the group's time
zone) expire at the start of day D + months.

A daily fan-out scan (``club.points_expiry``) visits every tenant and, per member holding
points, writes one compensating ``expire`` entry for what is left of the points earned before
the cutoff. Spending consumes the oldest points first (first in, first out), so what is left of
them is the old credits minus everything spent so far, never more than the balance:

    due = min(balance, max(0, old credits - debits))

where reversed entries count as never made (an earning undone is not earned, a redemption
refunded is not spent). Once the ``expire`` entry is written the debits include it, so a second
run the same day (or a redelivered task) finds nothing due: exactly once, never below zero.
Each member is handled under their row lock, like every movement (members.py).
"""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core import clock, tenant_settings
from app.domains.club.members import _move
from app.domains.club.models import EntryKind, Member, PointsEntry
from app.tenants.bound import time_zone

VALIDITY = tenant_settings.declare(
    "club.points_validity", {"months": 24},
    "How many months points earned stay valid before the daily scan expires what is left of them.")
BATCH = 200  # members per transaction
ACTOR = "system:points-expiry"
CREDITS = (EntryKind.earn, EntryKind.referral)
DEBITS = (EntryKind.redeem, EntryKind.expire)


def months_before(day: date, months: int) -> date:
    """``day`` ``months`` earlier (the last day of a shorter month: 31 March - 1 month = 28/29 February)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


async def cutoff(session: AsyncSession) -> datetime:
    """Points earned before this instant have expired (today's start, months ago, plus a day)."""
    value, _ = await tenant_settings.get(session, VALIDITY)
    zone = ZoneInfo(await time_zone(session))
    today = clock.utcnow().astimezone(zone).date()
    last_expired_day = months_before(today, int(value["months"]))
    return datetime.combine(last_expired_day + timedelta(days=1), time(), zone)


def _unreversed() -> ColumnElement[bool]:
    undo = aliased(PointsEntry)
    return ~exists().where(undo.reverses_id == PointsEntry.id)


async def due_points(session: AsyncSession, member: Member, before: datetime) -> int:
    """The points of ``member`` that have expired and are not yet written off."""
    old = func.coalesce(func.sum(case((and_(PointsEntry.kind.in_(CREDITS), PointsEntry.created_at < before),
                                           PointsEntry.points), else_=0)), 0)
    spent = func.coalesce(func.sum(case((PointsEntry.kind.in_(DEBITS), -PointsEntry.points), else_=0)), 0)
    row = (await session.execute(select(old, spent).where(PointsEntry.member_id == member.id,
                                                          _unreversed()))).one()
    return max(0, min(member.balance, int(row[0]) - int(row[1])))


async def candidates(session: AsyncSession, before: datetime, after: uuid.UUID | None) -> list[uuid.UUID]:
    """Members holding points with an earning older than the cutoff, in id order from ``after``."""
    stmt = (select(Member.id).where(Member.balance > 0, exists().where(
        PointsEntry.member_id == Member.id, PointsEntry.kind.in_(CREDITS), PointsEntry.created_at < before)))
    if after is not None:
        stmt = stmt.where(Member.id > after)
    return list((await session.scalars(stmt.order_by(Member.id).limit(BATCH))).all())


async def expire_members(session: AsyncSession, ids: list[uuid.UUID], before: datetime) -> dict[str, int]:
    """Write the ``expire`` entries of these members (each locked first); the counts."""
    counts = {"members": 0, "points": 0}
    for member_id in ids:
        member = await session.scalar(select(Member).where(Member.id == member_id).with_for_update())
        if member is None:
            continue
        due = await due_points(session, member, before)
        if due == 0:
            continue
        local = before.astimezone(ZoneInfo(await time_zone(session))).date()
        await _move(session, member, EntryKind.expire, -due, f"积分过期 Points earned before {local} expired",
                    reference=f"expiry:{local}", actor=ACTOR)
        counts["members"] += 1
        counts["points"] += due
    return counts
