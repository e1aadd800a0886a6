"""The SLA scan: crossings found and told, escalations by rule, and records moved to customer
affairs at their project's handover."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.domains.access.authz import ALL
from app.domains.access.models import Role, RoleAssignment
from app.domains.complaints import sla
from app.domains.complaints.models import (
    OPEN_STATUSES,
    Complaint,
)
from app.domains.complaints.services.common import (
    ENTITY,
    SCAN_BATCH,
    SUPERVISE,
    add_event,
    label,
    notify,
    sla_terms,
    state_of,
)
from app.domains.org import services as org
from app.domains.org.models import NodeKind, OrgNode
from app.domains.org.schemas import Department
from app.tenants.bound import time_zone


async def _supervisors(session: AsyncSession, node_id: uuid.UUID) -> list[str]:
    """Accounts holding complaints.supervise (or every permission) at ``node_id`` itself."""
    rows = (await session.scalars(
        select(RoleAssignment.account_id).join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.node_id == node_id,
               or_(Role.permissions.contains([SUPERVISE]), Role.permissions.contains([ALL])))
        .order_by(RoleAssignment.account_id))).all()
    return [str(r) for r in dict.fromkeys(rows)]


def _level_node(path: str, at: str) -> uuid.UUID | None:
    """The record's project, branch or group, from its project's path (group/branch/project)."""
    parts = path.split("/")
    index = sla.LEVELS.index(at)
    return uuid.UUID(parts[index]) if index < len(parts) else None


_CROSSING_TEXT = {
    "response_warning": "close to its first-response deadline",
    "response_breach": "past its first-response deadline",
    "resolution_warning": "close to its resolution deadline",
    "resolution_breach": "past its resolution deadline",
}


async def _due(session: AsyncSession, now: datetime, stamp: datetime | None) -> list[Any]:
    """One batch of records for the scan, with their projects' paths, locked (SKIP LOCKED):
    first those whose next line is behind ``now``, then running ones whose lines were drawn in
    another state of the calendar (it changed since). Each query reads a partial index as a
    range: one OR of these (or "IS DISTINCT FROM") would read every running record."""
    base = (select(Complaint, OrgNode.path).join(OrgNode, OrgNode.id == Complaint.node_id)
            .with_for_update(of=Complaint, skip_locked=True))
    rows = list((await session.execute(base.where(Complaint.sla_next_check_at <= now)
                                       .order_by(Complaint.sla_next_check_at).limit(SCAN_BATCH))).all())
    drawn = Complaint.sla_calendar_stamp
    elsewhere = [drawn.is_not(None)] if stamp is None else [drawn.is_(None), drawn < stamp, drawn > stamp]
    for other in elsewhere:
        if len(rows) >= SCAN_BATCH:
            break
        rows += (await session.execute(base.where(Complaint.sla_next_check_at > now, other)
                                       .limit(SCAN_BATCH - len(rows)))).all()
    return rows


async def scan(session: AsyncSession) -> dict[str, int]:
    """Find the records whose clocks crossed a line (near-breach, breach, an escalation
    level) and tell whom the rule names; recompute clocks counted in a calendar that changed
    since. One batch, locked with SKIP LOCKED; idempotent: a crossing is marked once."""
    now = clock.utcnow()
    calendar, policy, _ = await sla_terms(session)
    rows = await _due(session, now, calendar.stamp)
    counts = {"checked": len(rows), "warnings": 0, "breaches": 0, "escalations": 0, "messages": 0}
    entries: list[dict[str, Any]] = []
    for c, path in rows:
        before = state_of(c)
        crossings = sla.cross(c, calendar, policy, now)
        for crossing in crossings:
            if crossing.kind == "escalation":
                counts["escalations"] += 1
                node = _level_node(path, crossing.at or "project")
                recipients = [*(await _supervisors(session, node) if node else []), c.handler_id]
                subject = f"{label(c)} escalated to level {crossing.level} ({crossing.at})"
                body = f"{label(c)} ({c.subject}) used {policy.escalation[crossing.level - 1].after_percent}% of " \
                       f"its resolution target and is escalated to the {crossing.at}."
            else:
                counts["breaches" if crossing.kind.endswith("breach") else "warnings"] += 1
                recipients = [c.handler_id]
                if crossing.kind.endswith("breach") or c.handler_id is None:
                    node = _level_node(path, "project")
                    recipients += await _supervisors(session, node) if node else []
                subject = f"{label(c)} is {_CROSSING_TEXT[crossing.kind]}"
                body = f"{label(c)} ({c.subject}) is {_CROSSING_TEXT[crossing.kind]}."
            counts["messages"] += await notify(session, recipients, f"complaint.{crossing.kind}", c, subject, body)
            add_event(session, c, crossing.kind if crossing.kind != "escalation" else "escalated", actor="system",
                      data={"level": crossing.level, "at": crossing.at} if crossing.kind == "escalation" else None)
        entries.append({"action": "complaints.sla.scan", "entity_type": ENTITY, "entity_id": c.id, "before": before,
                        "after": {**state_of(c), "crossings": [x.kind for x in crossings]}})
    await session.flush()
    await audit.record_many(session, entries)
    counts["moved"] = await switch_at_handover(session)
    return counts


async def switch_at_handover(session: AsyncSession) -> int:
    """Open records of projects whose handover date has come (tenant time zone) move from
    the project department to customer affairs, each audited. Idempotent."""
    zone = await time_zone(session)
    projects = (await session.scalars(select(OrgNode).where(OrgNode.kind == NodeKind.project,
                                                            OrgNode.handover_date.is_not(None)))).all()
    handed_over = [p.id for p in projects
                   if org.responsibility(p, zone).department == Department.customer_affairs]
    if not handed_over:
        return 0
    moved = (await session.scalars(
        select(Complaint.id).where(Complaint.department == Department.project_department,
                                   Complaint.node_id.in_(handed_over), Complaint.status.in_(OPEN_STATUSES))
        .with_for_update(skip_locked=True))).all()
    if not moved:
        return 0
    await session.execute(update(Complaint).where(Complaint.id.in_(moved))
                          .values(department=Department.customer_affairs, version=Complaint.version + 1)
                          .execution_options(synchronize_session=False))
    await audit.record_many(session, [
        {"action": "complaints.handover", "entity_type": ENTITY, "entity_id": c,
         "before": {"department": Department.project_department.value},
         "after": {"department": Department.customer_affairs.value}} for c in moved])
    return len(moved)
