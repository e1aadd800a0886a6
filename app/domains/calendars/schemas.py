"""Request and response bodies of working calendars.

The shape of a working day is stated in the schema, so that every calendar the document
accepts is one the service can count in: the day starts between 05:00 and 10:59, the lunch
break starts between 11:00 and 13:59 and lasts at most 120 minutes (so it ends by 15:59), and
the day ends between 16:00 and 23:59. A holiday is a first day and a number of days, never an
inverted range. What the schema cannot say (two holidays overlapping, a make-up day inside a
holiday or given twice) is a conflict between entries, answered 409 naming them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated

import msgspec

from app.core.schemas import ONE_LINE_PATTERN, Input, Schema
from app.domains.calendars.models import CalendarHoliday, CalendarWorkday, WorkingCalendar
from app.tenants.schemas import TimeZone

MAX_HOLIDAYS = 500
MAX_MAKE_UP_DAYS = 300

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
                                   description="Short code unique in the tenant, e.g. `CN` (stored upper-case).",
                                   examples=["CN"])]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_PATTERN)]
DayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE_PATTERN,
                                      examples=["National Day"])]
WorkStart = Annotated[str, msgspec.Meta(pattern=r"^(0[5-9]|10):[0-5][0-9]$", examples=["09:00"],
                                        description="When the working day starts, 05:00 to 10:59.")]
LunchStart = Annotated[str, msgspec.Meta(pattern=r"^1[1-3]:[0-5][0-9]$", examples=["12:00"],
                                         description="When the lunch break starts, 11:00 to 13:59.")]
LunchMinutes = Annotated[int, msgspec.Meta(ge=0, le=120, examples=[90],
                                           description="The lunch break's length; 0 for none.")]
WorkEnd = Annotated[str, msgspec.Meta(pattern=r"^(1[6-9]|2[0-3]):[0-5][0-9]$", examples=["18:00"],
                                      description="When the working day ends, 16:00 to 23:59.")]
Weekday = Annotated[int, msgspec.Meta(ge=1, le=7, description="ISO weekday: 1 Monday … 7 Sunday.")]
# At most six entries: a week with no working day would leave a clock nothing to count.
RestDays = Annotated[list[Weekday], msgspec.Meta(
    max_length=6, examples=[[6, 7]], description="Weekdays not worked (unless a make-up day); a repeated day "
                                                 "counts once.",
    # The items' own bounds, which the document would otherwise leave out.
    extra_json_schema={"extra": {"items": {"type": "integer", "minimum": 1, "maximum": 7}}})]
HolidayDays = Annotated[int, msgspec.Meta(ge=1, le=30, description="How many consecutive days off.")]


class HolidayIn(Input):
    name: DayName
    start: date
    days: HolidayDays


class MakeUpDayIn(Input):
    date: date
    name: DayName


class CalendarBody(Input):
    name: Name
    time_zone: TimeZone | None = None  # the tenant's time zone when absent
    work_start: WorkStart = "09:00"
    lunch_start: LunchStart | None = "12:00"
    lunch_minutes: LunchMinutes = 90
    work_end: WorkEnd = "18:00"
    rest_weekdays: RestDays = msgspec.field(default_factory=lambda: [6, 7])
    holidays: Annotated[list[HolidayIn], msgspec.Meta(max_length=MAX_HOLIDAYS)] = msgspec.field(default_factory=list)
    make_up_days: Annotated[list[MakeUpDayIn], msgspec.Meta(max_length=MAX_MAKE_UP_DAYS)] = \
        msgspec.field(default_factory=list)
    is_default: bool = False


class CalendarCreate(CalendarBody, kw_only=True):
    code: Code


class CalendarReplace(CalendarBody):
    """The whole calendar, replacing the stored one (holidays and make-up days included)."""


class HolidayOut(Schema):
    name: str
    start: date
    end: date  # inclusive
    days: int

    @classmethod
    def of(cls, h: CalendarHoliday) -> HolidayOut:
        return cls(name=h.name, start=h.start_date, end=h.end_date, days=(h.end_date - h.start_date).days + 1)


class MakeUpDayOut(Schema):
    date: date
    name: str

    @classmethod
    def of(cls, w: CalendarWorkday) -> MakeUpDayOut:
        return cls(date=w.day, name=w.name)


def hhmm(t: time | None) -> str | None:
    return None if t is None else t.strftime("%H:%M")


class CalendarSummary(Schema):
    id: uuid.UUID
    code: str
    name: str
    time_zone: str
    is_default: bool
    version: int

    @classmethod
    def of(cls, c: WorkingCalendar) -> CalendarSummary:
        return cls(id=c.id, code=c.code, name=c.name, time_zone=c.time_zone, is_default=c.is_default,
                   version=c.version)


class CalendarOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    time_zone: str
    is_default: bool
    work_start: str
    lunch_start: str | None
    lunch_minutes: int
    work_end: str
    working_minutes_per_day: int
    rest_weekdays: list[int]
    holidays: list[HolidayOut]
    make_up_days: list[MakeUpDayOut]
    # The last year with a holiday entered: clocks count later years by weekdays alone until
    # the tenant enters their holidays.
    covered_until: int | None
    version: int
    created_at: datetime
    updated_at: datetime


def holiday_end(h: HolidayIn) -> date:
    return h.start + timedelta(days=h.days - 1)
