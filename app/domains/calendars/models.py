"""The calendars domain's tables: a tenant's working calendars, their public holidays and their
make-up working days (调休上班)."""

from __future__ import annotations

import uuid
from datetime import date, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin


class WorkingCalendar(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """Working hours, rest days of the week, holidays and make-up days: what business-time
    clocks (complaint SLAs, ...) count in. One calendar of a tenant is its default."""

    __tablename__ = "working_calendars"

    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    work_start: Mapped[time] = mapped_column(Time, nullable=False)
    lunch_start: Mapped[time | None] = mapped_column(Time)
    lunch_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    work_end: Mapped[time] = mapped_column(Time, nullable=False)
    # ISO weekdays (1 Monday … 7 Sunday) that are not worked unless a make-up day says so.
    rest_weekdays: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), nullable=False)

    # The database's word on "one default per tenant", whatever races past the service.
    __table_args__ = (Index("uq_working_calendars_is_default", "is_default", unique=True,
                            postgresql_where=text("is_default")),)


class CalendarHoliday(IdMixin, TenantBase):
    """A public holiday: consecutive days off, from ``start_date`` to ``end_date`` inclusive."""

    __tablename__ = "calendar_holidays"

    calendar_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("working_calendars.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)

    __table_args__ = (
        Index("ix_calendar_holidays_calendar_id_start_date", "calendar_id", "start_date"),
        CheckConstraint("end_date >= start_date", name="end_after_start"),
    )


class CalendarWorkday(IdMixin, TenantBase):
    """A make-up working day: a rest day of the week that is worked (e.g. a Sunday before National Day)."""

    __tablename__ = "calendar_workdays"

    calendar_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("working_calendars.id", ondelete="CASCADE"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)

    __table_args__ = (UniqueConstraint("calendar_id", "day"),)
