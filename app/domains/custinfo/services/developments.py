"""Customer development to the letter of seed 000 §17 (客户开发管理流程): ① within the
new-customer scope, ② ③ prospects are surveyed and screened (a shortlist, each entry qualified
or not with its reason); ④ a development application for a qualified prospect goes to the
``customer_development`` approval chain (the customer development supervisor, then the
customer service manager, who 审核 it in the flow chart); ⑤ once approved the plan is carried
out and ⑥ reported on periodically, every ``reportEveryDays``; it closes won or dropped.

A prospect is a customer without units (seed rule 000-03). The status of an application
under review is its approval request's, read from the engine.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import (
    Approvable,
    approvable_type,
    page_with_request_status,
    request_status,
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.custinfo.models import (
    Development,
    DevelopmentReport,
    DevelopmentStage,
    ProspectScreening,
    ScreeningEntry,
)
from app.domains.custinfo.schemas import (
    DevelopmentClose,
    DevelopmentCreate,
    DevelopmentOut,
    DevelopmentReportIn,
    DevelopmentReportOut,
    DevelopmentStatus,
    ScreeningCreate,
    ScreeningEntryOut,
    ScreeningOut,
)
from app.domains.custinfo.services.common import (
    DEVELOP,
    DEVELOPMENT,
    DEVELOPMENT_TYPE,
    READ,
    SCREENING,
    UNDER_BRANCH,
    conflict,
)
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer, CustomerUnit
from app.domains.customers.references import register_customer_reference
from app.tenants.bound import local_year, time_zone, today

register_customer_reference(ScreeningEntry, "customer_id")
register_customer_reference(Development, "customer_id")

SCREENING_SORT = {"createdAt": ProspectScreening.created_at, "number": ProspectScreening.number}
DEVELOPMENT_SORT = {"createdAt": Development.created_at, "number": Development.number,
                    "nextReportOn": Development.next_report_on}

# ------------------------------------------------------------------------------ screenings


async def get_screening(session: AsyncSession, authz: Authorizer, screening_id: uuid.UUID, *,
                        field: str | None = None) -> tuple[ProspectScreening, str]:
    return await get_at_node(session, authz, ProspectScreening, screening_id, READ, "prospect screening",
                             field=field)


def _screening_out(s: ProspectScreening, entries: list[ScreeningEntryOut]) -> ScreeningOut:
    return ScreeningOut(id=s.id, number=s.number, node_id=s.node_id, title=s.title, scope=s.scope,
                        screened_by=s.screened_by, entries=entries, version=s.version, created_at=s.created_at)


async def _entries(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ScreeningEntryOut]]:
    out: dict[uuid.UUID, list[ScreeningEntryOut]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(ScreeningEntry, Customer.number, Customer.name)
            .join(Customer, Customer.id == ScreeningEntry.customer_id)
            .where(ScreeningEntry.screening_id.in_(ids)).order_by(ScreeningEntry.position))
        for e, number, name in rows.tuples():
            out[e.screening_id].append(ScreeningEntryOut(customer_id=e.customer_id, customer_number=number,
                                                         customer_name=name, qualified=e.qualified, reason=e.reason))
    return out


async def screening_out(session: AsyncSession, s: ProspectScreening) -> ScreeningOut:
    return _screening_out(s, (await _entries(session, [s.id]))[s.id])


async def list_screenings(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[ScreeningOut]:
    stmt = select(ProspectScreening).where(authz.visible(READ, ProspectScreening.node_id))
    page = await paginate(session, stmt, params, sortable=SCREENING_SORT, default_sort=["-createdAt"],
                          tiebreak=ProspectScreening.id, to_schema=lambda s: s)
    entries = await _entries(session, [s.id for s in page.items])
    return Page(items=[_screening_out(s, entries[s.id]) for s in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def create_screening(session: AsyncSession, authz: Authorizer, data: ScreeningCreate) -> ProspectScreening:
    node = await node_for(session, authz, data.node_id, DEVELOP, kinds=UNDER_BRANCH)
    seen: set[uuid.UUID] = set()
    errors = []
    for i, entry in enumerate(data.entries):
        field = f"entries.{i}.customerId"
        if entry.customer_id in seen:
            raise ProblemError("validation", "A prospect is listed twice.", errors=[field_error(field, "listed twice")])
        seen.add(entry.customer_id)
        await customer_for(session, authz, entry.customer_id, DEVELOP, field=field)
        if await session.scalar(select(exists().where(CustomerUnit.customer_id == entry.customer_id))):
            errors.append(field_error(field, "owns units already: a customer, not a prospect"))
    if errors:
        raise ProblemError("validation", "Only prospects (customers without units) are screened.", errors=errors)
    screening = ProspectScreening(number=await next_number(session, "SX", await local_year(session, clock.utcnow())),
                                  node_id=node.id, title=data.title, scope=data.scope,
                                  screened_by=authz.principal.subject)
    session.add(screening)
    await session.flush()
    session.add_all(ScreeningEntry(screening_id=screening.id, position=i, customer_id=e.customer_id,
                                   qualified=e.qualified, reason=e.reason) for i, e in enumerate(data.entries))
    return await saved(session, screening, "custinfo.screening.create", SCREENING, snapshot=lambda s: {
        **audit.snapshot(s), "qualified": sum(e.qualified for e in data.entries), "entries": len(data.entries)})


# ---------------------------------------------------------------------------- developments


def _status(d: Development, request: RequestStatus | None) -> DevelopmentStatus:
    return shown_status(d.stage.value, request)  # type: ignore[return-value]  # a member of the Literal


async def get_development(session: AsyncSession, authz: Authorizer, development_id: uuid.UUID, *,
                          lock: bool = False) -> tuple[Development, str]:
    return await get_at_node(session, authz, Development, development_id, READ, "development", lock=lock)


def _report_out(r: DevelopmentReport) -> DevelopmentReportOut:
    return DevelopmentReportOut(id=r.id, development_id=r.development_id, period_start=r.period_start,
                                period_end=r.period_end, progress=r.progress, next_steps=r.next_steps,
                                reported_by=r.reported_by, created_at=r.created_at, version=r.version)


async def _development_out(session: AsyncSession, d: Development, request: RequestStatus | None,
                           reports: list[DevelopmentReportOut]) -> DevelopmentOut:
    status = _status(d, request)
    overdue = (status == "approved" and d.next_report_on is not None and d.next_report_on < await today(session))
    return DevelopmentOut(id=d.id, number=d.number, node_id=d.node_id, customer_id=d.customer_id,
                          screening_id=d.screening_id, applicant_id=d.applicant_id, plan=d.plan,
                          report_every_days=d.report_every_days, status=status,
                          approval_request_id=d.approval_request_id, next_report_on=d.next_report_on,
                          report_overdue=overdue, reports=reports, result=d.result, closing_note=d.closing_note,
                          closed_at=d.closed_at, version=d.version, created_at=d.created_at)


async def development_out(session: AsyncSession, d: Development) -> DevelopmentOut:
    reports = (await session.scalars(select(DevelopmentReport).where(DevelopmentReport.development_id == d.id)
                                     .order_by(DevelopmentReport.period_end, DevelopmentReport.id))).all()
    return await _development_out(session, d, await request_status(session, d.approval_request_id),
                                  [_report_out(r) for r in reports])


async def list_developments(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                            customer_id: uuid.UUID | None) -> Page[DevelopmentOut]:
    stmt: Select[Any] = (select(Development)
                         .outerjoin(ApprovalRequest, ApprovalRequest.id == Development.approval_request_id)
                         .where(authz.visible(READ, Development.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(Development.stage, DevelopmentStage, status))
    if customer_id is not None:
        stmt = stmt.where(Development.customer_id == customer_id)
    page = await page_with_request_status(session, stmt, params, sortable=DEVELOPMENT_SORT,
                                          default_sort=["-createdAt"], tiebreak=Development.id,
                                          to_schema=lambda d, s: (d, s))
    # A list shows each application without its reports (GET one for them).
    return Page(items=[await _development_out(session, d, s, []) for d, s in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


async def create_development(session: AsyncSession, authz: Authorizer, data: DevelopmentCreate) -> Development:
    screening, path = await get_screening(session, authz, data.screening_id, field="screeningId")
    authz.require(DEVELOP, path)
    customer, _ = await customer_for(session, authz, data.customer_id, DEVELOP)
    entry = await session.scalar(select(ScreeningEntry).where(ScreeningEntry.screening_id == screening.id,
                                                              ScreeningEntry.customer_id == customer.id))
    if entry is None or not entry.qualified:
        why = "is not on" if entry is None else "did not qualify in"
        raise ProblemError("conflict", f"Customer {customer.number} {why} screening {screening.number}: only a "
                                       "qualified prospect is applied for.",
                           errors=[field_error("customerId", f"{why} the screening")])
    open_one = await session.scalar(select(Development.number).where(
        Development.customer_id == customer.id, Development.stage == DevelopmentStage.submitted))
    if open_one is not None:
        raise ProblemError("conflict", f"Customer {customer.number} is being developed already ({open_one}).",
                           errors=[field_error("customerId", f"under development: {open_one}")])
    development = Development(
        number=await next_number(session, "KF", await local_year(session, clock.utcnow())), node_id=screening.node_id,
        customer_id=customer.id, screening_id=screening.id, applicant_id=authz.principal.subject, plan=data.plan,
        report_every_days=data.report_every_days, stage=DevelopmentStage.submitted)
    session.add(development)
    await session.flush()
    request = await approvals.create_request(
        session, request_type=DEVELOPMENT_TYPE, title=f"{development.number} {customer.name}"[:300],
        payload={"developmentId": str(development.id)})
    development.approval_request_id = request.id
    return await saved(session, development, "custinfo.development.apply", DEVELOPMENT)


async def report_development(session: AsyncSession, authz: Authorizer, d: Development, path: str,
                             data: DevelopmentReportIn) -> Development:
    """⑥ A periodic report; the next one is due ``reportEveryDays`` later."""
    authz.require(DEVELOP, path)
    status = _status(d, await request_status(session, d.approval_request_id))
    if status != "approved":
        raise conflict(f"development {d.number}", status, "only an approved development open is reported on")
    last = await session.scalar(select(func.max(DevelopmentReport.period_end))
                                .where(DevelopmentReport.development_id == d.id))
    start = last + timedelta(days=1) if last is not None else await _approved_on(session, d)
    if data.period_end < start:
        raise ProblemError("conflict", f"Development {d.number} is reported on up to {start - timedelta(days=1)}: "
                                       "a report covers the days after that.",
                           errors=[field_error("periodEnd", f"on or after {start}")])
    before = audit.snapshot(d)
    report = DevelopmentReport(development_id=d.id, period_start=start, period_end=data.period_end,
                               progress=data.progress, next_steps=data.next_steps,
                               reported_by=authz.principal.subject)
    session.add(report)
    d.next_report_on = await today(session) + timedelta(days=d.report_every_days)
    d.updated_at = clock.utcnow()
    return await saved(session, d, "custinfo.development.report", DEVELOPMENT, before=before,
                       snapshot=lambda x: {**audit.snapshot(x), "report": {
                           "periodStart": str(start), "periodEnd": str(data.period_end)}})


async def _approved_on(session: AsyncSession, d: Development) -> date:
    """The day the chain approved the application (its first report's period starts then)."""
    decided = await session.scalar(select(ApprovalRequest.decided_at)
                                   .where(ApprovalRequest.id == d.approval_request_id))
    return (decided or clock.utcnow()).astimezone(ZoneInfo(await time_zone(session))).date()


async def close_development(session: AsyncSession, authz: Authorizer, d: Development, path: str,
                            data: DevelopmentClose) -> Development:
    authz.require(DEVELOP, path)
    status = _status(d, await request_status(session, d.approval_request_id))
    if status not in ("approved", "rejected", "withdrawn"):
        raise conflict(f"development {d.number}", status, "only a decided application is closed")
    before = audit.snapshot(d)
    d.stage, d.result, d.closing_note, d.closed_at = DevelopmentStage.closed, data.result, data.note, clock.utcnow()
    return await saved(session, d, "custinfo.development.close", DEVELOPMENT, before=before, reason=data.note)


# ----------------------------------------------------------------------- the request type

RECORD = Approvable(Development, key="developmentId", entity=DEVELOPMENT, what="development")


async def _describe(session: AsyncSession, d: Development) -> dict[str, Any]:
    return {"developmentId": str(d.id), "number": d.number, "customerId": str(d.customer_id), "plan": d.plan,
            "reportEveryDays": d.report_every_days}


async def _approved(session: AsyncSession, request: ApprovalRequest) -> None:
    """Approved: the development starts, its first report due one period on."""
    d = await RECORD.of(session, request.payload, lock=True)
    d.next_report_on = await today(session) + timedelta(days=d.report_every_days)
    d.updated_at = clock.utcnow()
    await session.flush()


REQUEST = approvable_type(
    DEVELOPMENT_TYPE, "New-customer development application (新客户开发申请)", RECORD, describe=_describe,
    on_approved=_approved,
    # Seed 000 §17 (客户开发管理流程): the development supervisor and the customer service
    # manager review the application.
    default_chain=[
        {"name": "Customer development supervisor (客户开发主管)", "role": "development_supervisor",
         "at": "branch"},
        {"name": "Customer service manager (客户服务经理)", "role": "cs_manager", "at": "branch"},
    ],
    default_roles={"development_supervisor": "客户开发主管 Customer development supervisor",
                   "cs_manager": "Customer service manager"},
)
