"""What the certificates domain holds about a person (app/core/personal.py): their
certificate cases, the mortgage guarantees on their loans (the loan account sealed) and the
collection of their overdue loans.

An erasure keeps each of them, saying why: a certificate case is the record of the unit's title,
a guarantee is a contract with the bank, a collection case still open or in court is the evidence
of the debt. Only a closed collection case that never went to court loses what was said in it
(reminder notes, the outcome note); its amounts and dates stay for the statistics.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rowcount
from app.core.personal import Erasure, Holding, PersonalData, rows_holding, sealed_column
from app.domains.certificates.collections import LOAN_FIELD
from app.domains.certificates.models import (
    CertificateCase,
    CollectionCase,
    CollectionStage,
    Guarantee,
    Reminder,
)

COLLECTIONS = "certificates.collections"
# Still owed, or before a court: kept whole as the evidence of the debt.
_LIVE = (CollectionStage.open, CollectionStage.referred, CollectionStage.litigated)
_KEEP_COLLECTION = ("an overdue loan under collection or referred to litigation is kept whole as the evidence of "
                    "the debt (loan and guarantee contracts; Civil Procedure Law on evidence)")


async def _collect_collections(session: AsyncSession, customer_id: uuid.UUID) -> list[dict[str, object]]:
    from app.core.keystore import tenant_keys

    cases = (await session.scalars(select(CollectionCase).where(CollectionCase.customer_id == customer_id)
                                   .order_by(CollectionCase.created_at, CollectionCase.id))).all()
    if not cases:
        return []
    keys = await tenant_keys(session)
    reminders = (await session.scalars(select(Reminder).where(Reminder.case_id.in_([c.id for c in cases]))
                                       .order_by(Reminder.at, Reminder.id))).all()
    return [{
        "number": c.number, "bank": c.bank, "loanAccount": keys.open(LOAN_FIELD, c.loan_account_sealed),
        "overdueSince": c.overdue_since, "overdueAmount": c.overdue_amount, "stage": c.stage,
        "referredAt": c.referred_at, "outcome": c.outcome, "outcomeOn": c.outcome_on, "outcomeNote": c.outcome_note,
        "reminders": [{"channel": x.channel, "at": x.at, "outcome": x.outcome, "promisedOn": x.promised_on,
                       "note": x.note} for x in reminders if x.case_id == c.id],
    } for c in cases]


async def _erase_collections(session: AsyncSession, customer_id: uuid.UUID) -> Erasure:
    mine = CollectionCase.customer_id == customer_id
    kept = await session.scalar(select(func.count()).select_from(CollectionCase)
                                .where(mine, CollectionCase.stage.in_(_LIVE))) or 0
    # Closed without a court: what was said goes, the amounts and dates stay.
    closed = select(CollectionCase.id).where(mine, CollectionCase.stage == CollectionStage.closed,
                                             CollectionCase.referred_at.is_(None))
    await session.execute(update(Reminder).where(Reminder.case_id.in_(closed.scalar_subquery()),
                                                 Reminder.note.is_not(None))
                          .values(note=None).execution_options(synchronize_session=False))
    result = await session.execute(update(CollectionCase).where(CollectionCase.id.in_(closed.scalar_subquery()),
                                                                CollectionCase.outcome_note.is_not(None))
                                   .values(outcome_note=None, version=CollectionCase.version + 1)
                                   .execution_options(synchronize_session=False))
    anonymised = rowcount(result)
    return Erasure(kind=COLLECTIONS, anonymised=anonymised, kept=kept, reason=_KEEP_COLLECTION if kept else None)


PERSONAL = PersonalData(holdings=(
    rows_holding("certificates.cases", "The person's property certificate cases: unit, stage, dates, the "
                                       "certificate's number.", CertificateCase,
                 show=("number", "unit_id", "stage", "opened_on", "submitted_on", "issued_on", "delivered_on",
                       "certificate_number", "cancel_reason"),
                 keep="a certificate case is the record of the unit's title registration under the sales contract, "
                      "kept as long as the contract"),
    rows_holding("certificates.guarantees", "The company's guarantees on the person's mortgage loans: bank, loan "
                                            "account, amount, registration, release.", Guarantee,
                 show=("number", "unit_id", "bank", "loan_amount", "kind", "starts_on", "ends_on",
                       "registration_done_on", "registration_number", "stage", "released_on"),
                 sealed={"loan_account_sealed": LOAN_FIELD},
                 keep="a mortgage guarantee is a contract with the lending bank: kept while in force and, once "
                      "released, as an accounting record"),
    Holding(COLLECTIONS, "The collection of the person's overdue loans: bank, loan account, amounts, reminders, "
                         "litigation.", _collect_collections, _erase_collections),
), sealed=(sealed_column(Guarantee, "loan_account_sealed", LOAN_FIELD),
           sealed_column(CollectionCase, "loan_account_sealed", LOAN_FIELD)))
