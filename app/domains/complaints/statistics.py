"""Monthly complaint statistics (``002``): what was received in a period of whole months, in
the caller's subtree, and what became of it.

A cohort: every figure is about the records *received* in the period (counted in the
tenant's time zone), as they stand now: how many were closed, went to litigation, were
reopened; business hours to the first response and to resolution; SLA attainment (records
whose clock has a verdict: met, or missed and marked so); satisfaction. One query with
GROUPING SETS reads the period once for the totals and every breakdown (category, project,
branch, channel).

The CSV and XLSX renderings are made by a background job (``tasks.export_statistics``).
"""

from __future__ import annotations

import base64
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import xlsxwriter
from sqlalchemy import Float, and_, cast, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.jobs import JobStatus, Progress, get_job
from app.core.problems import ProblemError
from app.core.spreadsheets import BOM, text_cell
from app.domains.access.authz import Authorizer
from app.domains.complaints.models import OPEN_STATUSES, Complaint, ComplaintCategory, ComplaintStatus, Register
from app.domains.complaints.schemas import (
    Attainment,
    GroupRow,
    Hours,
    RecurringOut,
    RecurringPage,
    SatisfactionOut,
    StatisticsOut,
    Totals,
)
from app.domains.complaints.services import READ
from app.domains.org.models import OrgNode
from app.tenants.bound import time_zone

EXPORT_KIND = "complaints.statistics_export"
CSV_COLUMNS = ["section", "key", "code", "name", "received", "closed", "litigation", "reopened",
               "averageResponseHours", "averageResolutionHours", "responseAttainmentPercent",
               "resolutionAttainmentPercent", "averageSatisfaction"]


@dataclass(frozen=True)
class Period:
    month: str
    months: int
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC


async def period_of(session: AsyncSession, month: str | None, months: int) -> Period:
    """Whole months from ``month`` (YYYY-MM; the current one when None) on, in the tenant's time zone."""
    zone = ZoneInfo(await time_zone(session))
    if month is None:
        month = clock.utcnow().astimezone(zone).strftime("%Y-%m")
    year, first = (int(p) for p in month.split("-"))
    last = first - 1 + months
    start = datetime(year, first, 1, tzinfo=zone)
    end = datetime(year + last // 12, last % 12 + 1, 1, tzinfo=zone)
    return Period(month=month, months=months, start=start.astimezone(ZoneInfo("UTC")),
                  end=end.astimezone(ZoneInfo("UTC")))


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


async def compute(session: AsyncSession, authz: Authorizer, period: Period,
                  register: Register | None) -> StatisticsOut:
    project = OrgNode
    branch_id = project.parent_id.label("branch_id")
    keys = (Complaint.category_id, Complaint.node_id, branch_id, Complaint.channel)
    closed = Complaint.status == ComplaintStatus.closed
    measures = [
        func.count().label("received"),
        func.count().filter(closed).label("closed"),
        func.count().filter(Complaint.litigated_at.is_not(None)).label("litigation"),
        func.count().filter(Complaint.reopen_count > 0).label("reopened"),
        func.avg(Complaint.response_seconds).label("response_avg"),
        func.avg(Complaint.resolution_seconds).label("resolution_avg"),
        func.count().filter(Complaint.response_met.is_(True)).label("response_met"),
        func.count().filter(Complaint.response_met.is_not(None)).label("response_measured"),
        func.count().filter(Complaint.resolution_met.is_(True)).label("resolution_met"),
        func.count().filter(Complaint.resolution_met.is_not(None)).label("resolution_measured"),
        func.avg(cast(Complaint.satisfaction, Float)).label("satisfaction_avg"),
        # The rest matter for the totals only (GROUPING SETS computes them for every group).
        func.count().filter(Complaint.quality.is_(True)).label("quality"),
        func.count().filter(Complaint.status.in_(OPEN_STATUSES)).label("open"),
        func.count(Complaint.response_seconds).label("response_count"),
        func.percentile_cont(0.5).within_group(Complaint.response_seconds).label("response_median"),
        func.count(Complaint.resolution_seconds).label("resolution_count"),
        func.percentile_cont(0.5).within_group(Complaint.resolution_seconds).label("resolution_median"),
        func.count(Complaint.satisfaction).label("rated"),
        *(func.count().filter(Complaint.satisfaction == k).label(f"rated_{k}") for k in range(1, 6)),
    ]
    where = [Complaint.received_at >= period.start, Complaint.received_at < period.end,
             authz.visible(READ, Complaint.node_id)]
    if register is not None:
        where.append(Complaint.register == register)
    stmt = (select(*(func.grouping(k).label(f"g{i}") for i, k in enumerate(keys)), *keys, *measures)
            .select_from(Complaint).join(project, project.id == Complaint.node_id).where(*where)
            .group_by(func.grouping_sets(*(tuple_(k) for k in keys), tuple_())))
    rows = (await session.execute(stmt)).mappings().all()
    total = next((r for r in rows if all(r[f"g{i}"] == 1 for i in range(len(keys)))), None)
    names = await _names(session, {r["category_id"] for r in rows if r["g0"] == 0},
                         {r["node_id"] for r in rows if r["g1"] == 0} | {r["branch_id"] for r in rows if r["g2"] == 0})

    def group(index: int, key: str) -> list[GroupRow]:
        # The rows of the grouping set of key ``index`` alone.
        found = [r for r in rows if all(r[f"g{j}"] == (0 if j == index else 1) for j in range(len(keys)))]
        out = []
        for r in found:
            value = r[key]
            ident = value.value if hasattr(value, "value") else str(value)
            code, name = names.get(value, (None, ident)) if isinstance(value, uuid.UUID) else (None, ident)
            out.append(_row(r, ident, code, name))
        return sorted(out, key=lambda g: (-g.received, g.code or "", g.name))

    return StatisticsOut(
        month=period.month, months=period.months, period_start=period.start, period_end=period.end,
        register=register, totals=_totals(total), by_category=group(0, "category_id"), by_project=group(1, "node_id"),
        by_branch=group(2, "branch_id"), by_channel=group(3, "channel"))


async def _names(session: AsyncSession, categories: set[Any], nodes: set[Any]) -> dict[uuid.UUID, tuple[str, str]]:
    found: dict[uuid.UUID, tuple[str, str]] = {}
    if categories:
        for i, code, name in (await session.execute(select(ComplaintCategory.id, ComplaintCategory.code,
                                                           ComplaintCategory.name)
                                                    .where(ComplaintCategory.id.in_(categories)))).all():
            found[i] = (code, name)
    nodes.discard(None)
    if nodes:
        for i, code, name in (await session.execute(select(OrgNode.id, OrgNode.code, OrgNode.name)
                                                    .where(OrgNode.id.in_(nodes)))).all():
            found[i] = (code, name)
    return found


def _row(r: Any, key: str, code: str | None, name: str) -> GroupRow:
    return GroupRow(key=key, code=code, name=name, received=r["received"], closed=r["closed"],
                    litigation=r["litigation"], reopened=r["reopened"],
                    average_response_hours=_hours(r["response_avg"]),
                    average_resolution_hours=_hours(r["resolution_avg"]),
                    response_attainment_percent=_percent(r["response_met"], r["response_measured"]),
                    resolution_attainment_percent=_percent(r["resolution_met"], r["resolution_measured"]),
                    average_satisfaction=_round(r["satisfaction_avg"]))


def _totals(r: Any) -> Totals:
    if r is None:  # nothing received in the period
        none = Hours(count=0, average=None, median=None)
        return Totals(received=0, quality=0, non_quality=0, open=0, closed=0, litigation=0, reopened=0,
                      response_hours=none, resolution_hours=none,
                      response_attainment=Attainment(met=0, measured=0, percent=None),
                      resolution_attainment=Attainment(met=0, measured=0, percent=None),
                      satisfaction=SatisfactionOut(rated=0, average=None, distribution=[0] * 5))
    return Totals(
        received=r["received"], quality=r["quality"], non_quality=r["received"] - r["quality"], open=r["open"],
        closed=r["closed"], litigation=r["litigation"], reopened=r["reopened"],
        response_hours=Hours(count=r["response_count"], average=_hours(r["response_avg"]),
                             median=_hours(r["response_median"])),
        resolution_hours=Hours(count=r["resolution_count"], average=_hours(r["resolution_avg"]),
                               median=_hours(r["resolution_median"])),
        response_attainment=Attainment(met=r["response_met"], measured=r["response_measured"],
                                       percent=_percent(r["response_met"], r["response_measured"])),
        resolution_attainment=Attainment(met=r["resolution_met"], measured=r["resolution_measured"],
                                         percent=_percent(r["resolution_met"], r["resolution_measured"])),
        satisfaction=SatisfactionOut(rated=r["rated"], average=_round(r["satisfaction_avg"]),
                                     distribution=[r[f"rated_{k}"] for k in range(1, 6)]))


# -------------------------------------------------------------------- recurring causes


async def recurring(session: AsyncSession, authz: Authorizer, period: Period, min_count: int,
                    register: Register | None) -> RecurringPage:
    """Category × project pairs with at least ``min_count`` records received in the period:
    where a root-cause analysis is due."""
    where = [Complaint.received_at >= period.start, Complaint.received_at < period.end,
             authz.visible(READ, Complaint.node_id)]
    if register is not None:
        where.append(Complaint.register == register)
    count = func.count().label("count")
    stmt = (select(Complaint.category_id, Complaint.node_id, count,
                   func.array_agg(Complaint.number).label("numbers"))
            .where(and_(*where)).group_by(Complaint.category_id, Complaint.node_id)
            .having(func.count() >= min_count).order_by(count.desc(), Complaint.category_id, Complaint.node_id)
            .limit(200))
    rows = (await session.execute(stmt)).all()
    names = await _names(session, {r[0] for r in rows}, {r[1] for r in rows})
    return RecurringPage(month=period.month, months=period.months, min_count=min_count, items=[
        RecurringOut(category_id=cat, category_code=names[cat][0], category_name=names[cat][1], project_id=node,
                     project_name=names[node][1], count=n, numbers=sorted(numbers)) for cat, node, n, numbers in rows])


# ------------------------------------------------------------------------------ exports


def _table(stats: StatisticsOut) -> list[list[Any]]:
    t = stats.totals
    rows: list[list[Any]] = [["total", "all", None, "All", t.received, t.closed, t.litigation, t.reopened,
                              t.response_hours.average, t.resolution_hours.average, t.response_attainment.percent,
                              t.resolution_attainment.percent, t.satisfaction.average]]
    for section, groups in (("category", stats.by_category), ("project", stats.by_project),
                            ("branch", stats.by_branch), ("channel", stats.by_channel)):
        rows += [[section, g.key, g.code, g.name, g.received, g.closed, g.litigation, g.reopened,
                  g.average_response_hours, g.average_resolution_hours, g.response_attainment_percent,
                  g.resolution_attainment_percent, g.average_satisfaction] for g in groups]
    return rows


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return text_cell(value) if isinstance(value, str) else value  # names are the group's own text


def render_csv(stats: StatisticsOut) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([[_csv_cell(v) for v in row] for row in _table(stats)])
    return out.getvalue()


def _summary(stats: StatisticsOut) -> list[tuple[str, Any]]:
    t = stats.totals
    return [
        ("Period", f"{stats.month} + {stats.months} month(s)"), ("From", stats.period_start.isoformat()),
        ("To (exclusive)", stats.period_end.isoformat()),
        ("Register", stats.register.value if stats.register else "complaints and disputes"),
        ("Received", t.received), ("Quality", t.quality), ("Non-quality", t.non_quality), ("Open", t.open),
        ("Closed", t.closed), ("Litigation", t.litigation), ("Reopened", t.reopened),
        ("First response: answered", t.response_hours.count),
        ("First response: average business hours", t.response_hours.average),
        ("First response: median business hours", t.response_hours.median),
        ("Resolution: resolved", t.resolution_hours.count),
        ("Resolution: average business hours", t.resolution_hours.average),
        ("Resolution: median business hours", t.resolution_hours.median),
        ("First-response SLA met", t.response_attainment.met), ("First-response SLA measured",
                                                                 t.response_attainment.measured),
        ("First-response SLA attainment %", t.response_attainment.percent),
        ("Resolution SLA met", t.resolution_attainment.met), ("Resolution SLA measured",
                                                               t.resolution_attainment.measured),
        ("Resolution SLA attainment %", t.resolution_attainment.percent),
        ("Rated", t.satisfaction.rated), ("Average satisfaction", t.satisfaction.average),
        *((f"Rated {k}", n) for k, n in enumerate(t.satisfaction.distribution, start=1)),
    ]


def render_xlsx(stats: StatisticsOut) -> bytes:
    out = io.BytesIO()
    # Text stays text: xlsxwriter would otherwise write "=…" as a formula and "http…" as a link.
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    summary = book.add_worksheet("Summary")
    summary.set_column(0, 0, 44)
    summary.set_column(1, 1, 32)
    for i, (label, value) in enumerate(_summary(stats)):
        summary.write(i, 0, label, bold)
        summary.write(i, 1, "" if value is None else value)
    header = CSV_COLUMNS[1:]
    table = _table(stats)
    for section, title in (("category", "By category"), ("project", "By project"), ("branch", "By branch"),
                           ("channel", "By channel")):
        sheet = book.add_worksheet(title)
        sheet.write_row(0, 0, header, bold)
        sheet.set_column(0, 0, 38)
        sheet.set_column(2, 2, 24)
        for i, row in enumerate((r for r in table if r[0] == section), start=1):
            sheet.write_row(i, 0, ["" if v is None else v for v in row[1:]])
    book.close()
    return out.getvalue()


async def run_export(session: AsyncSession, progress: Progress, authz: Authorizer, period: Period,
                     register: Register | None) -> dict[str, Any]:
    """The job's work: the statistics, then their two renderings; the result keeps all three."""
    await progress.report(0, 3)
    stats = await compute(session, authz, period, register)
    await progress.report(1)
    text = render_csv(stats)
    await progress.report(2)
    workbook = render_xlsx(stats)
    await progress.report(3)
    return {"month": period.month, "months": period.months, "register": register.value if register else None,
            "statistics": msgspec.to_builtins(stats), "csv": text, "xlsx": base64.b64encode(workbook).decode()}


async def export_file(session: AsyncSession, job_id: uuid.UUID, requester: str, kind: str) -> tuple[bytes, str]:
    """A finished export's file (``csv`` or ``xlsx``) and its name; only its requester may fetch it."""
    job = await get_job(session, job_id, requester)
    if job.kind != EXPORT_KIND:
        raise ProblemError("not-found", f"No statistics export with id {job_id}.")
    if job.status is not JobStatus.succeeded:
        raise ProblemError("conflict", f"The export is {job.status.value}; its files exist once it succeeded.")
    name = f"complaint-statistics-{job.result['month']}-{job.result['months']}m.{kind}"
    content = job.result["csv"].encode("utf-8") if kind == "csv" else base64.b64decode(job.result["xlsx"])
    return content, name
