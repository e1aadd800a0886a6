"""Monthly complaint statistics checked against a hand-computed fixture, in the caller's
subtree; the recurring causes; and the CSV/XLSX export as a background job with progress,
through the real worker.

The fixture (November 2024, Asia/Shanghai; working hours 09:00–12:00 and 13:30–18:00, no
holiday that month), two projects in two branches:

| rec | project | category (quality) | channel | received | first response | resolved | end |
| --- | --- | --- | --- | --- | --- | --- | --- |
| R1 | P1 | waterproofing (yes) | hotline | Mon 4 09:00 | 10:00: 1 h, met | Wed 6 10:00: 16 h, met | closed, 5/5 |
| R2 | P1 | service (no) | app | Mon 4 14:00 | Tue 5 10:00: 5 h, missed | Tue 12 18:00: 49 h, missed | closed, 2/5 |
| R3 | P2 | service | hotline | Wed 6 09:00 | 09:36: 0.6 h, met | — | litigation |
| R4 | P2 | waterproofing | letter | Thu 7 09:00 | — | — | received |
| R5 | P1 | service (a dispute) | walk_in | Fri 8 09:00 | 11:00: 2 h, met | 17:00, then reopened: — | investigating |

Outside the month: one received on 31 October, one on 2 December.
"""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from app.core import clock
from tests.routes import Ctx, _new_project, _staff_account  # first: it loads the catalogue modules

# isort: split
from tests.catalogue.complaints import (
    BASE,
    Rec,
    approver,
    category,
    decide,
    grant_role,
    new_record,
    ok,
    step,
    tenant_ctx,
)
from tests.conftest import bearer
from tests.worker.conftest import Worker, finished_job

SH = ZoneInfo("Asia/Shanghai")


def _at(day: int, hhmm: str, month: int = 11) -> datetime:
    return datetime.fromisoformat(f"2024-{month:02d}-{day:02d}T{hhmm}").replace(tzinfo=SH).astimezone(ZoneInfo("UTC"))


async def _fixture(client: Any, db: Any, new_tenant: Any, mint: Any, monkeypatch: Any) -> tuple[Ctx, dict[str, Any]]:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "stats", subject="stats-test")

    def now(day: int, hhmm: str, month: int = 11) -> None:
        monkeypatch.setattr(clock, "utcnow", lambda: _at(day, hhmm, month))

    p1, _ = await _new_project(ctx)
    p2, _ = await _new_project(ctx)
    waterproofing, service = await category(ctx, "WATERPROOFING"), await category(ctx, "SERVICE")
    approvers = {p1["id"]: await approver(ctx, p1["parentId"]), p2["id"]: await approver(ctx, p2["parentId"])}

    async def received(project: dict[str, Any], cat: str, channel: str, register: str = "complaint") -> Rec:
        rec = await new_record(ctx, register, project=project, categoryId=cat, channel=channel)
        rec.approver = approvers[project["id"]]
        return rec

    async def to_handling(rec: Rec) -> None:
        await step(ctx, rec, "findings", {"cause": "Seal.", "responsibleParty": "contractor"})
        await step(ctx, rec, "proposals", {"kind": "apology", "description": "Sorry."})
        await decide(ctx, rec, approve=True)
        await step(ctx, rec, "negotiations", {"customerResponse": "OK.", "agreed": True})

    now(31, "10:00", month=10)
    await received(p1, service, "hotline")
    now(4, "09:00")
    r1 = await received(p1, waterproofing, "hotline")
    now(4, "14:00")
    r2 = await received(p1, service, "app")
    now(4, "10:00")
    await step(ctx, r1, "investigate", {"reply": "On it."})
    await to_handling(r1)
    now(5, "10:00")
    await step(ctx, r2, "investigate", {"reply": "On it."})
    await to_handling(r2)
    now(6, "09:00")
    r3 = await received(p2, service, "hotline")
    now(6, "09:36")
    await step(ctx, r3, "investigate", {"reply": "On it."})
    await step(ctx, r3, "findings", {"cause": "Contract terms.", "responsibleParty": "developer"})
    await step(ctx, r3, "litigation", {"caseReference": "(2024)粤0305民初1号"})
    now(6, "10:00")
    await step(ctx, r1, "handling", {"result": "Fixed.", "check": "Dry."})
    await step(ctx, r1, "feedback", {"opinion": "Great.", "satisfaction": 5})
    now(7, "09:00")
    await received(p2, waterproofing, "letter")
    now(8, "09:00")
    r5 = await received(p1, service, "walk_in", "dispute")
    now(8, "11:00")
    await step(ctx, r5, "investigate", {"reply": "On it."})
    await to_handling(r5)
    now(8, "17:00")
    await step(ctx, r5, "handling", {"result": "Settled.", "check": "Signed."})
    await step(ctx, r5, "feedback", {"opinion": "Would not rate."})
    now(11, "09:00")
    await step(ctx, r5, "reopen", {"reason": "The other party did not pay."})
    now(12, "18:00")
    await step(ctx, r2, "handling", {"result": "Fixed late.", "check": "Checked."})
    await step(ctx, r2, "feedback", {"opinion": "Too slow.", "satisfaction": 2})
    now(2, "10:00", month=12)
    await received(p2, service, "email")
    return ctx, {"p1": p1, "p2": p2, "waterproofing": waterproofing, "service": service}


def _row(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(r for r in rows if r["key"] == key)


async def test_monthly_statistics_against_the_hand_computed_fixture(client: Any, db: Any, new_tenant: Any,
                                                                   mint: Any, monkeypatch: Any) -> None:
    ctx, f = await _fixture(client, db, new_tenant, mint, monkeypatch)
    stats = await ok(await client.get(f"{BASE}/statistics", headers=ctx.auth, params={"month": "2024-11"}))
    assert (stats["periodStart"], stats["periodEnd"]) == ("2024-10-31T16:00:00Z", "2024-11-30T16:00:00Z")
    assert stats["totals"] == {
        "received": 5, "quality": 2, "nonQuality": 3, "open": 2, "closed": 2, "litigation": 1, "reopened": 1,
        # (1 + 5 + 0.6 + 2) / 4 = 2.15; the median of 0.6, 1, 2, 5 is 1.5.
        "responseHours": {"count": 4, "average": 2.15, "median": 1.5},
        "resolutionHours": {"count": 2, "average": 32.5, "median": 32.5},
        "responseAttainment": {"met": 3, "measured": 4, "percent": 75.0},
        "resolutionAttainment": {"met": 1, "measured": 2, "percent": 50.0},
        "satisfaction": {"rated": 2, "average": 3.5, "distribution": [0, 1, 0, 0, 1]},
    }
    waterproofing = _row(stats["byCategory"], f["waterproofing"])
    assert (waterproofing["code"], waterproofing["received"], waterproofing["closed"],
            waterproofing["averageResponseHours"], waterproofing["averageResolutionHours"],
            waterproofing["responseAttainmentPercent"], waterproofing["averageSatisfaction"]) == \
        ("WATERPROOFING", 2, 1, 1.0, 16.0, 100.0, 5.0)
    service = _row(stats["byCategory"], f["service"])
    # (5 + 0.6 + 2) / 3 = 2.53; two of three first responses in time; none of one resolution.
    assert (service["received"], service["closed"], service["litigation"], service["reopened"],
            service["averageResponseHours"], service["averageResolutionHours"],
            service["responseAttainmentPercent"], service["resolutionAttainmentPercent"],
            service["averageSatisfaction"]) == (3, 1, 1, 1, 2.53, 49.0, 66.67, 0.0, 2.0)
    assert [(r["key"], r["received"]) for r in stats["byProject"]] == [(f["p1"]["id"], 3), (f["p2"]["id"], 2)]
    assert [(r["key"], r["received"]) for r in stats["byBranch"]] == [(f["p1"]["parentId"], 3),
                                                                       (f["p2"]["parentId"], 2)]
    assert sorted((r["key"], r["received"]) for r in stats["byChannel"]) == [
        ("app", 1), ("hotline", 2), ("letter", 1), ("walk_in", 1)]

    # One register, and a two-month period that takes in October's record.
    complaints = await ok(await client.get(f"{BASE}/statistics", headers=ctx.auth,
                                           params={"month": "2024-11", "register": "complaint"}))
    assert complaints["totals"]["received"] == 4 and complaints["totals"]["reopened"] == 0
    wider = await ok(await client.get(f"{BASE}/statistics", headers=ctx.auth, params={"month": "2024-10",
                                                                                     "months": 2}))
    assert wider["totals"]["received"] == 6
    empty = await ok(await client.get(f"{BASE}/statistics", headers=ctx.auth, params={"month": "2023-11"}))
    assert empty["totals"]["received"] == 0 and empty["byCategory"] == []

    # A project's own staff see their project's figures only.
    account = await _staff_account(ctx)
    await grant_role(ctx, account, "complaint_handler", f["p2"]["id"])
    as_p2 = bearer(mint(tenant=ctx.tenant, subject=account, scopes=["complaints:read"]))
    theirs = await ok(await client.get(f"{BASE}/statistics", headers=as_p2, params={"month": "2024-11"}))
    assert theirs["totals"]["received"] == 2 and theirs["totals"]["litigation"] == 1
    assert [r["key"] for r in theirs["byProject"]] == [f["p2"]["id"]]
    nobody = bearer(mint(tenant=ctx.tenant, subject=str(uuid.uuid4()), scopes=["complaints:read"]))
    assert (await client.get(f"{BASE}/statistics", headers=nobody)).status_code == 403

    # Recurring causes: service complaints in P1 (October's and R2; R5 is a dispute).
    recurring = await ok(await client.get(f"{BASE}/recurring", headers=ctx.auth, params={
        "month": "2024-10", "months": 2, "register": "complaint"}))
    assert [(r["projectId"], r["categoryCode"], r["count"]) for r in recurring["items"]] == [
        (f["p1"]["id"], "SERVICE", 2)]


async def test_the_export_is_a_job_with_progress(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                 monkeypatch: Any, worker: Worker) -> None:
    ctx, f = await _fixture(client, db, new_tenant, mint, monkeypatch)
    monkeypatch.undo()  # the worker runs on the real clock; the period is named
    started = await client.post(f"{BASE}/statistics/exports", headers=ctx.auth, json={"month": "2024-11"})
    job = await ok(started, 202)
    assert started.headers["location"] == f"/api/v1/jobs/{job['id']}"
    early = await client.get(f"{BASE}/statistics/exports/{job['id']}/csv", headers=ctx.auth)
    assert early.status_code in (200, 409)
    done = await finished_job(db, worker, ctx.tenant, uuid.UUID(job["id"]))
    assert done.status.value == "succeeded", done.error
    assert (done.progress, done.done, done.total) == (100, 3, 3)
    assert done.result["statistics"]["totals"]["received"] == 5

    answer = await client.get(f"{BASE}/statistics/exports/{job['id']}/csv", headers=ctx.auth)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="complaint-statistics-2024-11-1m.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    total = rows[0]
    assert (total["section"], total["received"], total["closed"], total["averageResponseHours"],
            total["responseAttainmentPercent"], total["averageSatisfaction"]) == ("total", "5", "2", "2.15", "75.0",
                                                                                  "3.5")
    assert {(r["section"], r["code"], r["received"]) for r in rows if r["section"] == "category"} == {
        ("category", "WATERPROOFING", "2"), ("category", "SERVICE", "3")}

    workbook = await client.get(f"{BASE}/statistics/exports/{job['id']}/xlsx", headers=ctx.auth)
    assert workbook.status_code == 200
    with zipfile.ZipFile(io.BytesIO(workbook.content)) as book:
        sheets = book.read("xl/workbook.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    for name in ("Summary", "By category", "By project", "By branch", "By channel"):
        assert f'name="{name}"' in sheets
    assert "First-response SLA attainment %" in strings and "WATERPROOFING" in strings

    # Only its requester downloads it.
    other = bearer(mint(tenant=ctx.tenant, subject=str(uuid.uuid4()), scopes=["complaints:read"]))
    assert (await client.get(f"{BASE}/statistics/exports/{job['id']}/csv", headers=other)).status_code == 404


async def test_a_reopened_record_leaves_its_earlier_rating_behind(client: Any, db: Any, new_tenant: Any,
                                                                  mint: Any) -> None:
    from tests.catalogue.complaints import record_in

    ctx = await tenant_ctx(client, db, new_tenant, mint, "statsro", subject="stats-test")
    rec = await record_in(ctx, "closed")  # rated 4

    async def satisfaction() -> dict[str, Any]:
        stats = await ok(await client.get(f"{BASE}/statistics", headers=ctx.auth))
        return stats["totals"]["satisfaction"]  # type: ignore[no-any-return]

    assert await satisfaction() == {"rated": 1, "average": 4.0, "distribution": [0, 0, 0, 1, 0]}
    await step(ctx, rec, "reopen", {"reason": "The leak is back."})
    # The rating judged a result that did not hold: the record (and its figures) wait for a new one.
    assert rec.body["satisfaction"] is None and rec.body["feedbackOpinion"] is None
    assert await satisfaction() == {"rated": 0, "average": None, "distribution": [0, 0, 0, 0, 0]}
    assert [e["note"] for e in rec.body["events"] if e["action"] == "closed"] == ["Fine."]  # the history keeps it


def test_the_files_keep_names_as_text() -> None:
    """A category or project name is the group's text: neither file may turn it into a formula."""
    from app.domains.complaints import statistics
    from app.domains.complaints.schemas import GroupRow, StatisticsOut

    stats = msgspec.convert({
        "month": "2024-11", "months": 1, "periodStart": "2024-10-31T16:00:00Z", "periodEnd": "2024-11-30T16:00:00Z",
        "register": None, "totals": {
            "received": 1, "quality": 0, "nonQuality": 1, "open": 1, "closed": 0, "litigation": 0, "reopened": 0,
            "responseHours": {"count": 0, "average": None, "median": None},
            "resolutionHours": {"count": 0, "average": None, "median": None},
            "responseAttainment": {"met": 0, "measured": 0, "percent": None},
            "resolutionAttainment": {"met": 0, "measured": 0, "percent": None},
            "satisfaction": {"rated": 0, "average": None, "distribution": [0, 0, 0, 0, 0]}},
        "byCategory": [], "byProject": [], "byBranch": [], "byChannel": []}, StatisticsOut)
    row = GroupRow(key=str(uuid.uuid4()), code="=CODE", name='=HYPERLINK("http://example.com","x")', received=1,
                   closed=0, litigation=0, reopened=0, average_response_hours=None, average_resolution_hours=None,
                   response_attainment_percent=None, resolution_attainment_percent=None, average_satisfaction=None)
    stats.by_category = [row]
    rows = list(csv.reader(io.StringIO(statistics.render_csv(stats).removeprefix("\ufeff"))))
    assert rows[2][2:4] == ["'=CODE", "'=HYPERLINK(\"http://example.com\",\"x\")"]
    with zipfile.ZipFile(io.BytesIO(statistics.render_xlsx(stats))) as book:
        sheets = [book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/")]
        strings = book.read("xl/sharedStrings.xml").decode()
    assert not any("<f>" in sheet for sheet in sheets)
    assert "=HYPERLINK" in strings and "=CODE" in strings


async def test_months_and_numbers_follow_the_tenants_time_zone(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                               monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "statsny", subject="stats-test", time_zone="America/New_York")
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2025, 1, 10, 15, tzinfo=ZoneInfo("UTC")))
    project, _ = await _new_project(ctx)
    # The last evening of November and the first of December, New York time (both December in UTC).
    november = await new_record(ctx, project=project, receivedAt="2024-11-30T23:30:00-05:00")
    await new_record(ctx, project=project, receivedAt="2024-12-01T00:30:00-05:00")
    new_year = await new_record(ctx, project=project, receivedAt="2024-12-31T23:30:00-05:00")
    assert november.body["number"].startswith("TS-2024-") and new_year.body["number"].startswith("TS-2024-")

    async def received(month: str) -> int:
        stats = await ok(await client.get(f"{BASE}/statistics", headers=ctx.auth, params={"month": month}))
        return stats["totals"]["received"]  # type: ignore[no-any-return]

    assert (await received("2024-11"), await received("2024-12"), await received("2025-01")) == (1, 2, 0)
    stats = await ok(await client.get(f"{BASE}/statistics", headers=ctx.auth, params={"month": "2024-11"}))
    assert (stats["periodStart"], stats["periodEnd"]) == ("2024-11-01T04:00:00Z", "2024-12-01T05:00:00Z")
