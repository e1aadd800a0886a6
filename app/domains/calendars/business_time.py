"""Business time: how much working time lies between two instants, and when a given amount of
working time after an instant ends, in a working calendar.

Pure and synchronous (no database, no clock): a :class:`WorkCalendar` is a value built from a
tenant's stored calendar (``app.domains.calendars.services.load``), or by hand in tests and
other domains. Working time is the calendar's working periods (a morning and an afternoon
around the lunch break) on working days, in the calendar's time zone. A day is a working day
when it is a make-up working day (调休上班), else when it is neither a public holiday nor a rest
day of the week. Periods are half-open: ``[09:00, 12:00)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Looking further than this for the next working moment means the calendar has none.
MAX_SEARCH_DAYS = 3660


@dataclass(frozen=True)
class WorkCalendar:
    zone: ZoneInfo
    # Working periods of a working day, sorted and disjoint, each (start, end) with start < end.
    periods: tuple[tuple[time, time], ...]
    rest_weekdays: frozenset[int] = frozenset({6, 7})  # ISO weekdays: Saturday, Sunday
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # make-up working days
    # Which state of the stored calendar this is (its last change): clocks computed in another
    # state are computed again.
    stamp: datetime | None = None

    def __post_init__(self) -> None:
        previous: time | None = None
        for start, end in self.periods:
            if not start < end or (previous is not None and start < previous):
                raise ValueError("working periods must be sorted, disjoint, and each start before its end")
            previous = end

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.isoweekday() not in self.rest_weekdays

    @property
    def day_seconds(self) -> int:
        """Working seconds in one working day."""
        return sum(_seconds(s, e) for s, e in self.periods)

    def _windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working periods as UTC instants (none on a day off). In UTC, because
        Python subtracts two datetimes of one zone by their wall clocks, which a DST change
        would make wrong."""
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, s, tzinfo=self.zone).astimezone(UTC),
                 datetime.combine(day, e, tzinfo=self.zone).astimezone(UTC)) for s, e in self.periods]

    def seconds_between(self, start: datetime, end: datetime) -> int:
        """Working seconds in ``[start, end)``; 0 when ``end`` is not after ``start``."""
        _aware(start, end)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return 0
        first, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        total = 0.0
        day = first
        while day <= last:
            if first < day < last:
                # A whole day inside the range: no instant arithmetic needed.
                total += self.day_seconds if self.is_working_day(day) else 0
            else:
                for ws, we in self._windows(day):
                    lo, hi = max(ws, start), min(we, end)
                    if hi > lo:
                        total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return int(total)

    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant at which ``seconds`` of working time after ``start`` have elapsed (the
        end of a working period rather than the next day's start, when it ends exactly there)."""
        _aware(start)
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        remaining = float(seconds)
        day = start.astimezone(self.zone).date()
        start = start.astimezone(UTC)
        if remaining == 0:
            return start
        for _ in range(MAX_SEARCH_DAYS):
            for ws, we in self._windows(day):
                lo = max(ws, start)
                if we <= lo:
                    continue
                available = (we - lo).total_seconds()
                if remaining <= available:
                    return lo + timedelta(seconds=remaining)
                remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"the calendar has no working time within {MAX_SEARCH_DAYS} days")


def _seconds(start: time, end: time) -> int:
    return (end.hour * 3600 + end.minute * 60 + end.second) - (start.hour * 3600 + start.minute * 60 + start.second)


def _aware(*instants: datetime) -> None:
    if any(i.tzinfo is None for i in instants):
        raise ValueError("business time needs timezone-aware datetimes")


def periods_of(work_start: time, lunch_start: time | None, lunch_minutes: int, work_end: time
               ) -> tuple[tuple[time, time], ...]:
    """A working day from its start, lunch break and end (no break when ``lunch_minutes`` is 0)."""
    if lunch_start is None or lunch_minutes == 0:
        return ((work_start, work_end),)
    lunch_end = (datetime.combine(date(2000, 1, 1), lunch_start) + timedelta(minutes=lunch_minutes)).time()
    return ((work_start, lunch_start), (lunch_end, work_end))
