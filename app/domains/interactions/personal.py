"""What the interactions domain holds about a person (app/core/personal.py): their visits,
calls, reception invitations and gifts; visits, call records and reception guests age out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rowcount
from app.core.personal import ANONYMISED, PersonalData, Retention, aged_rows, rows_holding, sealed_column
from app.domains.interactions.models import Call, GiftApplication, Reception, ReceptionGuest, Visit
from app.domains.interactions.services import PHONE

# What a visit or a call says about the person; ids, dates, amounts and outcomes stay for statistics.
VISIT_BLANK: dict[str, Any] = {
    "location": None, "needs": [], "objections": [], "notes": None, "report": None, "purpose": ANONYMISED,
    "cancel_reason": None}
CALL_BLANK: dict[str, Any] = {
    "contact_note": None, "phone_sealed": None, "phone_index": None, "notes": None, "interests": [],
    "objections": [], "subject": ANONYMISED}

RECEPTIONS = "interactions.receptions"


async def anonymise_guests(session: AsyncSession, cutoff: datetime, batch: int) -> int:
    """Guests of receptions held (or planned) before ``cutoff``, not anonymised yet: their name
    and organisation go; the reception, its budget and expenses, and the guest count stay."""
    held = select(Reception.id).where(func.coalesce(Reception.held_at, Reception.scheduled_at) < cutoff)
    ids = select(ReceptionGuest.id).where(
        ReceptionGuest.reception_id.in_(held),
        or_(ReceptionGuest.name != ANONYMISED, ReceptionGuest.organisation.is_not(None))
    ).limit(batch).with_for_update(skip_locked=True).scalar_subquery()
    result = await session.execute(update(ReceptionGuest).where(ReceptionGuest.id.in_(ids))
                                   .values(name=ANONYMISED, organisation=None)
                                   .execution_options(synchronize_session=False))
    return rowcount(result)


PERSONAL = PersonalData(
    holdings=(
        rows_holding("interactions.visits", "Visits to the person: purpose, place, needs, objections, gifts, "
                                            "report.", Visit,
                     show=("number", "status", "purpose", "planned_at", "visited_at", "location", "needs",
                           "objections", "gifts", "next_appointment_at", "notes", "report"),
                     blank=VISIT_BLANK),
        rows_holding("interactions.calls", "Calls with the person: number, subject, notes, interests.", Call,
                     show=("direction", "started_at", "duration_seconds", "subject", "notes", "outcome",
                           "contact_note", "interests", "objections"),
                     sealed={"phone_sealed": PHONE}, blank=CALL_BLANK),
        rows_holding(RECEPTIONS, "Receptions the person was a guest of.", ReceptionGuest,
                     show=("reception_id", "name", "organisation", "role"),
                     blank={"name": ANONYMISED, "organisation": None}),
        rows_holding("interactions.gifts", "Gifts given to the person.", GiftApplication,
                     show=("number", "recipient", "purpose", "items", "total", "issued_at"),
                     keep="gifts and their cost are accounting records, kept as long as accounting rules ask"),
    ),
    retention=(
        aged_rows("interactions.visits", "Visit records: what the person said and where they were visited, "
                                         "counted from the planned date.", 1095, Visit, at="planned_at",
                  blank=VISIT_BLANK),
        aged_rows("interactions.calls", "Call records' metadata: the number, the caller's note, what was said, "
                                        "counted from the call.", 730, Call, at="started_at", blank=CALL_BLANK),
        # The visits' period: hospitality records are the same contact history with the person.
        Retention(RECEPTIONS, "Hospitality records: the guests' names and organisations, counted from the "
                              "reception (held, else planned).", 1095, anonymise_guests),
    ),
    sealed=(sealed_column(Call, "phone_sealed", PHONE),),
)
