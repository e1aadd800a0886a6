"""What the aggregates of complaints share: permissions, the SLA policy setting, a record's label,
state and history, the audit of a change, and telling people."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, clock, tenant_settings
from app.core.notify import queue_messages
from app.core.problems import ProblemError
from app.core.writes import saved
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.approvals import services as approvals
from app.domains.calendars import services as calendar_services
from app.domains.calendars.business_time import WorkCalendar
from app.domains.complaints import sla
from app.domains.complaints.models import (
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Register,
)
from app.tenants.bound import tenant_id

READ, WRITE = "complaints.read", "complaints.write"
SUPERVISE, CONFIGURE = "complaints.supervise", "complaints.configure"
ENTITY, CATEGORY, ATTACHMENT, LETTER = "complaint", "complaint_category", "complaint_attachment", "capa_letter"
INBOX = approvals.INBOX
SCAN_BATCH = 500


register_permissions({
    READ: "See complaints and disputes of the projects in the subtree, their history and statistics.",
    WRITE: "Register complaints and disputes in the subtree and work them through the resolution loop.",
    SUPERVISE: "Take complaints to litigation; be told of SLA escalations at the node where the role is held.",
    CONFIGURE: "Configure complaint categories and the SLA policy (at the group node).",
})


DEFAULT_SLA = {"responseMinutes": 240, "resolutionMinutes": 2250, "warnPercent": 80,
               "escalation": [{"afterPercent": 100, "at": "project"}, {"afterPercent": 150, "at": "branch"},
                              {"afterPercent": 200, "at": "group"}]}


SLA_SETTING = tenant_settings.declare(
    "complaints.sla", DEFAULT_SLA,
    "Default SLA targets in business minutes (a category may set its own), the near-breach share and the "
    "escalation rule of complaints and disputes.")


def label(c: Complaint) -> str:
    return f"{'Dispute' if c.register is Register.dispute else 'Complaint'} {c.number}"


def actor_id(session: AsyncSession) -> str:
    return audit.actor_of(session).id


def state_of(c: Complaint) -> dict[str, Any]:
    """The fields an audit record of a move shows before and after."""
    return {"status": c.status.value, "handlerId": c.handler_id, "categoryId": str(c.category_id),
            "severity": c.severity.value, "pausedSince": c.paused_since.isoformat() if c.paused_since else None,
            "escalationLevel": c.escalation_level, "reopenCount": c.reopen_count}


def policy_of(value: dict[str, Any]) -> sla.Policy:
    steps = sorted(value.get("escalation", []), key=lambda s: int(s["afterPercent"]))
    return sla.Policy(warn_percent=int(value["warnPercent"]),
                      escalation=tuple(sla.Escalation(int(s["afterPercent"]), str(s["at"])) for s in steps))


async def sla_terms(session: AsyncSession) -> tuple[WorkCalendar, sla.Policy, dict[str, Any]]:
    """The calendar clocks count in, the tenant's policy, and its stored value."""
    value, _ = await tenant_settings.get(session, SLA_SETTING)
    return await calendar_services.load(session), policy_of(value), value


def add_event(session: AsyncSession, c: Complaint, action: str, *, before: ComplaintStatus | None = None,
              to: ComplaintStatus | None = None, note: str | None = None, public: bool = False,
              data: dict[str, Any] | None = None, actor: str | None = None) -> None:
    session.add(ComplaintEvent(complaint_id=c.id, at=clock.utcnow(), actor_id=actor or actor_id(session),
                               action=action, from_status=before, to_status=to, note=note, public=public, data=data))


async def audit_change(session: AsyncSession, c: Complaint, action: str, before: dict[str, Any] | None,
                       extra: dict[str, Any] | None = None, reason: str | None = None) -> None:
    await saved(session, c, f"complaints.{action}", ENTITY, before=before, reason=reason,
                snapshot=lambda c: {**state_of(c), **(extra or {})})


def _person(subject: str | None) -> str | None:
    """An account id (a person who can be told something), else None."""
    try:
        return str(uuid.UUID(subject)) if subject else None
    except ValueError:
        return None


async def notify(session: AsyncSession, recipients: Sequence[str | None], event: str, c: Complaint,
                 subject: str, body: str) -> int:
    """In-app messages (the outbox's ``inbox`` channel, to account ids), written with the
    change and delivered once it commits; how many were written."""
    people = [p for p in dict.fromkeys(_person(r) for r in recipients) if p is not None]
    if not people:
        return 0
    messages = await queue_messages(session, people, tenant_id=await tenant_id(session), channel=INBOX,
                                    subject=subject, body=body, data={
                                        "event": event, "complaintId": str(c.id), "number": c.number,
                                        "register": c.register.value, "status": c.status.value})
    return len(messages)


async def registrant_handler(session: AsyncSession, authz: Authorizer) -> str | None:
    """Who handles a record by default: the staff member registering it (not a partner system)."""
    account = _person(authz.principal.subject) if authz.principal.kind == "user" else None
    if account is None:
        return None
    try:
        return await staff_subject(session, uuid.UUID(account), "handlerId")
    except ProblemError:
        return None  # a user who is no active staff member of the group: nobody by default


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


async def children_of(session: AsyncSession, model: Any, complaint_id: uuid.UUID, *order: Any) -> list[Any]:
    return list((await session.scalars(select(model).where(model.complaint_id == complaint_id)
                                       .order_by(*order, model.id))).all())
