"""What the club domain holds about a person (app/core/personal.py): their memberships (birth
date, tier, points) and the movements of their points.

An erasure drops the birth date (given for birthday greetings only); the membership's number and
balance stay while points are owed to the member, and the points ledger is kept as an
accounting record.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.personal import Erasure, Holding, PersonalData, rows_holding
from app.domains.club.models import Member, PointsEntry

POINTS = "club.points"
_KEEP_POINTS = "the points ledger records what the member earned and spent: kept as an accounting record"


async def _collect_points(session: AsyncSession, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (await session.execute(
        select(Member.number, PointsEntry).join(Member, Member.id == PointsEntry.member_id)
        .where(Member.customer_id == customer_id).order_by(PointsEntry.created_at, PointsEntry.id))).all()
    return [{"member": number, "kind": e.kind, "points": e.points, "balanceAfter": e.balance_after,
             "reason": e.reason, "reference": e.reference, "at": e.created_at} for number, e in rows]


async def _erase_points(session: AsyncSession, customer_id: uuid.UUID) -> Erasure:
    count = await session.scalar(select(func.count()).select_from(PointsEntry).join(
        Member, Member.id == PointsEntry.member_id).where(Member.customer_id == customer_id)) or 0
    return Erasure(kind=POINTS, kept=count, reason=_KEEP_POINTS if count else None)


PERSONAL = PersonalData(holdings=(
    rows_holding("club.members", "The person's club memberships: number, tier, birth date, points balance.",
                 Member, show=("club_id", "number", "status", "joined_on", "birth_date", "balance",
                               "lifetime_points", "left_at"),
                 blank={"birth_date": None}),
    Holding(POINTS, "Every movement of the person's club points.", _collect_points, _erase_points),
))
