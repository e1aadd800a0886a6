"""SLA clocks of complaints with fixed clocks, in the seeded official calendar (09:00–12:00 and
13:30–18:00, Asia/Shanghai): across a weekend and the lunch break, across National Day 2024
with its make-up Saturday, through a pause, through a change of policy (the paused time
kept); and the scan: near-breach, breach and escalation by level, told through the outbox,
once each; a changed calendar taken up; the beat task through the real worker."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.auth.models import OutboxMessage
from app.core import clock
from app.core.audit import SYSTEM
from app.domains.complaints import services, tasks
from app.domains.complaints.models import Complaint
from tests.routes import Ctx, _staff_account  # first: it loads the catalogue modules

# isort: split
from tests.catalogue.complaints import (
    BASE,
    approver,
    category,
    decide,
    grant_role,
    new_record,
    ok,
    refresh,
    step,
    tenant_ctx,
)
from tests.worker.conftest import Worker, wait_for

SH = ZoneInfo("Asia/Shanghai")
HOUR = 3600


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=SH)


def iso(value: datetime) -> str:
    return value.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


class Clock:
    def __init__(self, monkeypatch: Any) -> None:
        self.monkeypatch = monkeypatch

    def set(self, instant: datetime) -> None:
        self.monkeypatch.setattr(clock, "utcnow", lambda: instant.astimezone(ZoneInfo("UTC")))


def _due(rec: Any) -> tuple[str | None, str | None]:
    sla = rec.body["sla"]
    return sla["responseDueAt"], sla["resolutionDueAt"]


async def test_a_weekend_and_the_lunch_break(client: Any, db: Any, new_tenant: Any, mint: Any,
                                            monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "slawk", subject="sla-test")
    now = Clock(monkeypatch)
    now.set(at("2024-09-20", "16:00"))  # a Friday
    rec = await new_record(ctx, categoryId=await category(ctx, "SERVICE"))  # 240 and 2250 business minutes
    # First response: 2 h on Friday, the weekend off, 2 h on Monday morning.
    # Resolution (37.5 h): 2 h on Friday, Monday to Thursday (30 h), 5.5 h on Friday 27 — 3 h before
    # lunch and 2.5 h after it.
    assert _due(rec) == (iso(at("2024-09-23", "11:00")), iso(at("2024-09-27", "16:00")))
    now.set(at("2024-09-23", "10:30"))
    await step(ctx, rec, "investigate", {"reply": "We are on it."})
    assert rec.body["sla"]["responseSeconds"] == 3.5 * HOUR and rec.body["sla"]["responseMet"] is True
    # The response clock stopped; its due instant stays as it was.
    assert rec.body["sla"]["responseDueAt"] == iso(at("2024-09-23", "11:00"))
    now.set(at("2024-09-27", "16:30"))
    assert (await refresh(ctx, rec)).body["overdue"] is True
    listed = await ok(await client.get(BASE, headers=ctx.auth, params={"overdue": "true"}))
    assert [i["id"] for i in listed["items"]] == [rec.id]


async def test_national_day_a_make_up_day_a_pause_and_a_policy_change(client: Any, db: Any, new_tenant: Any,
                                                                        mint: Any, monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "slanat", subject="sla-test")
    now = Clock(monkeypatch)
    waterproofing = await category(ctx, "WATERPROOFING")  # 240 minutes, and the quality branch's 4500
    now.set(at("2024-09-30", "15:00"))  # Monday, the eve of National Day
    rec = await new_record(ctx, categoryId=waterproofing)
    # First response: 3 h that Monday, 1–7 October off, 1 h on Tuesday 8 October.
    # Resolution (75 h): 3 h, 8–11 October (30 h), Saturday 12 October, a make-up working day
    # (7.5 h), 14–17 October (30 h), and 4.5 h on Friday 18 October.
    assert _due(rec) == (iso(at("2024-10-08", "10:00")), iso(at("2024-10-18", "15:00")))

    now.set(at("2024-10-08", "09:30"))
    await step(ctx, rec, "investigate", {"reply": "Engineer coming."})
    assert rec.body["sla"]["responseSeconds"] == 3.5 * HOUR

    # Waiting on the customer from Wednesday 10:00 to Thursday 10:00: 7.5 business hours paused.
    now.set(at("2024-10-09", "10:00"))
    await step(ctx, rec, "pause", {"reason": "customer", "note": "Waiting for access to the flat."})
    assert rec.body["sla"]["pausedSince"] and rec.body["sla"]["resolutionDueAt"] is None
    now.set(at("2024-10-30", "10:00"))  # long past the due date: a paused clock is never overdue
    assert (await refresh(ctx, rec)).body["overdue"] is False
    now.set(at("2024-10-10", "10:00"))
    await step(ctx, rec, "resume", {"note": "Access arranged."})
    assert rec.body["sla"]["pausedSeconds"] == 7.5 * HOUR and rec.body["sla"]["pausedSince"] is None
    # The due instant moves by the 7.5 h paused: 3 h on Friday 18, 4.5 h on Monday 21.
    assert _due(rec)[1] == iso(at("2024-10-21", "15:00"))

    # A new policy for the category: open records take it, their paused time kept.
    got = await client.get(f"{BASE}/categories/{waterproofing}", headers=ctx.auth)
    changed = await client.patch(f"{BASE}/categories/{waterproofing}", json={"resolutionMinutes": 3000},
                                 headers={**ctx.auth, "If-Match": got.headers["etag"]})
    assert changed.status_code == 200 and changed.json()["effectiveResolutionMinutes"] == 3000
    await refresh(ctx, rec)
    assert rec.body["sla"]["resolutionTargetMinutes"] == 3000 and rec.body["sla"]["pausedSeconds"] == 7.5 * HOUR
    # 50 h + 7.5 h paused from the receipt: 3 h, 8–11 October, the make-up Saturday, 14–15 October, 2 h on the 16th.
    assert _due(rec)[1] == iso(at("2024-10-16", "11:00"))

    # Resolved on Wednesday 16 October at 10:00: 56.5 business hours since receipt, 7.5 of them paused.
    await step(ctx, rec, "findings", {"cause": "Seal.", "responsibleParty": "contractor"})
    rec.approver = await approver(ctx, rec.project["parentId"])
    await step(ctx, rec, "proposals", {"kind": "repair", "description": "Reseal.", "dueDate": "2024-10-16"})
    await decide(ctx, rec, approve=True)
    await step(ctx, rec, "negotiations", {"customerResponse": "Fine.", "agreed": True})
    now.set(at("2024-10-16", "10:00"))
    await step(ctx, rec, "handling", {"result": "Resealed.", "check": "Dry."})
    assert rec.body["sla"]["resolutionSeconds"] == 49 * HOUR and rec.body["sla"]["resolutionMet"] is True


async def _scan(db: Any, slug: str) -> dict[str, int]:
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        return await services.scan(session)


async def _messages(db: Any, complaint_id: str) -> list[tuple[str, str]]:
    async with db.platform_session() as session:
        rows = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.data["complaintId"].astext == complaint_id).order_by(OutboxMessage.created_at,
                                                                              OutboxMessage.id))).all()
    return [(m.data["event"], m.recipient) for m in rows]


async def test_the_scan_warns_breaches_and_escalates_once(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                         monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "slascan", subject="sla-test")
    now = Clock(monkeypatch)
    now.set(at("2024-11-04", "09:00"))  # a Monday
    handler = await _staff_account(ctx)
    rec = await new_record(ctx, categoryId=await category(ctx, "SERVICE"), handlerId=handler)
    project, branch = rec.project["id"], rec.project["parentId"]
    at_project, at_branch = await _staff_account(ctx), await _staff_account(ctx)
    await grant_role(ctx, at_project, "complaint_supervisor", project)
    await grant_role(ctx, at_branch, "complaint_supervisor", branch)
    group_admin = (await ok(await client.get("/api/v1/identity/accounts", headers=ctx.auth,
                                             params={"q": "test-admin"})))["items"][0]["id"]
    assert await _messages(db, rec.id) == [("complaint.assigned", handler)]

    async def scan_at(day: str, hhmm: str) -> dict[str, int]:
        now.set(at(day, hhmm))
        return await _scan(db, ctx.tenant)

    assert (await scan_at("2024-11-04", "12:00"))["checked"] == 0  # 3 h of 4: nothing is due yet
    # 80% of the first-response target (192 minutes) was at 12:00 + … the lunch break: 13:42.
    warned = await scan_at("2024-11-04", "13:45")
    assert (warned["checked"], warned["warnings"], warned["messages"]) == (1, 1, 1)
    assert (await scan_at("2024-11-04", "13:50"))["checked"] == 0  # told once
    breached = await scan_at("2024-11-04", "14:31")
    assert breached["breaches"] == 1
    # Resolution (37.5 h) runs out on Friday at 18:00: breach and level 1, the project's supervisors.
    await refresh(ctx, rec)
    assert rec.body["sla"]["responseMet"] is False and rec.body["sla"]["responseBreachedAt"]
    # 80% of the resolution target (30 h) ran out on Thursday at 18:00.
    assert (await scan_at("2024-11-08", "09:00"))["warnings"] == 1
    breach = await scan_at("2024-11-08", "18:00")
    assert (breach["breaches"], breach["escalations"]) == (1, 1)
    # 150% (56.25 h) is Wednesday 13 November at 14:15; 200% (75 h) Friday 15 November at 18:00.
    assert (await scan_at("2024-11-13", "14:14"))["checked"] == 0
    assert (await scan_at("2024-11-13", "14:15"))["escalations"] == 1
    late = await scan_at("2024-11-25", "09:00")
    assert late["escalations"] == 1 and (await scan_at("2024-11-26", "09:00"))["checked"] == 0
    await refresh(ctx, rec)
    assert rec.body["sla"]["escalationLevel"] == 3
    escalated = await ok(await client.get(BASE, headers=ctx.auth, params={"escalated": "true"}))
    assert [i["id"] for i in escalated["items"]] == [rec.id]
    assert await _messages(db, rec.id) == [
        ("complaint.assigned", handler),
        ("complaint.response_warning", handler),
        ("complaint.response_breach", handler), ("complaint.response_breach", at_project),
        ("complaint.resolution_warning", handler),
        ("complaint.resolution_breach", handler), ("complaint.resolution_breach", at_project),
        ("complaint.escalation", at_project), ("complaint.escalation", handler),
        ("complaint.escalation", at_branch), ("complaint.escalation", handler),
        ("complaint.escalation", group_admin), ("complaint.escalation", handler)]
    actions = [e["action"] for e in rec.body["events"] if e["actorId"] == "system"]
    assert actions == ["response_warning", "response_breach", "resolution_warning", "resolution_breach", "escalated",
                       "escalated", "escalated"]


async def test_a_changed_calendar_is_taken_up_by_the_scan(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                         monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "slacal", subject="sla-test")
    now = Clock(monkeypatch)
    now.set(at("2031-03-03", "09:00"))  # a Monday, a year the official calendar has not reached
    rec = await new_record(ctx, categoryId=await category(ctx, "SERVICE"))
    assert _due(rec) == (iso(at("2031-03-03", "14:30")), iso(at("2031-03-07", "18:00")))
    # The group declares Thursday 6 March a company holiday.
    [cn] = (await ok(await client.get("/api/v1/calendars", headers=ctx.auth)))["items"]
    got = await client.get(f"/api/v1/calendars/{cn['id']}", headers=ctx.auth)
    body = {k: got.json()[k] for k in ("name", "timeZone", "workStart", "lunchStart", "lunchMinutes", "workEnd",
                                       "restWeekdays", "makeUpDays", "isDefault")}
    body["holidays"] = [{k: h[k] for k in ("name", "start", "days")} for h in got.json()["holidays"]] + [
        {"name": "Company day", "start": "2031-03-06", "days": 1}]
    replaced = await client.put(f"/api/v1/calendars/{cn['id']}", json=body,
                                headers={**ctx.auth, "If-Match": got.headers["etag"]})
    assert replaced.status_code == 200, replaced.text
    now.set(at("2031-03-03", "09:30"))
    assert (await _scan(db, ctx.tenant))["checked"] == 1
    assert _due(await refresh(ctx, rec))[1] == iso(at("2031-03-10", "18:00"))


async def test_the_beat_task_runs_through_the_worker(client: Any, worker: Worker, db: Any, new_tenant: Any,
                                                    mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "slabeat", subject="sla-test")
    received = datetime.now(ZoneInfo("UTC")) - timedelta(days=40)
    rec = await new_record(ctx, categoryId=await category(ctx, "SERVICE"), receivedAt=received.isoformat())
    assert rec.body["overdue"] is True
    tasks.sla_scan.apply_async()

    async def escalated() -> bool:
        async with db.tenant_session(f"t_{ctx.tenant}") as session:
            row = await session.get(Complaint, uuid.UUID(rec.id))
            return row is not None and row.escalation_level == 3

    assert await wait_for(worker, escalated, "the SLA scan")
    await refresh(ctx, rec)
    assert rec.body["sla"]["responseMet"] is False and rec.body["sla"]["resolutionMet"] is False


async def test_a_policy_change_leaves_stopped_clocks_their_targets(client: Any, db: Any, new_tenant: Any,
                                                                   mint: Any) -> None:
    from tests.catalogue.complaints import record_in
    from tests.domains.test_complaints import _actions

    ctx = await tenant_ctx(client, db, new_tenant, mint, "slapol", subject="sla-test")
    service = await category(ctx, "SERVICE")  # the tenant's defaults: 240 and 2250
    waiting = await new_record(ctx, categoryId=service)
    answered = await record_in(ctx, "investigating", categoryId=service)
    resolved = await record_in(ctx, "feedback", categoryId=service)
    closed = await record_in(ctx, "closed", categoryId=service)
    assert resolved.body["sla"]["resolutionMet"] is True and answered.body["sla"]["responseMet"] is True

    settings = await client.get(f"{BASE}/settings", headers=ctx.auth)
    put = await client.put(f"{BASE}/settings", headers={**ctx.auth, "If-Match": settings.headers["etag"]},
                           json={"responseMinutes": 60, "resolutionMinutes": 900, "warnPercent": 80,
                                 "escalation": []})
    assert put.status_code == 200, put.text

    def targets(rec: Any) -> tuple[int, int]:
        return rec.body["sla"]["responseTargetMinutes"], rec.body["sla"]["resolutionTargetMinutes"]

    # The running clocks take the new targets; a verdict keeps the target it was reached against.
    assert targets(await refresh(ctx, waiting)) == (60, 900)
    assert targets(await refresh(ctx, answered)) == (240, 900)
    assert targets(await refresh(ctx, resolved)) == (240, 2250)
    assert resolved.body["sla"]["resolutionMet"] is True
    assert targets(await refresh(ctx, closed)) == (240, 2250)
    # Only what changed is audited.
    assert "complaints.sla.retarget" in await _actions(db, ctx.tenant, waiting.id)
    assert "complaints.sla.retarget" not in await _actions(db, ctx.tenant, resolved.id)
    # A reopened record's resolution clock runs again, against the policy of now.
    await step(ctx, closed, "reopen", {"reason": "The leak is back."})
    assert targets(closed) == (240, 900)


async def _add_holiday(ctx: Ctx, name: str, start: str) -> None:
    [cn] = (await ok(await ctx.client.get("/api/v1/calendars", headers=ctx.auth)))["items"]
    got = await ctx.client.get(f"/api/v1/calendars/{cn['id']}", headers=ctx.auth)
    body = {k: got.json()[k] for k in ("name", "timeZone", "workStart", "lunchStart", "lunchMinutes", "workEnd",
                                       "restWeekdays", "makeUpDays", "isDefault")}
    body["holidays"] = [{k: h[k] for k in ("name", "start", "days")} for h in got.json()["holidays"]] + [
        {"name": name, "start": start, "days": 1}]
    replaced = await ctx.client.put(f"/api/v1/calendars/{cn['id']}", json=body,
                                    headers={**ctx.auth, "If-Match": got.headers["etag"]})
    assert replaced.status_code == 200, replaced.text


async def test_the_scan_judges_a_line_where_the_new_calendar_draws_it(client: Any, db: Any, new_tenant: Any,
                                                                      mint: Any, monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "slacal2", subject="sla-test")
    now = Clock(monkeypatch)
    now.set(at("2031-03-03", "09:00"))  # a Monday
    rec = await new_record(ctx, categoryId=await category(ctx, "SERVICE"))
    assert _due(rec)[0] == iso(at("2031-03-03", "14:30"))
    # That Monday becomes a company holiday: no working time has passed, whatever the old line said.
    await _add_holiday(ctx, "Company day", "2031-03-03")
    now.set(at("2031-03-03", "15:00"))
    scanned = await _scan(db, ctx.tenant)
    assert (scanned["checked"], scanned["warnings"], scanned["breaches"]) == (1, 0, 0)
    await refresh(ctx, rec)
    assert rec.body["sla"]["responseBreachedAt"] is None and rec.body["overdue"] is False
    assert _due(rec)[0] == iso(at("2031-03-04", "14:30"))


async def test_a_policy_without_escalation_levels_stops_escalating(client: Any, db: Any, new_tenant: Any,
                                                                   mint: Any, monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "slaesc", subject="sla-test")
    now = Clock(monkeypatch)
    now.set(at("2024-11-04", "09:00"))  # a Monday
    rec = await new_record(ctx, categoryId=await category(ctx, "SERVICE"))
    now.set(at("2024-11-08", "18:00"))  # 100% of the resolution target: level 1
    assert (await _scan(db, ctx.tenant))["escalations"] == 1
    settings = await client.get(f"{BASE}/settings", headers=ctx.auth)
    put = await client.put(f"{BASE}/settings", headers={**ctx.auth, "If-Match": settings.headers["etag"]},
                           json={"responseMinutes": 240, "resolutionMinutes": 2250, "warnPercent": 80,
                                 "escalation": []})
    assert put.status_code == 200, put.text
    now.set(at("2024-11-29", "09:00"))  # long past the 150% and 200% lines of the old rule
    scanned = await _scan(db, ctx.tenant)
    assert scanned["escalations"] == 0
    assert (await refresh(ctx, rec)).body["sla"]["escalationLevel"] == 1


async def test_clocks_drawn_in_a_calendar_that_is_gone_are_drawn_again(client: Any, db: Any, new_tenant: Any,
                                                                       mint: Any, monkeypatch: Any) -> None:
    from sqlalchemy import delete

    from app.domains.calendars.models import WorkingCalendar

    ctx = await tenant_ctx(client, db, new_tenant, mint, "slagone", subject="sla-test")
    now = Clock(monkeypatch)
    now.set(at("2024-09-30", "15:00"))  # the eve of National Day
    rec = await new_record(ctx, categoryId=await category(ctx, "SERVICE"))
    assert _due(rec)[0] == iso(at("2024-10-08", "10:00"))
    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(delete(WorkingCalendar))  # the group has no calendar any more
    now.set(at("2024-09-30", "16:00"))
    assert (await _scan(db, ctx.tenant))["checked"] == 1
    # The standard working day, no holidays: 3 h on Monday, 1 h on Tuesday 1 October.
    assert _due(await refresh(ctx, rec))[0] == iso(at("2024-10-01", "10:00"))
    assert (await _scan(db, ctx.tenant))["checked"] == 0
