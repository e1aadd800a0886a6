"""The daily lateness scan of certificate cases (seed 004 §4.5.2 "督促其按《代理協議》約定"):
cases past the deadline of their stage are marked late, their agency is urged once a day (an
``urge`` line in the case's log, audited), and the staff member responsible for the case is
told through the outbox, one message per urge."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.notify import INBOX, queue_messages
from app.domains.certificates.cases import CASE, OPEN, SCAN_BATCH
from app.domains.certificates.models import Agency, CaseEvent, CaseStage, CertificateCase
from app.tenants.bound import tenant_id, today

__all__ = ["SCAN_BATCH", "scan"]


async def scan(session: AsyncSession) -> dict[str, int]:
    """One batch of the daily lateness scan: cases past their stage's deadline and not yet
    urged today are marked late and their agency urged. Idempotent within a day."""
    on = await today(session)
    stmt = (select(CertificateCase, Agency.name).join(Agency, Agency.id == CertificateCase.agency_id)
            .where(CertificateCase.stage.in_(OPEN), CertificateCase.due_on < on,
                   (CertificateCase.last_urged_on.is_(None)) | (CertificateCase.last_urged_on < on))
            .order_by(CertificateCase.due_on, CertificateCase.id).limit(SCAN_BATCH)
            .with_for_update(of=CertificateCase, skip_locked=True))
    rows = (await session.execute(stmt)).tuples().all()
    now = clock.utcnow()
    entries, told = [], []
    moving = frozenset({"updated_at", "version"})  # set by the flush: left out of the batch's records
    for c, agency_name in rows:
        assert c.due_on is not None
        before = audit.snapshot(c, exclude=moving)
        if c.late_since is None:
            c.late_since = c.due_on + timedelta(days=1)
        c.last_urged_on, c.urge_count = on, c.urge_count + 1
        what = "issue" if c.stage is not CaseStage.issued else "delivery"
        session.add(CaseEvent(case_id=c.id, kind="urge", at=now, by="system",
                              note=f"{agency_name} urged: the {what} was due on {c.due_on}, "
                                   f"{(on - c.due_on).days} day(s) late."))
        entries.append((c.id, before, audit.snapshot(c, exclude=moving)))
        if c.responsible_account_id is not None:
            told.append((c, agency_name, what))
    # One flush and one audit statement per batch: a backlog of thousands stays a few seconds.
    await session.flush()
    await audit.record_many(session, [
        {"action": "certificates.case.urge", "entity_type": CASE, "entity_id": case_id, "before": before,
         "after": after} for case_id, before, after in entries])
    for c, agency_name, what in told:
        await _tell(session, c, agency_name, what, on)
    return {"checked": len(rows), "urged": len(rows), "told": len(told)}


async def _tell(session: AsyncSession, c: CertificateCase, agency_name: str, what: str, on: date) -> None:
    """The responsible staff member learns of the urge in the app (one message per urge: the
    scan urges a case at most once a day)."""
    assert c.due_on is not None
    await queue_messages(
        session, [str(c.responsible_account_id)], tenant_id=await tenant_id(session), channel=INBOX,
        subject=f"办证逾期催办 Certificate case {c.number} is late: {agency_name} urged",
        body=f"The {what} of certificate case {c.number} was due on {c.due_on}; it is {(on - c.due_on).days} "
             f"day(s) late. {agency_name} was urged (urge {c.urge_count}).",
        data={"event": "certificates.case.urged", "caseId": str(c.id), "number": c.number,
              "dueOn": c.due_on.isoformat(), "urgeCount": c.urge_count, "on": on.isoformat()})
