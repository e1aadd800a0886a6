"""Working calendars: the tenant's working hours, rest days, public holidays and make-up
working days, and the :class:`WorkCalendar` values business-time clocks count in.

Calendars are tenant-wide configuration (no org node): any holder of ``calendars:read`` may
read them, changing them needs ``calendars.manage`` at the group node. A new tenant gets the
default calendar ``CN``: China's official holidays and make-up days (from the
``chinese-calendar`` package, which knows the years up to its release); later years are
entered by the tenant (``PUT``), which is why every year is editable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.pagination import PageParams, paginate
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import Page
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.calendars.business_time import WorkCalendar, periods_of
from app.domains.calendars.models import CalendarHoliday, CalendarWorkday, WorkingCalendar
from app.domains.calendars.schemas import (
    CalendarBody,
    CalendarCreate,
    CalendarOut,
    CalendarSummary,
    HolidayIn,
    HolidayOut,
    MakeUpDayIn,
    MakeUpDayOut,
    hhmm,
    holiday_end,
)
from app.domains.org.services import get_root
from app.tenants.bound import time_zone
from app.tenants.schemas import TIME_ZONES

MANAGE = "calendars.manage"
ENTITY = "working_calendar"
DEFAULT_CODE = "CN"
# The official calendar seeded for a new tenant starts here (older years matter to no clock).
SEED_FROM_YEAR = 2020
# The working day counted in, in the tenant's time zone, while a tenant has no calendar at all.
FALLBACK_DAY = periods_of(time(9), time(12), 90, time(18))

register_permissions({MANAGE: "Create and change the group's working calendars (hours, holidays, make-up days)."})

SORT = {"code": WorkingCalendar.code, "name": WorkingCalendar.name}


def _clock(hhmm_text: str) -> time:
    hours, minutes = hhmm_text.split(":")
    return time(int(hours), int(minutes))


async def _rows(session: AsyncSession, calendar_id: uuid.UUID) -> tuple[list[CalendarHoliday], list[CalendarWorkday]]:
    holidays = (await session.scalars(select(CalendarHoliday).where(CalendarHoliday.calendar_id == calendar_id)
                                      .order_by(CalendarHoliday.start_date, CalendarHoliday.id))).all()
    workdays = (await session.scalars(select(CalendarWorkday).where(CalendarWorkday.calendar_id == calendar_id)
                                      .order_by(CalendarWorkday.day))).all()
    return list(holidays), list(workdays)


async def calendar_out(session: AsyncSession, c: WorkingCalendar) -> CalendarOut:
    holidays, workdays = await _rows(session, c.id)
    value = to_work_calendar(c, holidays, workdays)
    years = [h.end_date.year for h in holidays]
    return CalendarOut(
        id=c.id, code=c.code, name=c.name, time_zone=c.time_zone, is_default=c.is_default,
        work_start=hhmm(c.work_start) or "", lunch_start=hhmm(c.lunch_start), lunch_minutes=c.lunch_minutes,
        work_end=hhmm(c.work_end) or "", working_minutes_per_day=value.day_seconds // 60,
        rest_weekdays=sorted(c.rest_weekdays), holidays=[HolidayOut.of(h) for h in holidays],
        make_up_days=[MakeUpDayOut.of(w) for w in workdays], covered_until=max(years) if years else None,
        version=c.version, created_at=c.created_at, updated_at=c.updated_at)


def to_work_calendar(c: WorkingCalendar, holidays: Iterable[CalendarHoliday],
                     workdays: Iterable[CalendarWorkday]) -> WorkCalendar:
    off: set[date] = set()
    for h in holidays:
        # Counted rather than stepped past the end: a holiday may end on the last date there is.
        off.update(h.start_date + timedelta(days=k) for k in range((h.end_date - h.start_date).days + 1))
    return WorkCalendar(zone=ZoneInfo(c.time_zone),
                        periods=periods_of(c.work_start, c.lunch_start, c.lunch_minutes, c.work_end),
                        rest_weekdays=frozenset(c.rest_weekdays), holidays=frozenset(off),
                        workdays=frozenset(w.day for w in workdays), stamp=c.updated_at)


async def load(session: AsyncSession, calendar_id: uuid.UUID | None = None) -> WorkCalendar:
    """The calendar to count business time in: ``calendar_id``'s, else the tenant's default.
    Cached on the session, so a request or task reads it once (writes here drop the cache)."""
    cache: dict[Any, WorkCalendar] = session.info.setdefault("work_calendars", {})
    if calendar_id in cache:
        return cache[calendar_id]
    stmt = select(WorkingCalendar)
    stmt = stmt.where(WorkingCalendar.id == calendar_id) if calendar_id else \
        stmt.order_by(WorkingCalendar.is_default.desc(), WorkingCalendar.created_at).limit(1)
    row = await session.scalar(stmt)
    if row is None:
        value = WorkCalendar(zone=ZoneInfo(await time_zone(session)), periods=FALLBACK_DAY)
    else:
        holidays, workdays = await _rows(session, row.id)
        value = to_work_calendar(row, holidays, workdays)
    cache[calendar_id] = value
    return value


def _forget(session: AsyncSession) -> None:
    session.info.pop("work_calendars", None)


async def list_calendars(session: AsyncSession, params: PageParams) -> Page[CalendarSummary]:
    return await paginate(session, select(WorkingCalendar), params, sortable=SORT, default_sort=["code"],
                          tiebreak=WorkingCalendar.id, to_schema=CalendarSummary.of)


async def get_calendar(session: AsyncSession, calendar_id: uuid.UUID, *, lock: bool = False) -> WorkingCalendar:
    stmt = select(WorkingCalendar).where(WorkingCalendar.id == calendar_id)
    if lock:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise ProblemError("not-found", f"No calendar with id {calendar_id}.")
    return row


def _conflicts(holidays: list[HolidayIn], make_up: list[MakeUpDayIn]) -> list[FieldError]:
    """Entries that contradict each other: overlapping holidays, a make-up day inside a
    holiday, the same make-up day twice; and a holiday running past the last date there is."""
    errors: list[FieldError] = []
    ends: dict[int, date] = {}
    for i, h in enumerate(holidays):
        try:
            ends[i] = holiday_end(h)
        except OverflowError:
            errors.append(field_error(f"holidays.{i}", f"{h.name} ({h.start}, {h.days} days) ends after {date.max}"))
    ordered = sorted(ends, key=lambda i: (holidays[i].start, i))
    # The holiday reaching furthest so far: any later start up to its end overlaps it (an
    # adjacent-pairs check alone would miss a short holiday nested between two others).
    reach: int | None = None
    for i in ordered:
        if reach is not None and holidays[i].start <= ends[reach]:
            first, second = sorted((reach, i))
            named, other = holidays[second], holidays[first]
            errors.append(field_error(
                f"holidays.{second}", f"{named.name} ({named.start}–{ends[second]}) overlaps holidays.{first}, "
                                      f"{other.name} ({other.start}–{ends[first]})"))
        if reach is None or ends[i] > ends[reach]:
            reach = i
    seen: dict[date, int] = {}
    for i, m in enumerate(make_up):
        if m.date in seen:
            errors.append(field_error(f"makeUpDays.{i}", f"{m.date} is given twice (also makeUpDays.{seen[m.date]})"))
        seen.setdefault(m.date, i)
        for j, h in enumerate(holidays):
            if j in ends and h.start <= m.date <= ends[j]:
                errors.append(field_error(f"makeUpDays.{i}", f"{m.date} is inside holidays.{j}, {h.name}: a day "
                                                             "cannot be both off and worked"))
    return errors


async def _apply(session: AsyncSession, row: WorkingCalendar, data: CalendarBody) -> None:
    row.name = data.name
    row.time_zone = data.time_zone or await time_zone(session)
    row.work_start = _clock(data.work_start)
    row.lunch_start = _clock(data.lunch_start) if data.lunch_start else None
    row.lunch_minutes = data.lunch_minutes if data.lunch_start else 0
    row.work_end = _clock(data.work_end)
    row.rest_weekdays = sorted(set(data.rest_weekdays))


def _snapshot(row: WorkingCalendar, data: CalendarBody | None = None, holidays: int | None = None,
              workdays: int | None = None) -> dict[str, Any]:
    snap = audit.snapshot(row)
    snap["rest_weekdays"] = list(row.rest_weekdays or [])
    for key in ("work_start", "lunch_start", "work_end"):
        snap[key] = hhmm(getattr(row, key))
    if data is not None:
        snap["holidays"] = [{"name": h.name, "start": h.start.isoformat(), "days": h.days} for h in data.holidays]
        snap["makeUpDays"] = [{"date": m.date.isoformat(), "name": m.name} for m in data.make_up_days]
    elif holidays is not None:
        snap["holidayCount"], snap["makeUpDayCount"] = holidays, workdays
    return snap


async def _replace_days(session: AsyncSession, row: WorkingCalendar, data: CalendarBody) -> None:
    await session.execute(CalendarHoliday.__table__.delete().where(CalendarHoliday.calendar_id == row.id))
    await session.execute(CalendarWorkday.__table__.delete().where(CalendarWorkday.calendar_id == row.id))
    session.add_all(CalendarHoliday(calendar_id=row.id, name=h.name, start_date=h.start, end_date=holiday_end(h))
                    for h in data.holidays)
    session.add_all(CalendarWorkday(calendar_id=row.id, day=m.date, name=m.name) for m in data.make_up_days)


async def _clear_default(session: AsyncSession, keep: uuid.UUID | None) -> None:
    """Take the default flag off every calendar but ``keep``, each change audited as part of
    this write. Done before the new default is written: one default at a time, as the unique
    index insists."""
    stmt = update(WorkingCalendar).where(WorkingCalendar.is_default)
    if keep is not None:
        stmt = stmt.where(WorkingCalendar.id != keep)
    cleared = (await session.execute(stmt.values(is_default=False, version=WorkingCalendar.version + 1)
                                     .returning(WorkingCalendar.id, WorkingCalendar.code)
                                     .execution_options(synchronize_session=False))).all()
    await audit.record_many(session, [
        {"action": "calendars.default.clear", "entity_type": ENTITY, "entity_id": calendar_id,
         "before": {"code": code, "isDefault": True}, "after": {"code": code, "isDefault": False}}
        for calendar_id, code in cleared])


def _check(data: CalendarBody) -> None:
    # The document lists the IANA names; ZoneInfo would also load files such as "localtime".
    if data.time_zone is not None and data.time_zone not in TIME_ZONES:
        raise ProblemError("validation", f"Unknown time zone {data.time_zone!r}.",
                           errors=[field_error("timeZone", "not an IANA time zone")])
    errors = _conflicts(data.holidays, data.make_up_days)
    if errors:
        raise ProblemError("conflict", "Some entries of the calendar contradict each other: "
                           + "; ".join(f"{e.field}: {e.message}" for e in errors) + ".", errors=errors)


async def require_manager(session: AsyncSession, authz: Authorizer) -> None:
    authz.require(MANAGE, (await get_root(session)).path)


async def create_calendar(session: AsyncSession, data: CalendarCreate) -> WorkingCalendar:
    _check(data)
    code = data.code.upper()
    if await session.scalar(select(WorkingCalendar.id).where(WorkingCalendar.code == code)) is not None:
        raise ProblemError("duplicate", f"A calendar with code {code} exists.",
                           errors=[field_error("code", "already used")])
    first = await session.scalar(select(func.count()).select_from(WorkingCalendar)) == 0
    row = WorkingCalendar(code=code, is_default=data.is_default or first)
    if row.is_default and not first:
        await _clear_default(session, None)
    await _apply(session, row, data)
    session.add(row)
    await session.flush()
    await _replace_days(session, row, data)
    await session.flush()
    await session.refresh(row)
    _forget(session)
    await audit.record(session, action="calendars.create", entity_type=ENTITY, entity_id=row.id,
                       after=_snapshot(row, data))
    return row


async def replace_calendar(session: AsyncSession, row: WorkingCalendar, data: CalendarBody) -> WorkingCalendar:
    _check(data)
    if row.is_default and not data.is_default:
        raise ProblemError("conflict", f"Calendar {row.code} is the default: make another calendar the default "
                                       "instead.", errors=[field_error("isDefault", "the default calendar stays so")])
    holidays, workdays = await _rows(session, row.id)
    before = _snapshot(row, holidays=len(holidays), workdays=len(workdays))
    if data.is_default and not row.is_default:
        await _clear_default(session, row.id)
    await _apply(session, row, data)
    row.is_default = data.is_default
    await _replace_days(session, row, data)
    # The row changes even when only its holidays did: its version is the calendar's ETag,
    # and its updated_at (the WorkCalendar's stamp) tells clocks that the calendar changed.
    row.updated_at = func.now()
    await session.flush()
    await session.refresh(row)
    _forget(session)
    await audit.record(session, action="calendars.replace", entity_type=ENTITY, entity_id=row.id, before=before,
                       after=_snapshot(row, data))
    return row


def official_days(from_year: int = SEED_FROM_YEAR) -> tuple[list[HolidayIn], list[MakeUpDayIn]]:
    """China's official holidays (consecutive days of one name as one holiday) and make-up
    working days, as the ``chinese-calendar`` package knows them, from ``from_year`` on."""
    from chinese_calendar import constants

    days = sorted(d for d in constants.holidays if d.year >= from_year)
    holidays: list[HolidayIn] = []
    for day in days:
        name = str(getattr(constants.holidays[day], "value", constants.holidays[day]))
        last = holidays[-1] if holidays else None
        if last is not None and last.name == name and holiday_end(last) + timedelta(days=1) == day:
            holidays[-1] = HolidayIn(name=name, start=last.start, days=last.days + 1)
        else:
            holidays.append(HolidayIn(name=name, start=day, days=1))
    make_up = [MakeUpDayIn(date=d, name=str(getattr(constants.workdays[d], "value", constants.workdays[d])))
               for d in sorted(constants.workdays) if d.year >= from_year]
    return holidays, make_up


async def seed_default(session: AsyncSession, time_zone: str) -> WorkingCalendar:
    holidays, make_up = official_days()
    return await create_calendar(session, CalendarCreate(
        code=DEFAULT_CODE, name="中国法定节假日 China official calendar", time_zone=time_zone, holidays=holidays,
        make_up_days=make_up, is_default=True))
