"""What the privacy domain itself holds about a person (its ``PersonalData`` declaration):
their requests, and, for a while, their own words and their copy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rowcount
from app.core.personal import Erasure, Holding, PersonalData, Retention, sealed_column
from app.domains.privacy.models import PrivacyRequest
from app.domains.privacy.services import DETAILS, PACKAGE

REQUESTS = "privacy.requests"
CONTENTS = "privacy.request_contents"
KEPT = ("the record of each request and its answer is kept as proof that it was served (PIPL arts. 50, 54); "
        "the person's own words and their copy are dropped")


async def collect(session: AsyncSession, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(PrivacyRequest).where(PrivacyRequest.customer_id == customer_id)
                                  .order_by(PrivacyRequest.created_at, PrivacyRequest.id))).all()
    return [{"number": r.number, "kind": r.kind, "status": r.status, "channel": r.channel, "filedAt": r.created_at,
             "dueOn": r.due_on, "answer": r.answer, "answeredAt": r.answered_at} for r in rows]


async def _drop_contents(session: AsyncSession, *where: Any) -> int:
    result = await session.execute(
        update(PrivacyRequest)
        .where(*where, or_(PrivacyRequest.details_sealed.is_not(None), PrivacyRequest.package_sealed.is_not(None)))
        .values(details_sealed=None, package_sealed=None, version=PrivacyRequest.version + 1)
        .execution_options(synchronize_session=False))
    return rowcount(result)


async def erase(session: AsyncSession, customer_id: uuid.UUID) -> Erasure:
    dropped = await _drop_contents(session, PrivacyRequest.customer_id == customer_id)
    kept = len((await session.scalars(select(PrivacyRequest.id)
                                      .where(PrivacyRequest.customer_id == customer_id))).all())
    return Erasure(kind=REQUESTS, anonymised=dropped, kept=kept, reason=KEPT)


async def drop_old_contents(session: AsyncSession, cutoff: datetime, batch: int) -> int:
    """The words and copies of requests answered before ``cutoff``, one batch."""
    ids = select(PrivacyRequest.id).where(
        PrivacyRequest.answered_at < cutoff,
        or_(PrivacyRequest.details_sealed.is_not(None), PrivacyRequest.package_sealed.is_not(None))
    ).limit(batch).scalar_subquery()
    return await _drop_contents(session, PrivacyRequest.id.in_(ids))


PERSONAL = PersonalData(
    holdings=(Holding(REQUESTS, "The person's privacy requests and their answers.", collect, erase),),
    retention=(Retention(CONTENTS, "The person's own words and the copy handed over, on requests answered "
                                   "longer ago than this.", 30, drop_old_contents),),
    sealed=(sealed_column(PrivacyRequest, "details_sealed", DETAILS),
            sealed_column(PrivacyRequest, "package_sealed", PACKAGE)),
)
