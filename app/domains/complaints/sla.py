"""SLA clocks of a complaint, in business time.

Two clocks start when a record is received: time to the first response and time to
resolution (the agreed plan carried out and checked), each against a target in business
minutes of the tenant's calendar (working hours, lunch break, public holidays, make-up
working days). A pause (waiting on the customer or a third party) stops both; the business
seconds spent paused are kept on the record, apart from the targets, so that a change of
policy or calendar recomputes the due instants without losing them.

Pure and synchronous: the functions take the record, a :class:`WorkCalendar` and the
tenant's :class:`Policy`, and change the record's clock columns; the services persist,
notify and audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domains.calendars.business_time import WorkCalendar
from app.domains.complaints.models import OPEN_STATUSES, Complaint, PauseReason

# Where an escalation level's supervisors sit: the depth of the record's project path.
LEVELS = ("group", "branch", "project")


@dataclass(frozen=True)
class Escalation:
    after_percent: int  # of the resolution target
    at: str  # one of LEVELS: whose supervisors are told


@dataclass(frozen=True)
class Policy:
    warn_percent: int  # a near-breach is announced once this share of a target is used
    escalation: tuple[Escalation, ...]  # sorted by after_percent


@dataclass(frozen=True)
class Crossing:
    """A line a clock crossed, found by :func:`cross`."""

    kind: str  # response_warning | response_breach | resolution_warning | resolution_breach | escalation
    level: int = 0  # escalation: the level reached (1-based)
    at: str | None = None  # escalation: project | branch | group


def _due(calendar: WorkCalendar, start: datetime, seconds: int) -> datetime | None:
    try:
        return calendar.add(start, max(0, seconds))
    except ValueError:  # no working time within the calendar's horizon: no due instant
        return None


def paused_total(c: Complaint, calendar: WorkCalendar, at: datetime) -> int:
    """Business seconds paused up to ``at``: the ended pauses and the running one."""
    running = calendar.seconds_between(c.paused_since, at) if c.paused_since is not None else 0
    return c.paused_seconds + running


def elapsed(c: Complaint, calendar: WorkCalendar, at: datetime) -> int:
    """Business seconds the clocks have run from receipt to ``at``, pauses excluded."""
    return max(0, calendar.seconds_between(c.received_at, at) - paused_total(c, calendar, at))


def running(c: Complaint) -> bool:
    return c.status in OPEN_STATUSES and c.paused_since is None


def schedule(c: Complaint, calendar: WorkCalendar, policy: Policy) -> None:
    """Recompute the due and warning instants of the clocks still running, the next
    escalation and the scan's next check. A stopped clock (answered, resolved) keeps the
    instants it had; a paused one has none until it resumes."""
    go = running(c)
    paused = c.paused_seconds
    response = c.response_target_minutes * 60
    resolution = c.resolution_target_minutes * 60
    if c.first_responded_at is None:
        c.response_due_at = _due(calendar, c.received_at, response + paused) if go else None
        c.response_warn_at = _due(calendar, c.received_at, response * policy.warn_percent // 100 + paused) \
            if go else None
    if c.resolved_at is None and c.status in OPEN_STATUSES:
        c.resolution_due_at = _due(calendar, c.received_at, resolution + paused) if go else None
        c.resolution_warn_at = _due(calendar, c.received_at, resolution * policy.warn_percent // 100 + paused) \
            if go else None
        following = policy.escalation[c.escalation_level] if c.escalation_level < len(policy.escalation) else None
        c.next_escalation_at = (_due(calendar, c.received_at, resolution * following.after_percent // 100 + paused)
                                if go and following is not None else None)
    else:
        c.next_escalation_at = None
    pending: list[datetime | None] = []
    if go and c.first_responded_at is None:
        pending += [None if c.response_warned_at else c.response_warn_at,
                    None if c.response_breached_at else c.response_due_at]
    if go and c.resolved_at is None:
        pending += [None if c.resolution_warned_at else c.resolution_warn_at,
                    None if c.resolution_breached_at else c.resolution_due_at, c.next_escalation_at]
    found = [p for p in pending if p is not None]
    c.sla_next_check_at = min(found) if found else None
    c.sla_calendar_stamp = calendar.stamp


def cross(c: Complaint, calendar: WorkCalendar, policy: Policy, now: datetime) -> list[Crossing]:
    """Mark the lines the clocks have crossed by ``now`` and not yet announced; what was
    crossed, in order. The lines are first drawn again in ``calendar`` and ``policy``: either
    may have changed since the record was last scheduled (a holiday added, a level removed)."""
    found: list[Crossing] = []
    schedule(c, calendar, policy)
    if not running(c):
        return found
    if c.first_responded_at is None:
        if c.response_due_at is not None and now >= c.response_due_at and c.response_breached_at is None:
            c.response_breached_at, c.response_met = now, False
            c.response_warned_at = c.response_warned_at or now
            found.append(Crossing("response_breach"))
        elif c.response_warn_at is not None and now >= c.response_warn_at and c.response_warned_at is None:
            c.response_warned_at = now
            found.append(Crossing("response_warning"))
    if c.resolved_at is None:
        if c.resolution_due_at is not None and now >= c.resolution_due_at and c.resolution_breached_at is None:
            c.resolution_breached_at, c.resolution_met = now, False
            c.resolution_warned_at = c.resolution_warned_at or now
            found.append(Crossing("resolution_breach"))
        elif c.resolution_warn_at is not None and now >= c.resolution_warn_at and c.resolution_warned_at is None:
            c.resolution_warned_at = now
            found.append(Crossing("resolution_warning"))
        # Every level whose line is behind us, one after the other (a scan that ran late
        # still tells each level once).
        while c.next_escalation_at is not None and now >= c.next_escalation_at:
            step = policy.escalation[c.escalation_level]
            c.escalation_level += 1
            found.append(Crossing("escalation", c.escalation_level, step.at))
            schedule(c, calendar, policy)
    schedule(c, calendar, policy)
    return found


def respond(c: Complaint, calendar: WorkCalendar, at: datetime) -> bool:
    """Stop the response clock at the first response; False when it had stopped already."""
    if c.first_responded_at is not None:
        return False
    c.first_responded_at = at
    c.response_seconds = elapsed(c, calendar, at)
    c.response_met = c.response_breached_at is None and c.response_seconds <= c.response_target_minutes * 60
    return True


def resolve(c: Complaint, calendar: WorkCalendar, at: datetime) -> None:
    """Stop the resolution clock: the agreed plan was carried out and checked."""
    c.resolved_at = at
    c.resolution_seconds = elapsed(c, calendar, at)
    c.resolution_met = (c.resolution_breached_at is None
                        and c.resolution_seconds <= c.resolution_target_minutes * 60)


def pause(c: Complaint, reason: PauseReason, at: datetime) -> None:
    c.paused_since, c.pause_reason = at, reason


def resume(c: Complaint, calendar: WorkCalendar, at: datetime) -> int:
    """End the running pause; the business seconds it lasted (kept on the record)."""
    if c.paused_since is None:
        return 0
    lasted = calendar.seconds_between(c.paused_since, at)
    c.paused_seconds += lasted
    c.paused_since, c.pause_reason = None, None
    return lasted


def reopen(c: Complaint, calendar: WorkCalendar, at: datetime) -> None:
    """The resolution clock runs again from where it stopped: the time the record spent
    resolved or closed is not the handler's, so it counts as paused."""
    stopped = c.resolved_at or c.litigated_at or c.closed_at
    if stopped is not None:
        c.paused_seconds += calendar.seconds_between(stopped, at)
    c.resolved_at = c.resolution_seconds = c.resolution_met = None
    c.resolution_warned_at = c.resolution_breached_at = None
    c.escalation_level = 0
