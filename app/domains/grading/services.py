"""Grading and credit (DOMAIN.md, grading, tiering and credit).

**Grades.** The group's rules (a tenant setting, versioned and audited) score every live
customer 0–100 from an RFM model and a weighted sum:

- R, recency: days since the customer's last deal (a unit subscribed or contracted) or
  contact (a visit made, a call that reached them);
- F, frequency: deals and contacts within the window (the last N months);
- M, monetary: the total of the customer's deals;
- each scores 1–5 by the rules' cut points, then 0–100 (1 → 0, 5 → 100); satisfaction (the
  mean overall score of their survey results in the window) likewise, for customers who
  have one. The score is the weighted mean of the factors the customer has; the grade is the
  highest band whose lowest score it reaches (D watch, E eliminate).

Contacts describe a customer's behaviour: they count only while the customer's behaviour
consent is active. Deals always count.

The computation is SQL over batches of customers (in id order), each batch's scores read
back and written as the current grade; a grade that changed (or a first grade) adds a row
to the customer's grade history. A daily beat task recomputes every tenant; on demand, a
job with progress recomputes the group or a subtree.

**Credit.** A customer's credit limit changes only through an application approved by the
``credit_limit_change`` chain (sales management manager, sales VP, sales GM, group GM by
default); the engine applies it on final approval. The limit is the requested limit of the
customer's most recently applied change.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import (
    ColumnElement,
    Date,
    Numeric,
    Select,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock, tenant_settings
from app.core.ids import new_id
from app.core.jobs import Progress
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.approvals import services as approvals
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.registry import register_request_type
from app.domains.customers.models import ConsentKind, Customer, CustomerConsent, CustomerUnit
from app.domains.customers.services import time_zone
from app.domains.grading.models import CreditChange, CustomerGrade, Grade, GradeChange
from app.domains.grading.schemas import (
    CreditChangeIn,
    CreditChangeOut,
    CustomerGrading,
    GradeChangeOut,
    GradeOut,
    GradeRow,
    Rules,
    RulesOut,
)
from app.domains.interactions.lookups import get_at_node, local_year, subtree_filter
from app.domains.interactions.models import Call, CallOutcome, Visit
from app.domains.org import services as org
from app.domains.org.models import OrgNode
from app.domains.surveys.models import Dimension, SurveyAnswer, SurveyResult

READ, CONFIGURE, RECOMPUTE, CREDIT = "grading.read", "grading.configure", "grading.recompute", "grading.credit"

register_permissions({
    READ: "See customers' grades, their history, credit limits and credit-limit applications in one's subtree.",
    CONFIGURE: "Set the group's grading rules (at the group node).",
    RECOMPUTE: "Recompute the grades of the customers in one's subtree.",
    CREDIT: "Apply for credit-limit changes of customers in one's subtree (applied on approval).",
})

KIND = "grading.recompute"  # the job's kind and its task's name
RULES_ENTITY, COMPUTATION, CREDIT_CHANGE = "grading_rules", "grade_computation", "credit_change"
CREDIT_TYPE = "credit_limit_change"
BATCH = 2_000  # customers scored per statement

DEFAULT_RULES: dict[str, Any] = {
    "windowMonths": 24,
    "rfm": {"recencyDays": [30, 90, 180, 365], "frequency": [1, 2, 4, 8],
            "monetary": ["500000.00", "1000000.00", "2000000.00", "5000000.00"]},
    "weights": {"recency": 25, "frequency": 25, "monetary": 40, "satisfaction": 10},
    # DOMAIN.md: D 60–70 watch, E below (50–60 in the documents) eliminate.
    "bands": {"A": "90", "B": "80", "C": "70", "D": "60"},
}
RULES = tenant_settings.declare("grading.rules", DEFAULT_RULES,
                                "The group's grading rules: RFM cut points, factor weights, grade bands.")


# -------------------------------------------------------------------------------- rules


def _rules(value: Any) -> Rules:
    return msgspec.convert(value, Rules)


def normalised(rules: Rules) -> Rules:
    """The rules as kept and used: each set of cut points ascending."""
    rfm = rules.rfm
    return msgspec.structs.replace(rules, rfm=msgspec.structs.replace(
        rfm, recency_days=sorted(rfm.recency_days), frequency=sorted(rfm.frequency),
        monetary=sorted(rfm.monetary, key=Decimal)))


def _bands(rules: Rules) -> list[tuple[Grade, Decimal]]:
    b = rules.bands
    return [(Grade.A, Decimal(b.a)), (Grade.B, Decimal(b.b)), (Grade.C, Decimal(b.c)), (Grade.D, Decimal(b.d))]


async def get_rules(session: AsyncSession, authz: Authorizer, *, lock: bool = False) -> RulesOut:
    authz.require_anywhere(READ)
    value, version = await tenant_settings.get(session, RULES, lock=lock)
    return RulesOut(rules=_rules(value), is_default=version == 0, version=version)


async def put_rules(session: AsyncSession, authz: Authorizer, rules: Rules) -> RulesOut:
    authz.require(CONFIGURE, (await org.get_root(session)).path)
    rules = normalised(rules)
    version = await tenant_settings.put(session, RULES, msgspec.to_builtins(rules))
    return RulesOut(rules=rules, is_default=False, version=version)


# ------------------------------------------------------------------------- computation


def _months_before(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def _level_low_is_good(value: ColumnElement[Any], cuts: list[Any]) -> ColumnElement[int]:
    return case((value.is_(None), 1), (value <= cuts[0], 5), (value <= cuts[1], 4), (value <= cuts[2], 3),
                (value <= cuts[3], 2), else_=1)


def _level_high_is_good(value: ColumnElement[Any], cuts: list[Any]) -> ColumnElement[int]:
    return case((value >= cuts[3], 5), (value >= cuts[2], 4), (value >= cuts[1], 3), (value >= cuts[0], 2),
                else_=1)


def _scored(rules: Rules, scope: ColumnElement[bool], lo: uuid.UUID, hi: uuid.UUID, zone: str,
            now: datetime) -> Select[Any]:
    """The scores of the live customers in scope with ids from ``lo`` to ``hi``: one SELECT."""
    today = now.astimezone(ZoneInfo(zone)).date()
    start = _months_before(today, rules.window_months)
    start_at = datetime.combine(start, time.min, tzinfo=ZoneInfo(zone))

    def day(column: Any) -> ColumnElement[date]:
        return cast(func.timezone(zone, column), Date)

    deal_day = func.coalesce(CustomerUnit.contracted_on, CustomerUnit.subscribed_on, day(CustomerUnit.created_at))
    deals = (select(CustomerUnit.customer_id.label("cid"), func.max(deal_day).label("last"),
                    func.count().filter(deal_day >= start).label("n"),
                    func.coalesce(func.sum(CustomerUnit.amount), 0).label("m"))
             .where(CustomerUnit.customer_id.between(lo, hi)).group_by(CustomerUnit.customer_id).subquery())
    events = union_all(
        select(Visit.customer_id.label("cid"), day(Visit.visited_at).label("day"))
        .where(Visit.customer_id.between(lo, hi), Visit.visited_at.is_not(None)),
        select(Call.customer_id.label("cid"), day(Call.started_at).label("day"))
        .where(Call.customer_id.between(lo, hi), Call.outcome != CallOutcome.failed),
    ).subquery()
    consented = exists().where(
        CustomerConsent.customer_id == events.c.cid, CustomerConsent.kind == ConsentKind.behaviour,
        CustomerConsent.granted_at <= now,
        or_(CustomerConsent.withdrawn_at.is_(None), CustomerConsent.withdrawn_at > now))
    contacts = (select(events.c.cid, func.max(events.c.day).label("last"),
                       func.count().filter(events.c.day >= start).label("n"))
                .where(consented).group_by(events.c.cid).subquery())
    satisfaction = (select(SurveyResult.customer_id.label("cid"), func.avg(SurveyAnswer.score).label("s"))
                    .join(SurveyAnswer, SurveyAnswer.result_id == SurveyResult.id)
                    .where(SurveyResult.customer_id.between(lo, hi), SurveyAnswer.dimension == Dimension.overall,
                           SurveyResult.responded_at >= start_at)
                    .group_by(SurveyResult.customer_id).subquery())

    recency = literal(today, Date) - func.greatest(deals.c.last, contacts.c.last)
    frequency = func.coalesce(deals.c.n, 0) + func.coalesce(contacts.c.n, 0)
    monetary = func.coalesce(deals.c.m, 0)
    r = _level_low_is_good(recency, rules.rfm.recency_days)
    f = _level_high_is_good(frequency, rules.rfm.frequency)
    m = _level_high_is_good(monetary, [Decimal(c) for c in rules.rfm.monetary])
    w = rules.weights
    has_satisfaction = satisfaction.c.s.is_not(None)
    weighted = (w.recency * (r - 1) * 25 + w.frequency * (f - 1) * 25 + w.monetary * (m - 1) * 25
                + case((has_satisfaction, w.satisfaction * (satisfaction.c.s - 1) * 25), else_=0))
    weight = func.nullif(w.recency + w.frequency + w.monetary + case((has_satisfaction, w.satisfaction), else_=0), 0)
    inner = (select(Customer.id.label("customer_id"), recency.label("recency_days"), frequency.label("frequency"),
                    monetary.label("monetary"), func.round(satisfaction.c.s, 2).label("satisfaction"),
                    r.label("r_score"), f.label("f_score"), m.label("m_score"),
                    func.coalesce(func.round(cast(weighted, Numeric) / weight, 2), 0).label("score"),
                    CustomerGrade.grade.label("previous_grade"), CustomerGrade.score.label("previous_score"))
             .select_from(Customer)
             .outerjoin(deals, deals.c.cid == Customer.id).outerjoin(contacts, contacts.c.cid == Customer.id)
             .outerjoin(satisfaction, satisfaction.c.cid == Customer.id)
             .outerjoin(CustomerGrade, CustomerGrade.customer_id == Customer.id)
             .where(Customer.id.between(lo, hi), scope)).subquery()
    grade = case(*((inner.c.score >= bound, literal(g.value)) for g, bound in _bands(rules)),
                 else_=literal(Grade.E.value))
    return select(inner, grade.label("grade"))


def _scope(node_path: str | None) -> ColumnElement[bool]:
    live = Customer.merged_into_id.is_(None)
    if node_path is None:
        return live
    return and_(live, Customer.node_id.in_(select(OrgNode.id).where(
        or_(OrgNode.path == node_path, OrgNode.path.like(node_path + "/%")))))


async def recompute(session: AsyncSession, *, node_path: str | None = None, progress: Progress | None = None,
                    job_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Grade every live customer in scope (the group when ``node_path`` is None) by the rules
    in force; returns the counts. Idempotent: a second run changes nothing but the time."""
    # One computation at a time per tenant (the daily run and a job may meet): the second waits,
    # then finds nothing changed, so no change is recorded twice.
    await session.execute(select(func.pg_advisory_xact_lock(
        func.hashtext(f"grading.recompute:{session.info['tenant_schema']}"))))
    value, rules_version = await tenant_settings.get(session, RULES)
    rules = _rules(value)
    zone = await time_zone(session)
    now = clock.utcnow()
    scope = _scope(node_path)
    if node_path is None:  # merged-away records keep no grade
        await session.execute(delete(CustomerGrade).where(CustomerGrade.customer_id.in_(
            select(Customer.id).where(Customer.merged_into_id.is_not(None)))))
    total = await session.scalar(select(func.count()).select_from(Customer).where(scope)) or 0
    if progress is not None:
        await progress.report(0, total)
    table = CustomerGrade.__table__
    upsert = pg_insert(table)
    upsert = upsert.on_conflict_do_update(index_elements=[table.c.customer_id], set_={
        **{c: upsert.excluded[c] for c in ("grade", "score", "recency_days", "frequency", "monetary", "satisfaction",
                                           "r_score", "f_score", "m_score", "rules_version", "computed_at")},
        # The grade's version (its ETag) moves when what it says moves, not with each run.
        "version": case((or_(table.c.grade != upsert.excluded.grade, table.c.score != upsert.excluded.score),
                         table.c.version + 1), else_=table.c.version)})
    done = changed = 0
    after: uuid.UUID | None = None
    while True:
        page = select(Customer.id).where(scope).order_by(Customer.id).limit(BATCH)
        ids = (await session.scalars(page.where(Customer.id > after) if after else page)).all()
        if not ids:
            break
        rows = (await session.execute(_scored(rules, scope, ids[0], ids[-1], zone, now))).mappings().all()
        grades = [{"customer_id": r["customer_id"], "grade": Grade(r["grade"]), "score": r["score"],
                   "recency_days": r["recency_days"], "frequency": r["frequency"], "monetary": r["monetary"],
                   "satisfaction": r["satisfaction"], "r_score": r["r_score"], "f_score": r["f_score"],
                   "m_score": r["m_score"], "rules_version": rules_version, "computed_at": now, "version": 1}
                  for r in rows]
        history = [{"id": new_id(), "customer_id": r["customer_id"], "grade": Grade(r["grade"]),
                    "previous_grade": r["previous_grade"], "score": r["score"], "previous_score": r["previous_score"],
                    "rules_version": rules_version, "computed_at": now, "job_id": job_id}
                   for r in rows if r["previous_grade"] is None or r["previous_grade"].value != r["grade"]]
        if grades:
            await session.execute(upsert, grades)
        if history:
            await session.execute(GradeChange.__table__.insert(), history)
        changed += len(history)
        done += len(ids)
        after = ids[-1]
        if progress is not None:
            await progress.report(done)
    counts = dict((await session.execute(
        select(CustomerGrade.grade, func.count()).join(Customer, Customer.id == CustomerGrade.customer_id)
        .where(scope).group_by(CustomerGrade.grade))).all())
    result = {"customers": done, "changed": changed, "grades": {g.value: counts.get(g, 0) for g in Grade},
              "rulesVersion": rules_version}
    # One record for the run; each customer's change is in their grade history.
    await audit.record(session, action="grading.recompute", entity_type=COMPUTATION,
                       entity_id=job_id or f"scheduled-{now.date().isoformat()}",
                       after={**result, "scope": node_path or "group"})
    return result


# ------------------------------------------------------------------------------- grades

GRADE_SORT = {"score": CustomerGrade.score, "grade": CustomerGrade.grade, "customerNumber": Customer.number,
              "computedAt": CustomerGrade.computed_at}


def _rfm(g: CustomerGrade) -> str:
    return f"{g.r_score}{g.f_score}{g.m_score}"


async def credit_limits(session: AsyncSession, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """Each customer's credit limit: the requested limit of their most recently applied change."""
    if not customer_ids:
        return {}
    rows = (await session.execute(
        select(CreditChange.customer_id, CreditChange.requested_limit)
        .where(CreditChange.customer_id.in_(customer_ids), CreditChange.applied_at.is_not(None))
        .order_by(CreditChange.customer_id, CreditChange.applied_at.desc())
        .distinct(CreditChange.customer_id))).all()
    return dict(rows)  # type: ignore[arg-type]


async def list_grades(session: AsyncSession, authz: Authorizer, params: PageParams, *, grade: Grade | None,
                      node_id: uuid.UUID | None) -> Page[GradeRow]:
    stmt: Select[Any] = (select(CustomerGrade, Customer.number, Customer.name, Customer.node_id)
                         .join(Customer, Customer.id == CustomerGrade.customer_id)
                         .where(authz.visible(READ, Customer.node_id), Customer.merged_into_id.is_(None)))
    if grade is not None:
        stmt = stmt.where(CustomerGrade.grade == grade)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Customer.node_id, node_id))
    page = await paginate(session, stmt.with_only_columns(CustomerGrade.customer_id), params, sortable=GRADE_SORT,
                          default_sort=["-score", "customerNumber"], tiebreak=CustomerGrade.customer_id,
                          to_schema=lambda cid: cid)
    rows = {r[0].customer_id: r for r in (await session.execute(
        stmt.where(CustomerGrade.customer_id.in_(page.items)))).all()} if page.items else {}
    limits = await credit_limits(session, list(page.items))
    items = []
    for cid in page.items:
        g, number, name, node = rows[cid]
        items.append(GradeRow(id=cid, customer_number=number, customer_name=name, node_id=node,
                              grade=g.grade, score=g.score, rfm=_rfm(g), monetary=g.monetary,
                              satisfaction=g.satisfaction, credit_limit=limits.get(cid), computed_at=g.computed_at))
    return Page(items=items, total=page.total, limit=page.limit, offset=page.offset)


async def get_customer(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, *,
                       lock: bool = False) -> tuple[Customer, str]:
    """A customer whose grading the caller may read; any other id answers 404."""
    stmt = (select(Customer, OrgNode.path).join(OrgNode, OrgNode.id == Customer.node_id)
            .where(Customer.id == customer_id))
    row = (await session.execute(stmt.with_for_update(of=Customer) if lock else stmt)).first()
    if row is None or not authz.can(READ, row[1]):
        raise ProblemError("not-found", f"No customer with id {customer_id}.")
    return row[0], row[1]


async def _pending_change(session: AsyncSession, customer_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        select(CreditChange.id).join(ApprovalRequest, ApprovalRequest.id == CreditChange.approval_request_id)
        .where(CreditChange.customer_id == customer_id, ApprovalRequest.status == RequestStatus.pending).limit(1))


async def customer_grading(session: AsyncSession, customer: Customer) -> tuple[CustomerGrading, int]:
    """The customer's grade, credit limit and pending application; and the grade's version."""
    g = await session.get(CustomerGrade, customer.id)
    grade = None if g is None else GradeOut(
        grade=g.grade, score=g.score, recency_days=g.recency_days, frequency=g.frequency, monetary=g.monetary,
        satisfaction=g.satisfaction, rfm=_rfm(g), rules_version=g.rules_version, computed_at=g.computed_at)
    limit = (await credit_limits(session, [customer.id])).get(customer.id)
    grading = CustomerGrading(customer_id=customer.id, grade=grade, credit_limit=limit,
                              pending_credit_change_id=await _pending_change(session, customer.id))
    return grading, (g.version if g else 0)


HISTORY_SORT = {"computedAt": GradeChange.computed_at}


async def grade_history(session: AsyncSession, customer: Customer, params: PageParams) -> Page[GradeChangeOut]:
    stmt = select(GradeChange).where(GradeChange.customer_id == customer.id)
    return await paginate(session, stmt, params, sortable=HISTORY_SORT, default_sort=["-computedAt"],
                          tiebreak=GradeChange.id, to_schema=lambda h: GradeChangeOut(
                              grade=h.grade, previous_grade=h.previous_grade, score=h.score,
                              previous_score=h.previous_score, rules_version=h.rules_version,
                              computed_at=h.computed_at, job_id=h.job_id))


# ------------------------------------------------------------------------------- credit

CREDIT_SORT = {"createdAt": CreditChange.created_at, "number": CreditChange.number}


async def get_credit_change(session: AsyncSession, authz: Authorizer, change_id: uuid.UUID) -> tuple[CreditChange, str]:
    return await get_at_node(session, authz, CreditChange, change_id, READ, "credit-limit change")


def _change_out(c: CreditChange, status: RequestStatus) -> CreditChangeOut:
    return CreditChangeOut(id=c.id, number=c.number, customer_id=c.customer_id, node_id=c.node_id,
                           applicant_id=c.applicant_id, previous_limit=c.previous_limit,
                           requested_limit=c.requested_limit, reason=c.reason, status=status,
                           approval_request_id=c.approval_request_id, applied_at=c.applied_at,
                           created_at=c.created_at, version=c.version)


async def credit_change_out(session: AsyncSession, c: CreditChange) -> CreditChangeOut:
    status = await session.scalar(select(ApprovalRequest.status).where(ApprovalRequest.id == c.approval_request_id))
    assert status is not None  # a foreign key holds it
    return _change_out(c, status)


async def list_credit_changes(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                              status: RequestStatus | None, customer_id: uuid.UUID | None,
                              node_id: uuid.UUID | None) -> Page[CreditChangeOut]:
    stmt: Select[Any] = (select(CreditChange)
                         .join(ApprovalRequest, ApprovalRequest.id == CreditChange.approval_request_id)
                         .where(authz.visible(READ, CreditChange.node_id)))
    if status is not None:
        stmt = stmt.where(ApprovalRequest.status == status)
    if customer_id is not None:
        stmt = stmt.where(CreditChange.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, CreditChange.node_id, node_id))
    page = await paginate(session, stmt, params, sortable=CREDIT_SORT, default_sort=["-createdAt"],
                          tiebreak=CreditChange.id, to_schema=lambda c: c)
    statuses = dict((await session.execute(select(ApprovalRequest.id, ApprovalRequest.status).where(
        ApprovalRequest.id.in_([c.approval_request_id for c in page.items])))).all()) if page.items else {}
    return Page(items=[_change_out(c, statuses[c.approval_request_id]) for c in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


async def apply_for_credit(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID,
                           data: CreditChangeIn) -> CreditChange:
    """An application for a new credit limit, sent to the chain at once. One at a time per
    customer (409 while another is under review): the customer row is locked meanwhile."""
    customer, path = await get_customer(session, authz, customer_id, lock=True)
    authz.require(CREDIT, path)
    if customer.merged_into_id is not None:
        raise ProblemError("conflict", f"Customer {customer.number} was merged into customer "
                                       f"{customer.merged_into_id}: apply for that one.")
    pending = await _pending_change(session, customer.id)
    if pending is not None:
        raise ProblemError("conflict", f"Credit-limit change {pending} of this customer is under review: wait for "
                                       "its decision, or withdraw it.")
    current = (await credit_limits(session, [customer.id])).get(customer.id)
    requested = Decimal(data.requested_limit).quantize(Decimal("0.01"))
    if current == requested:
        raise ProblemError("conflict", f"The credit limit is {current} already.",
                           errors=[field_error("requestedLimit", "the current limit")])
    change_id = new_id()
    request = await approvals.create_request(
        session, request_type=CREDIT_TYPE, title=f"Credit limit of {customer.number} ({customer.name}) to {requested}",
        payload={"changeId": str(change_id), "customerId": str(customer.id), "customerNumber": customer.number,
                 "previousLimit": None if current is None else str(current), "requestedLimit": str(requested)},
        node_id=customer.node_id, amount=requested, reason=data.reason)
    number = await next_number(session, "XY", await local_year(session, clock.utcnow()))
    change = CreditChange(id=change_id, number=number, customer_id=customer.id, node_id=customer.node_id,
                          applicant_id=authz.principal.subject, previous_limit=current, requested_limit=requested,
                          reason=data.reason, approval_request_id=request.id)
    session.add(change)
    await session.flush()
    await session.refresh(change)
    await audit.record(session, action="grading.credit_change.apply", entity_type=CREDIT_CHANGE, entity_id=change.id,
                       after=audit.snapshot(change), reason=data.reason)
    return change


async def _apply_credit(session: AsyncSession, request: ApprovalRequest) -> None:
    """On final approval: the requested limit becomes the customer's, as the approver."""
    change = await session.scalar(select(CreditChange).where(CreditChange.approval_request_id == request.id)
                                  .with_for_update())
    if change is None:
        raise ProblemError("conflict", f"No credit-limit change for approval request {request.id}.")
    before = (await credit_limits(session, [change.customer_id])).get(change.customer_id)
    change.applied_at = clock.utcnow()
    await session.flush()
    await audit.record(session, action="grading.credit_limit.set", entity_type="customer",
                       entity_id=change.customer_id,
                       before={"creditLimit": None if before is None else str(before)},
                       after={"creditLimit": str(change.requested_limit), "creditChange": str(change.id)},
                       reason=f"{change.reason} (approval request {request.id})")


async def _credit_decided(session: AsyncSession, request: ApprovalRequest) -> None:
    # The shown status is the request's; the change's version moves so its ETag shows it.
    change = await session.scalar(select(CreditChange).where(CreditChange.approval_request_id == request.id)
                                  .with_for_update())
    if change is not None:
        change.updated_at = clock.utcnow()
        await session.flush()


async def _on_credit_approved(session: AsyncSession, request: ApprovalRequest) -> None:
    await _apply_credit(session, request)
    await _credit_decided(session, request)


register_request_type(
    CREDIT_TYPE, "Credit-limit change",
    on_approved=_on_credit_approved, on_rejected=_credit_decided, on_withdrawn=_credit_decided,
    subject_of=lambda payload: ("customer", payload["customerId"]),
    # DOMAIN.md: sales management manager → sales VP → sales GM → group GM.
    default_chain=[
        {"name": "Sales management manager", "role": "sales_admin_manager", "at": "branch"},
        {"name": "Sales VP", "role": "sales_vp", "at": "group"},
        {"name": "Sales GM", "role": "sales_gm", "at": "group"},
        {"name": "Group GM", "role": "group_gm", "at": "group"},
    ],
    default_roles={"sales_admin_manager": "Sales management manager", "sales_vp": "Sales VP",
                   "sales_gm": "Sales general manager", "group_gm": "Group general manager"},
)


# ---------------------------------------------------------------------------- org hooks


@org.live_records("grading")
async def _credit_changes_at(session: AsyncSession, holder: org.Holder) -> str | None:
    if holder.kind != "node":
        return None
    count = await session.scalar(select(func.count()).where(CreditChange.node_id == holder.id))
    return f"{count} credit-limit changes" if count else None
