"""Supervising the property company (工作监督): routine and special inspections scored against the
tenant's checklists, with the owners' opinions heard and the complaints they made linked;
findings with a severity and a rectification deadline, rectified by the company and verified by
customer affairs; and a scorecard per company for a period, which feeds the coordination."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node
from app.domains.property.common import READ, WRITE, project_for, require_daily_work
from app.domains.property.companies import active_contract, partner_projects
from app.domains.property.handovers import checklist_for
from app.domains.property.models import (
    ChecklistKind,
    CoordinationEntry,
    Finding,
    FindingStatus,
    Inspection,
    PropertyCompany,
    RepairOrder,
    RepairStatus,
    Severity,
)
from app.domains.property.schemas import (
    FindingOut,
    InspectionCreate,
    InspectionOut,
    RectifyIn,
    Scorecard,
    ScorecardRow,
    VerifyIn,
)
from app.tenants.bound import today

INSPECTION, FINDING = "supervision_inspection", "supervision_finding"
F = FindingStatus
FLOW = Workflow("finding", {
    "rectify": ([F.open], [F.rectified]),
    "verify": ([F.rectified], [F.verified, F.open]),
})
SORT = {"inspectedOn": Inspection.inspected_on, "score": Inspection.score, "createdAt": Inspection.created_at}
FINDING_SORT = {"deadline": Finding.deadline, "createdAt": Finding.created_at}
TWO = Decimal("0.01")


def _inspection(i: Inspection) -> dict[str, Any]:
    return {"projectId": str(i.node_id), "companyId": str(i.company_id), "kind": i.kind.value,
            "inspectedOn": i.inspected_on.isoformat(), "inspector": i.inspector, "score": str(i.score),
            "results": i.results, "complaintIds": i.complaint_ids}


def _finding(f: Finding) -> dict[str, Any]:
    return {"inspectionId": str(f.inspection_id), "severity": f.severity.value, "deadline": f.deadline.isoformat(),
            "status": f.status.value, "rectification": f.rectification, "verifiedBy": f.verified_by}


async def inspection_out(session: AsyncSession, i: Inspection) -> InspectionOut:
    findings = (await session.scalars(select(Finding).where(Finding.inspection_id == i.id)
                                      .order_by(Finding.deadline, Finding.id))).all()
    return InspectionOut.of(i, list(findings), await today(session))


async def create_inspection(session: AsyncSession, authz: Authorizer, data: InspectionCreate) -> Inspection:
    """An inspection of the company commissioned for the project (refused once the committee's
    company took over); every checklist item scored 0–100, the score their mean."""
    project = await project_for(session, authz, data.project_id, WRITE)
    await require_daily_work(session, project)
    contract = await active_contract(session, project.id)
    if contract is None:
        raise ProblemError("conflict", f"Project {project.code} has no commissioned property company to inspect.")
    checklist = await checklist_for(session, ChecklistKind.supervision, data.checklist_id)
    labels = {i["code"]: i["label"] for i in checklist.items}
    given = {s.code: s for s in data.scores}
    errors = [field_error(f"scores.{n}.code", "not an item of the checklist")
              for n, s in enumerate(data.scores) if s.code not in labels]
    errors += [field_error("scores", f"item {code} has no score") for code in labels if code not in given]
    if errors:
        raise ProblemError("validation", "Score every item of the checklist.", errors=errors)
    if data.complaint_ids:
        from app.domains.complaints.models import Complaint

        found = set((await session.scalars(select(Complaint.id).where(Complaint.id.in_(data.complaint_ids),
                                                                      Complaint.node_id == project.id))).all())
        missing = [n for n, c in enumerate(data.complaint_ids) if c not in found]
        if missing:
            raise ProblemError("validation", "Link complaints of the project only.",
                               errors=[field_error(f"complaintIds.{n}", "no such complaint in the project")
                                       for n in missing])
    day = await today(session)
    if data.inspected_on > day:
        raise ProblemError("validation", "An inspection is recorded once made.",
                           errors=[field_error("inspectedOn", f"on or before {day.isoformat()}")])
    results = [{"code": c, "label": label, "score": given[c].score, "note": given[c].note}
               for c, label in labels.items()]
    score = (Decimal(sum(r["score"] for r in results)) / len(results)).quantize(TWO)
    inspection = Inspection(node_id=project.id, company_id=contract.company_id, kind=data.kind, subject=data.subject,
                            checklist_id=checklist.id, inspected_on=data.inspected_on, inspector=data.inspector,
                            results=results, score=score, customer_opinions=data.customer_opinions,
                            complaint_ids=[str(c) for c in dict.fromkeys(data.complaint_ids)])
    session.add(inspection)
    inspection = await saved(session, inspection, "property.inspection.create", INSPECTION, snapshot=_inspection)
    for n, f in enumerate(data.findings):
        if f.deadline < data.inspected_on:
            raise ProblemError("validation", "A rectification deadline falls after the inspection.",
                               errors=[field_error(f"findings.{n}.deadline", "on or after inspectedOn")])
        finding = Finding(inspection_id=inspection.id, node_id=project.id, description=f.description,
                          severity=f.severity, deadline=f.deadline, status=FindingStatus.open)
        session.add(finding)
        await saved(session, finding, "property.finding.create", FINDING, snapshot=_finding)
    return inspection


async def get_inspection(session: AsyncSession, authz: Authorizer, inspection_id: uuid.UUID
                         ) -> tuple[Inspection, str]:
    return await get_at_node(session, authz, Inspection, inspection_id, READ, "inspection")


async def list_inspections(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                           project_id: uuid.UUID | None, company_id: uuid.UUID | None) -> Page[InspectionOut]:
    stmt: Select[Any] = select(Inspection).where(authz.visible(READ, Inspection.node_id))
    if project_id is not None:
        stmt = stmt.where(Inspection.node_id == project_id)
    if company_id is not None:
        stmt = stmt.where(Inspection.company_id == company_id)
    page = await paginate(session, stmt, params, sortable=SORT, default_sort=["-inspectedOn"], tiebreak=Inspection.id,
                          to_schema=lambda i: i)
    return Page(items=[await inspection_out(session, i) for i in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def get_finding(session: AsyncSession, authz: Authorizer, finding_id: uuid.UUID, *,
                      lock: bool = False) -> tuple[Finding, str]:
    return await get_at_node(session, authz, Finding, finding_id, READ, "finding", lock=lock)


async def list_findings(session: AsyncSession, authz: Authorizer | None, params: PageParams, *,
                        project_id: uuid.UUID | None, status: FindingStatus | None,
                        company: PropertyCompany | None = None) -> Page[FindingOut]:
    day = await today(session)
    stmt: Select[Any] = select(Finding)
    if authz is None:  # the company's client: its projects only
        stmt = stmt.where(Finding.node_id.in_(partner_projects(company)))
    else:
        assert authz is not None
        stmt = stmt.where(authz.visible(READ, Finding.node_id))
    if project_id is not None:
        stmt = stmt.where(Finding.node_id == project_id)
    if status is not None:
        stmt = stmt.where(Finding.status == status)
    return await paginate(session, stmt, params, sortable=FINDING_SORT, default_sort=["deadline"], tiebreak=Finding.id,
                          to_schema=lambda f: FindingOut.of(f, day))


async def rectify(session: AsyncSession, f: Finding, data: RectifyIn) -> Finding:
    """What the company did about it (its client, or staff recording it for the company)."""
    before = _finding(f)
    f.status = FLOW.to("rectify", f.status, FindingStatus.rectified, "The finding")
    f.rectification, f.rectified_on = data.rectification, await today(session)
    return await saved(session, f, "property.finding.rectify", FINDING, before=before, snapshot=_finding)


async def partner_finding(session: AsyncSession, company: PropertyCompany | None, finding_id: uuid.UUID) -> Finding:
    f = await session.scalar(select(Finding).where(Finding.id == finding_id,
                                                   Finding.node_id.in_(partner_projects(company))).with_for_update())
    if f is None:
        raise ProblemError("not-found", f"No finding with id {finding_id}.")
    return f


async def verify(session: AsyncSession, authz: Authorizer, f: Finding, path: str, data: VerifyIn) -> Finding:
    authz.require(WRITE, path)
    before = _finding(f)
    target = FindingStatus.verified if data.accepted else FindingStatus.open
    f.status = FLOW.to("verify", f.status, target, "The finding", hint="the company rectifies it first")
    f.verified_by = data.verified_by
    f.verified_on = await today(session) if data.accepted else None
    return await saved(session, f, "property.finding.verify", FINDING, before=before, snapshot=_finding)


async def scorecard(session: AsyncSession, authz: Authorizer, period_from: date | None, period_to: date | None,
                    project_id: uuid.UUID | None) -> Scorecard:
    """Per company, for inspections, coordination and repairs in the period (and the caller's
    subtrees): the average inspection score, findings by weight and state, repairs and their rating."""
    day = await today(session)
    period_to = period_to or day
    period_from = period_from or date(period_to.year, 1, 1)
    if period_to < period_from:
        raise ProblemError("validation", "The period ends after it starts.", errors=[field_error("to", "after from")])
    authz.require_anywhere(READ)
    if project_id is not None:
        await project_for(session, authz, project_id, READ)

    def scoped(column: Any) -> Any:
        clause = authz.visible(READ, column)
        return clause & (column == project_id) if project_id is not None else clause

    inspections = {c: (n, avg) for c, n, avg in (await session.execute(
        select(Inspection.company_id, func.count(), func.avg(Inspection.score))
        .where(scoped(Inspection.node_id), Inspection.inspected_on.between(period_from, period_to))
        .group_by(Inspection.company_id))).tuples()}
    findings: dict[uuid.UUID, list[int]] = {}
    for c, severity, status, deadline in (await session.execute(
            select(Inspection.company_id, Finding.severity, Finding.status, Finding.deadline)
            .join(Inspection, Inspection.id == Finding.inspection_id)
            .where(scoped(Finding.node_id), Inspection.inspected_on.between(period_from, period_to)))).tuples():
        row = findings.setdefault(c, [0, 0, 0, 0])
        row[0] += 1
        row[1] += severity is Severity.critical
        row[2] += status is not FindingStatus.verified
        row[3] += status is FindingStatus.open and deadline < day
    entries = dict((await session.execute(
        select(CoordinationEntry.company_id, func.count())
        .where(scoped(CoordinationEntry.node_id), CoordinationEntry.held_on.between(period_from, period_to))
        .group_by(CoordinationEntry.company_id))).tuples().all())
    repairs = {c: (n, avg) for c, n, avg in (await session.execute(
        select(RepairOrder.company_id, func.count(), func.avg(RepairOrder.rating))
        .where(scoped(RepairOrder.node_id), RepairOrder.company_id.is_not(None),
               RepairOrder.status.in_([RepairStatus.completed, RepairStatus.signed_off]),
               func.date(RepairOrder.completed_at).between(period_from, period_to))
        .group_by(RepairOrder.company_id))).tuples()}
    ids = set(inspections) | set(findings) | set(entries) | set(repairs)
    names = dict((await session.execute(select(PropertyCompany.id, PropertyCompany.name)
                                        .where(PropertyCompany.id.in_(ids)))).tuples().all()) if ids else {}
    rows = []
    for c in sorted(ids, key=lambda i: names.get(i, "")):
        n, avg = inspections.get(c, (0, None))
        f = findings.get(c, [0, 0, 0, 0])
        done, rating = repairs.get(c, (0, None))
        rows.append(ScorecardRow(
            company_id=c, company_name=names.get(c, ""), inspections=n,
            average_score=Decimal(avg).quantize(TWO) if avg is not None else None, findings=f[0],
            critical_findings=f[1], open_findings=f[2], overdue_findings=f[3], coordination_entries=entries.get(c, 0),
            repairs_completed=done,
            average_repair_rating=Decimal(rating).quantize(TWO) if rating is not None else None))
    return Scorecard(period_from=period_from, period_to=period_to, items=rows)
