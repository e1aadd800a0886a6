"""Working calendars: business time across weekends, the lunch break, a national holiday with
its make-up working days (pure, fixed instants); and the calendars API: the seeded official
calendar, one default at a time, contradictory entries refused with the entries named."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from app.core.audit import tenant_audit
from app.domains.calendars import services
from app.domains.calendars.business_time import WorkCalendar, periods_of
from app.domains.calendars.models import WorkingCalendar
from tests.conftest import bearer
from tests.grants import grant

SH = ZoneInfo("Asia/Shanghai")
BASE = "/api/v1/calendars"
PROBLEM = "urn:cornerstone:problem:"
# 09:00–12:00 and 13:30–18:00: 7.5 working hours a day.
DAY = periods_of(time(9), time(12), 90, time(18))
# October 2024 as the State Council set it: 1–7 off, Sunday 29 September and Saturday 12 October worked.
OCTOBER_2024 = WorkCalendar(zone=SH, periods=DAY, holidays=frozenset(date(2024, 10, d) for d in range(1, 8)),
                            workdays=frozenset({date(2024, 9, 29), date(2024, 10, 12)}))
HOUR = 3600


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SH)


def test_a_working_day_counts_its_periods_only() -> None:
    cal = OCTOBER_2024
    assert cal.day_seconds == 7.5 * HOUR
    assert cal.seconds_between(at("2024-09-24", "00:00"), at("2024-09-25", "00:00")) == 7.5 * HOUR
    # The lunch break is not worked: 11:00 → 14:30 holds one hour before and one after it.
    assert cal.seconds_between(at("2024-09-24", "11:00"), at("2024-09-24", "14:30")) == 2 * HOUR
    assert cal.add(at("2024-09-24", "11:00"), 2 * HOUR) == at("2024-09-24", "14:30")
    # Starting inside the break, or before the day starts, counts from the next period.
    assert cal.add(at("2024-09-24", "12:40"), HOUR) == at("2024-09-24", "14:30")
    assert cal.add(at("2024-09-24", "07:00"), 30 * 60) == at("2024-09-24", "09:30")
    # Ending exactly at a period's end stays there (not the next period's start).
    assert cal.add(at("2024-09-24", "09:00"), 3 * HOUR) == at("2024-09-24", "12:00")
    assert cal.seconds_between(at("2024-09-24", "15:00"), at("2024-09-24", "10:00")) == 0


def test_a_weekend_is_skipped() -> None:
    cal = OCTOBER_2024
    # Friday 17:00 + 2 h: one hour on Friday, the weekend off, one hour on Monday morning.
    assert cal.add(at("2024-09-20", "17:00"), 2 * HOUR) == at("2024-09-23", "10:00")
    assert cal.seconds_between(at("2024-09-20", "17:00"), at("2024-09-23", "10:00")) == 2 * HOUR
    assert cal.seconds_between(at("2024-09-21", "09:00"), at("2024-09-22", "18:00")) == 0


def test_a_national_holiday_and_its_make_up_days() -> None:
    cal = OCTOBER_2024
    assert cal.is_working_day(date(2024, 9, 29))  # a Sunday, worked
    assert not cal.is_working_day(date(2024, 10, 4))  # a Friday, off
    assert cal.is_working_day(date(2024, 10, 12))  # a Saturday, worked
    # Friday 27 September 17:00 + 8 h: 1 h on Friday, Saturday off, the make-up Sunday from 09:00:
    # 3 h before lunch and 4 h after it.
    assert cal.add(at("2024-09-27", "17:00"), 8 * HOUR) == at("2024-09-29", "17:30")
    # Monday 30 September 17:00 + 2 h: 1 h that day, the seven days off, 1 h on Tuesday 8 October.
    assert cal.add(at("2024-09-30", "17:00"), 2 * HOUR) == at("2024-10-08", "10:00")
    # From the make-up Sunday to the make-up Saturday: 29 Sep, 30 Sep, 8–11 Oct and 12 Oct worked.
    assert cal.seconds_between(at("2024-09-29", "00:00"), at("2024-10-13", "00:00")) == 7 * 7.5 * HOUR
    # Instants in another zone are the same instants.
    assert cal.add(at("2024-09-30", "17:00").astimezone(UTC), 2 * HOUR) == at("2024-10-08", "10:00")


def test_the_official_days_come_from_chinese_calendar() -> None:
    holidays, make_up = services.official_days(2024)
    national = [h for h in holidays if h.start == date(2024, 10, 1)]
    assert [(h.name, h.days) for h in national] == [("National Day", 7)]
    assert {m.date for m in make_up} >= {date(2024, 9, 29), date(2024, 10, 12)}
    assert services._conflicts(holidays, make_up) == []  # the package's own data never contradicts itself


def test_naive_instants_and_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        OCTOBER_2024.add(datetime(2024, 9, 24, 9), HOUR)
    with pytest.raises(ValueError):
        OCTOBER_2024.add(at("2024-09-24", "09:00"), -1)
    nothing = WorkCalendar(zone=SH, periods=DAY, rest_weekdays=frozenset(range(1, 8)))
    with pytest.raises(ValueError):
        nothing.add(at("2024-09-24", "09:00"), HOUR)


async def test_a_new_tenant_starts_with_the_official_calendar(client: Any, new_tenant: Any, mint: Any,
                                                             db: Any) -> None:
    slug = await new_tenant("cal", time_zone="Asia/Shanghai")
    auth = bearer(mint(tenant=slug))
    listed = (await client.get(BASE, headers=auth)).json()
    [cn] = listed["items"]
    assert cn["code"] == "CN" and cn["isDefault"] is True and cn["timeZone"] == "Asia/Shanghai"
    got = await client.get(f"{BASE}/{cn['id']}", headers=auth)
    body = got.json()
    assert (body["workStart"], body["lunchStart"], body["lunchMinutes"], body["workEnd"]) == \
        ("09:00", "12:00", 90, "18:00")
    assert body["workingMinutesPerDay"] == 450 and body["restWeekdays"] == [6, 7]
    assert {"start": "2024-10-01", "end": "2024-10-07", "days": 7, "name": "National Day"} in body["holidays"]
    assert {"date": "2024-09-29", "name": "National Day"} in body["makeUpDays"]
    assert body["coveredUntil"] >= 2026
    async with db.tenant_transaction(f"t_{slug}") as session:
        loaded = await services.load(session)
    assert loaded.is_working_day(date(2024, 9, 29)) and not loaded.is_working_day(date(2024, 10, 2))


async def test_contradictory_entries_are_named(client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("calbad")
    auth = bearer(mint(tenant=slug))

    def body(**extra: Any) -> dict[str, Any]:
        return {"code": f"X{uuid.uuid4().hex[:6]}", "name": "Test calendar", **extra}

    # A long holiday with two short ones inside it: both are named, not only the first pair.
    overlapping = await client.post(BASE, headers=auth, json=body(holidays=[
        {"name": "Spring Festival", "start": "2031-01-20", "days": 10},
        {"name": "Inside one", "start": "2031-01-22", "days": 1},
        {"name": "Inside two", "start": "2031-01-27", "days": 2},
        {"name": "Later", "start": "2031-05-01", "days": 3}]))
    assert overlapping.status_code == 409, overlapping.text
    problem = overlapping.json()
    assert problem["type"] == PROBLEM + "conflict"
    assert [e["field"] for e in problem["errors"]] == ["holidays.1", "holidays.2"]
    assert "overlaps holidays.0, Spring Festival" in problem["errors"][0]["message"]

    inside = await client.post(BASE, headers=auth, json=body(
        holidays=[{"name": "National Day", "start": "2031-10-01", "days": 7}],
        makeUpDays=[{"date": "2031-10-03", "name": "Oops"}, {"date": "2031-09-28", "name": "A"},
                    {"date": "2031-09-28", "name": "B"}]))
    assert inside.status_code == 409
    assert [e["field"] for e in inside.json()["errors"]] == ["makeUpDays.0", "makeUpDays.2"]

    edge = await client.post(BASE, headers=auth, json=body(holidays=[{"name": "End", "start": "9999-12-30",
                                                                       "days": 5}]))
    assert edge.status_code == 409 and edge.json()["errors"][0]["field"] == "holidays.0"

    shape = await client.post(BASE, headers=auth, json=body(workStart="12:00"))
    assert shape.status_code == 422 and shape.json()["errors"][0]["field"] == "workStart"
    zone = await client.post(BASE, headers=auth, json=body(timeZone="localtime"))
    assert zone.status_code == 422 and zone.json()["errors"][0]["field"] == "timeZone"
    assert (await client.get(BASE, headers=auth)).json()["total"] == 1  # nothing was stored
    # A holiday on the very last day there is is no contradiction, and the calendar still counts.
    last = await client.post(BASE, headers=auth, json=body(holidays=[{"name": "Last", "start": "9999-12-31",
                                                                       "days": 1}]))
    assert last.status_code == 201, last.text
    assert (await client.get(last.headers["location"], headers=auth)).json()["coveredUntil"] == 9999


async def test_one_default_calendar_and_replacing_one(client: Any, new_tenant: Any, mint: Any, db: Any) -> None:
    slug = await new_tenant("caldef")
    auth = bearer(mint(tenant=slug))
    [cn] = (await client.get(BASE, headers=auth)).json()["items"]
    created = await client.post(BASE, headers=auth, json={
        "code": "sz", "name": "深圳客服 Shenzhen service desk", "workStart": "08:30", "lunchStart": "12:00",
        "lunchMinutes": 60, "workEnd": "17:30", "restWeekdays": [7], "isDefault": True})
    assert created.status_code == 201, created.text
    sz = created.json()
    assert sz["code"] == "SZ" and sz["isDefault"] is True and sz["workingMinutesPerDay"] == 480
    old = (await client.get(f"{BASE}/{cn['id']}", headers=auth)).json()
    assert old["isDefault"] is False and old["version"] == cn["version"] + 1
    async with db.tenant_transaction(f"t_{slug}") as session:
        cleared = (await session.execute(select(tenant_audit.c.action, tenant_audit.c.after).where(
            tenant_audit.c.entity_id == cn["id"]).order_by(tenant_audit.c.occurred_at))).all()
    assert cleared[-1] == ("calendars.default.clear", {"code": "CN", "isDefault": False})
    duplicate = await client.post(BASE, headers=auth, json={"code": "SZ", "name": "again"})
    assert duplicate.status_code == 409 and duplicate.json()["type"] == PROBLEM + "duplicate"

    async with db.tenant_transaction(f"t_{slug}") as session:
        loaded = await services.load(session)
    assert loaded.is_working_day(date(2031, 1, 4))  # a Saturday: this calendar works six days

    url = created.headers["location"]
    change = {"name": "深圳客服", "workStart": "09:00", "lunchMinutes": 0, "isDefault": True,
              "holidays": [{"name": "Company day", "start": "2031-03-03", "days": 1}]}
    assert (await client.put(url, headers=auth, json=change)).status_code == 428
    replaced = await client.put(url, headers={**auth, "If-Match": created.headers["etag"]}, json=change)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["lunchStart"] is None or replaced.json()["lunchMinutes"] == 0
    assert replaced.json()["holidays"] == [{"name": "Company day", "start": "2031-03-03", "end": "2031-03-03",
                                            "days": 1}]
    stale = await client.put(url, headers={**auth, "If-Match": created.headers["etag"]}, json=change)
    assert stale.status_code == 412
    keep = await client.put(url, headers={**auth, "If-Match": replaced.headers["etag"]},
                            json={**change, "isDefault": False})
    assert keep.status_code == 409 and keep.json()["errors"][0]["field"] == "isDefault"

    # Changing calendars needs calendars.manage at the group node.
    reader = str(uuid.uuid4())
    await grant(db, slug, reader, ["org.read"])
    as_reader = bearer(mint(tenant=slug, subject=reader))
    assert (await client.get(BASE, headers=as_reader)).status_code == 200
    refused = await client.put(url, headers={**as_reader, "If-Match": replaced.headers["etag"]}, json=change)
    assert refused.status_code == 403 and "calendars.manage" in refused.json()["detail"]
    assert (await client.get(f"{BASE}/{uuid.uuid4()}", headers=auth)).status_code == 404


def test_periods_of_a_day_without_a_break() -> None:
    assert periods_of(time(9), None, 0, time(17)) == ((time(9), time(17)),)
    assert periods_of(time(9), time(12), 0, time(17)) == ((time(9), time(17)),)
    with pytest.raises(ValueError):
        WorkCalendar(zone=SH, periods=((time(13), time(12)),))
    assert timedelta(seconds=OCTOBER_2024.day_seconds) == timedelta(hours=7, minutes=30)


def test_business_time_across_a_daylight_saving_change() -> None:
    # New York moves its clocks on Sunday 10 March 2024: the working day stays 09:00–18:00 local.
    ny = ZoneInfo("America/New_York")
    cal = WorkCalendar(zone=ny, periods=DAY)
    friday = datetime(2024, 3, 8, 16, tzinfo=ny)
    monday = datetime(2024, 3, 11, 11, tzinfo=ny)
    assert cal.add(friday, 4 * HOUR) == monday
    assert monday.astimezone(UTC) == datetime(2024, 3, 11, 15, tzinfo=UTC)  # already summer time
    assert cal.seconds_between(friday, monday) == 4 * HOUR
    assert cal.seconds_between(friday, datetime(2024, 3, 15, 18, tzinfo=ny)) == (2 + 5 * 7.5) * HOUR


async def test_without_a_calendar_clocks_count_in_the_tenants_time_zone(client: Any, new_tenant: Any, mint: Any,
                                                                        db: Any) -> None:
    slug = await new_tenant("caltz", time_zone="Europe/Berlin")
    auth = bearer(mint(tenant=slug))
    async with db.tenant_transaction(f"t_{slug}") as session:
        await session.execute(delete(WorkingCalendar))  # a group that has none (yet)
    async with db.tenant_transaction(f"t_{slug}") as session:
        fallback = await services.load(session)
    assert fallback.zone == ZoneInfo("Europe/Berlin") and fallback.day_seconds == 7.5 * HOUR
    assert fallback.add(datetime(2031, 3, 3, 9, tzinfo=ZoneInfo("Europe/Berlin")), HOUR) == \
        datetime(2031, 3, 3, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    # A calendar given no time zone is the tenant's.
    created = await client.post(BASE, headers=auth, json={"code": "DE", "name": "Berlin office"})
    assert created.status_code == 201, created.text
    assert created.json()["timeZone"] == "Europe/Berlin" and created.json()["isDefault"] is True
    replaced = await client.put(created.headers["location"], headers={**auth, "If-Match": created.headers["etag"]},
                                json={"name": "Berlin office", "isDefault": True})
    assert replaced.status_code == 200 and replaced.json()["timeZone"] == "Europe/Berlin"
