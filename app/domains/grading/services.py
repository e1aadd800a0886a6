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
  highest band whose lowest score it reaches (D watch, E eliminate), or lower while a credit
  review holds it down.
- the **value tier** follows the grade (the rules map each grade to high, mid or low); a
  customer without a deal yet is potential. Each tier has its treatment (``TREATMENTS``).
- the grade summary table's figures: the grade's credit **coefficient** (a rule), the
  **monthly sales** (the customer's deals dated in the window, per month of the window), the
  **credit fulfilment rate** (the share of deals whose contract fell due, i.e. contracts and
  subscriptions older than the rules' signing days, that were signed within those days).

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

**Credit reviews** (credit-grade changes): an abnormality is recorded, investigated and
concluded; a serious one proposes a lower grade, which the ``credit_grade_change`` chain
decides. On approval the grade is applied at once (the customer is graded again, the review
holding the grade down until its end date), the change is in the grade history with the
review, and the customer is told through the outbox.
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

from app.auth.directory import staff_subject
from app.core import audit, clock, tenant_settings
from app.core.ids import new_id
from app.core.jobs import Progress
from app.core.notify import EMAIL, INBOX, queue_messages
from app.core.numbering import next_number
from app.core.pagination import ColumnLike, PageParams, order_by, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.records import get_at_node, subtree_filter, under
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import (
    page_with_request_status,
    payload_id,
    request_status,
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.registry import request_type
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import ConsentKind, ContractStage, Customer, CustomerConsent, CustomerUnit
from app.domains.customers.services import customer_email
from app.domains.grading.models import (
    TREATMENTS,
    CreditChange,
    CreditReview,
    CustomerGrade,
    Grade,
    GradeChange,
    ReviewStage,
    Tier,
)
from app.domains.grading.schemas import (
    AccountManagerIn,
    Conclusion,
    CreditChangeIn,
    CreditChangeOut,
    CreditReviewIn,
    CreditReviewOut,
    CustomerGrading,
    GradeChangeOut,
    GradeOut,
    GradeRow,
    ReviewStatus,
    Rules,
    RulesOut,
    Serious,
)
from app.domains.interactions.models import Call, CallOutcome, Visit
from app.domains.org import services as org
from app.domains.org.models import OrgNode
from app.domains.org.services import records_at
from app.domains.surveys.models import Dimension, SurveyAnswer, SurveyResult
from app.tenants import bound
from app.tenants.bound import local_year, tenant_id, time_zone

READ, CONFIGURE, RECOMPUTE, CREDIT = "grading.read", "grading.configure", "grading.recompute", "grading.credit"
REVIEW, ASSIGN = "grading.review", "grading.assign"

register_permissions({
    READ: "See customers' grades, their history, credit limits, credit-limit applications and credit reviews in "
          "one's subtree.",
    CONFIGURE: "Set the group's grading rules (at the group node).",
    RECOMPUTE: "Recompute the grades of the customers in one's subtree.",
    CREDIT: "Apply for credit-limit changes of customers in one's subtree (applied on approval).",
    REVIEW: "Open and conclude credit reviews of customers in one's subtree (a grade change applies on approval).",
    ASSIGN: "Assign the account manager of customers in one's subtree.",
})

KIND = "grading.recompute"  # the job's kind and its task's name
RULES_ENTITY, COMPUTATION, CREDIT_CHANGE = "grading_rules", "grade_computation", "credit_change"
CREDIT_REVIEW, CUSTOMER = "credit_review", "customer"
CREDIT_TYPE, GRADE_TYPE = "credit_limit_change", "credit_grade_change"
BATCH = 2_000  # customers scored per statement
CENT = Decimal("0.01")

DEFAULT_RULES: dict[str, Any] = {
    "windowMonths": 24,
    "rfm": {"recencyDays": [30, 90, 180, 365], "frequency": [1, 2, 4, 8],
            "monetary": ["500000.00", "1000000.00", "2000000.00", "5000000.00"]},
    "weights": {"recency": 25, "frequency": 25, "monetary": 40, "satisfaction": 10},
    # DOMAIN.md: D 60–70 watch, E below (50–60 in the documents) eliminate.
    "bands": {"A": "90", "B": "80", "C": "70", "D": "60"},
    "coefficients": {"A": "1.50", "B": "1.20", "C": "1.00", "D": "0.50", "E": "0"},
    "tiers": {"A": "high", "B": "high", "C": "mid", "D": "low", "E": "low"},
    "signingDays": 30,
}
RULES = tenant_settings.declare("grading.rules", DEFAULT_RULES,
                                "The group's grading rules: RFM cut points, factor weights, grade bands, credit "
                                "coefficients, value tiers, signing days.")


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


def _holding_reviews(today: date) -> Any:
    """Per customer, the most recently applied credit review whose grade still holds."""
    return (select(CreditReview.customer_id.label("cid"), CreditReview.id.label("review_id"),
                   CreditReview.grade.label("grade"))
            .where(CreditReview.applied_at.is_not(None), CreditReview.holds_until >= today)
            .order_by(CreditReview.customer_id, CreditReview.applied_at.desc())
            .distinct(CreditReview.customer_id).subquery())


def _scored(rules: Rules, scope: ColumnElement[bool], lo: uuid.UUID, hi: uuid.UUID, zone: str,
            now: datetime) -> Select[Any]:
    """The scores and figures of the live customers in scope with ids from ``lo`` to ``hi``:
    one SELECT."""
    today = now.astimezone(ZoneInfo(zone)).date()
    start = _months_before(today, rules.window_months)
    start_at = datetime.combine(start, time.min, tzinfo=ZoneInfo(zone))

    def day(column: Any) -> ColumnElement[date]:
        return cast(func.timezone(zone, column), Date)

    def finite(column: Any) -> ColumnElement[date]:
        # The calendar's first and last days are stored as -infinity and infinity (asyncpg's
        # date.min and date.max), which no day count can be taken from: such a date counts as unknown.
        return case((func.isfinite(column), column))

    subscribed_on, contracted_on = finite(CustomerUnit.subscribed_on), finite(CustomerUnit.contracted_on)
    deal_day = func.coalesce(contracted_on, subscribed_on, day(CustomerUnit.created_at))
    # A subscription is a promise to sign the contract within the signing days. Days between
    # dates, never a date plus days: a date near the calendar's end has no date after it.
    contract = CustomerUnit.stage == ContractStage.contract
    due = or_(contract, and_(CustomerUnit.stage == ContractStage.subscription,
                             literal(today, Date) - subscribed_on > rules.signing_days))
    kept = and_(contract, or_(subscribed_on.is_(None), contracted_on.is_(None),
                              contracted_on - subscribed_on <= rules.signing_days))
    deals = (select(CustomerUnit.customer_id.label("cid"), func.max(deal_day).label("last"),
                    func.count().filter(deal_day >= start).label("n"),
                    func.coalesce(func.sum(CustomerUnit.amount), 0).label("m"),
                    func.coalesce(func.sum(CustomerUnit.amount).filter(deal_day >= start), 0).label("w"),
                    func.count().filter(due).label("due"), func.count().filter(kept).label("kept"))
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
    holding = _holding_reviews(today)

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
    monthly = func.round(cast(func.coalesce(deals.c.w, 0), Numeric) / rules.window_months, 2)
    fulfilment = case((deals.c.due > 0, func.round(cast(deals.c.kept, Numeric) * 100 / deals.c.due, 2)))
    inner = (select(Customer.id.label("customer_id"), recency.label("recency_days"), frequency.label("frequency"),
                    monetary.label("monetary"), func.round(satisfaction.c.s, 2).label("satisfaction"),
                    r.label("r_score"), f.label("f_score"), m.label("m_score"),
                    func.coalesce(func.round(cast(weighted, Numeric) / weight, 2), 0).label("score"),
                    monthly.label("monthly_sales"), fulfilment.label("fulfilment_rate"),
                    deals.c.cid.is_not(None).label("has_deal"),
                    holding.c.review_id.label("holding_review_id"), holding.c.grade.label("holding_grade"),
                    CustomerGrade.grade.label("previous_grade"), CustomerGrade.score.label("previous_score"))
             .select_from(Customer)
             .outerjoin(deals, deals.c.cid == Customer.id).outerjoin(contacts, contacts.c.cid == Customer.id)
             .outerjoin(satisfaction, satisfaction.c.cid == Customer.id)
             .outerjoin(holding, holding.c.cid == Customer.id)
             .outerjoin(CustomerGrade, CustomerGrade.customer_id == Customer.id)
             .where(Customer.id.between(lo, hi), scope)).subquery()
    grade = case(*((inner.c.score >= bound, literal(g.value)) for g, bound in _bands(rules)),
                 else_=literal(Grade.E.value))
    return select(inner, grade.label("grade"))


def _graded(rules: Rules, row: Any) -> tuple[Grade, uuid.UUID | None, Tier, Decimal]:
    """A scored row's grade (a holding review's when lower: E is the lowest), the review
    holding it, the value tier and the credit coefficient."""
    grade, review = Grade(row["grade"]), None
    held = row["holding_grade"]
    if held is not None and Grade(held).value > grade.value:
        grade, review = Grade(held), row["holding_review_id"]
    tier = rules.tiers.of(grade) if row["has_deal"] else Tier.potential
    return grade, review, tier, rules.coefficients.of(grade)


def _scope(node_path: str | None = None, customer_id: uuid.UUID | None = None) -> ColumnElement[bool]:
    live = Customer.merged_into_id.is_(None)
    if customer_id is not None:
        return and_(live, Customer.id == customer_id)
    if node_path is None:
        return live
    return and_(live, under(Customer.node_id, node_path))


_SHOWN = ("grade", "score", "tier", "coefficient", "review_id")  # what moves the grade's version


def _upsert() -> Any:
    table = CustomerGrade.__table__
    upsert = pg_insert(table)
    return upsert.on_conflict_do_update(index_elements=[table.c.customer_id], set_={
        **{c: upsert.excluded[c] for c in ("grade", "score", "recency_days", "frequency", "monetary", "satisfaction",
                                           "r_score", "f_score", "m_score", "tier", "coefficient", "monthly_sales",
                                           "fulfilment_rate", "review_id", "rules_version", "computed_at")},
        # The grade's version (its ETag) moves when what it says moves, not with each run.
        "version": case((or_(*(table.c[c].is_distinct_from(upsert.excluded[c]) for c in _SHOWN)),
                         table.c.version + 1), else_=table.c.version)})


async def recompute(session: AsyncSession, *, node_path: str | None = None, customer_id: uuid.UUID | None = None,
                    progress: Progress | None = None, job_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Grade every live customer in scope (the group when neither ``node_path`` nor
    ``customer_id`` is given) by the rules in force; returns the counts. Idempotent: a second
    run changes nothing but the time."""
    # One computation at a time per tenant (the daily run, a job, an approved credit review
    # may meet): the second waits, then finds nothing changed, so no change is recorded twice.
    await session.execute(select(func.pg_advisory_xact_lock(
        func.hashtext(f"grading.recompute:{session.info['tenant_schema']}"))))
    value, rules_version = await tenant_settings.get(session, RULES)
    rules = _rules(value)
    zone = await time_zone(session)
    now = clock.utcnow()
    scope = _scope(node_path, customer_id)
    whole_group = node_path is None and customer_id is None
    if whole_group:  # merged-away records keep no grade
        await session.execute(delete(CustomerGrade).where(CustomerGrade.customer_id.in_(
            select(Customer.id).where(Customer.merged_into_id.is_not(None)))))
    total = await session.scalar(select(func.count()).select_from(Customer).where(scope)) or 0
    if progress is not None:
        await progress.report(0, total)
    upsert = _upsert()
    done = changed = 0
    after: uuid.UUID | None = None
    while True:
        page = select(Customer.id).where(scope).order_by(Customer.id).limit(BATCH)
        ids = (await session.scalars(page.where(Customer.id > after) if after else page)).all()
        if not ids:
            break
        grades, history = [], []
        for r in (await session.execute(_scored(rules, scope, ids[0], ids[-1], zone, now))).mappings():
            grade, review, tier, coefficient = _graded(rules, r)
            grades.append({"customer_id": r["customer_id"], "grade": grade, "score": r["score"],
                           "recency_days": r["recency_days"], "frequency": r["frequency"], "monetary": r["monetary"],
                           "satisfaction": r["satisfaction"], "r_score": r["r_score"], "f_score": r["f_score"],
                           "m_score": r["m_score"], "tier": tier, "coefficient": coefficient,
                           "monthly_sales": r["monthly_sales"], "fulfilment_rate": r["fulfilment_rate"],
                           "review_id": review, "rules_version": rules_version, "computed_at": now, "version": 1})
            if r["previous_grade"] is None or r["previous_grade"] is not grade:
                history.append({"id": new_id(), "customer_id": r["customer_id"], "grade": grade,
                                "previous_grade": r["previous_grade"], "score": r["score"],
                                "previous_score": r["previous_score"], "rules_version": rules_version,
                                "computed_at": now, "job_id": job_id, "review_id": review})
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
    where = "group" if whole_group else (node_path or f"customer {customer_id}")
    await audit.record(session, action="grading.recompute", entity_type=COMPUTATION,
                       entity_id=job_id or f"{'scheduled' if whole_group else 'run'}-{now.isoformat()}",
                       after={**result, "scope": where})
    return result


# ----------------------------------------------------------------- the grade summary table

_APPLIED_LIMITS = (select(CreditChange.customer_id.label("cid"), CreditChange.requested_limit.label("limit"))
                   .where(CreditChange.applied_at.is_not(None))
                   .order_by(CreditChange.customer_id, CreditChange.applied_at.desc())
                   .distinct(CreditChange.customer_id).subquery("applied_limits"))
_SUGGESTED = func.round(CustomerGrade.monthly_sales * CustomerGrade.coefficient, 2)
# A customer without a fulfilment rate or a credit limit sorts as the lowest (-1).
GRADE_SORT: dict[str, ColumnLike[Any]] = {
    "score": CustomerGrade.score, "grade": CustomerGrade.grade, "customerNumber": Customer.number,
    "computedAt": CustomerGrade.computed_at, "coefficient": CustomerGrade.coefficient,
    "monthlySales": CustomerGrade.monthly_sales, "fulfilmentRate": func.coalesce(CustomerGrade.fulfilment_rate, -1),
    "creditLimit": func.coalesce(_APPLIED_LIMITS.c.limit, -1), "suggestedLimit": _SUGGESTED,
}


def _rfm(g: Any) -> str:
    return f"{g.r_score}{g.f_score}{g.m_score}"


async def credit_limits(session: AsyncSession, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """Each customer's credit limit: the requested limit of their most recently applied change."""
    if not customer_ids:
        return {}
    rows = (await session.execute(select(_APPLIED_LIMITS).where(_APPLIED_LIMITS.c.cid.in_(customer_ids)))).all()
    return dict(rows)


async def list_grades(session: AsyncSession, authz: Authorizer, params: PageParams, *, grade: Grade | None,
                      tier: Tier | None, node_id: uuid.UUID | None, account_manager_id: str | None,
                      has_account_manager: bool | None) -> Page[GradeRow]:
    """The grade summary table: one SQL statement per page over the customers the caller may read."""
    stmt: Select[Any] = (select(CustomerGrade, Customer.number, Customer.name, Customer.node_id,
                                _APPLIED_LIMITS.c.limit, _SUGGESTED)
                         .join(Customer, Customer.id == CustomerGrade.customer_id)
                         .outerjoin(_APPLIED_LIMITS, _APPLIED_LIMITS.c.cid == CustomerGrade.customer_id)
                         .where(authz.visible(READ, Customer.node_id), Customer.merged_into_id.is_(None)))
    if grade is not None:
        stmt = stmt.where(CustomerGrade.grade == grade)
    if tier is not None:
        stmt = stmt.where(CustomerGrade.tier == tier)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Customer.node_id, node_id))
    if account_manager_id is not None:
        stmt = stmt.where(CustomerGrade.account_manager_id == account_manager_id)
    if has_account_manager is not None:
        managed = CustomerGrade.account_manager_id.is_not(None)
        stmt = stmt.where(managed if has_account_manager else ~managed)
    # paginate() reads one entity a row; a line of the table is a row of several columns.
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = (await session.execute(stmt.order_by(*order_by(params.sort, GRADE_SORT, ["-score", "customerNumber"]),
                                                CustomerGrade.customer_id)
                                  .limit(params.limit).offset(params.offset))).all()
    items = [GradeRow(id=g.customer_id, customer_number=number, customer_name=name, node_id=node,
                      account_manager_id=g.account_manager_id, score=g.score, coefficient=g.coefficient,
                      monthly_sales=g.monthly_sales, fulfilment_rate=g.fulfilment_rate, grade=g.grade,
                      credit_limit=limit, suggested_limit=suggested, tier=g.tier, treatment=TREATMENTS[g.tier],
                      rfm=_rfm(g), review_id=g.review_id, computed_at=g.computed_at)
             for g, number, name, node, limit, suggested in rows]
    return Page(items=items, total=total, limit=params.limit, offset=params.offset)


async def get_customer(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, *,
                       lock: bool = False) -> tuple[Customer, str]:
    """A customer whose grading the caller may read; any other id answers 404."""
    stmt = (select(Customer, OrgNode.path).join(OrgNode, OrgNode.id == Customer.node_id)
            .where(Customer.id == customer_id))
    row = (await session.execute(stmt.with_for_update(of=Customer) if lock else stmt)).first()
    if row is None or not authz.can(READ, row[1]):
        raise ProblemError("not-found", f"No customer with id {customer_id}.")
    return row[0], row[1]


def _live(customer: Customer, field: str | None = None) -> None:
    if customer.merged_into_id is not None:
        raise ProblemError("conflict", f"Customer {customer.number} was merged into customer "
                                       f"{customer.merged_into_id}: use that one.",
                           errors=[field_error(field, f"merged into {customer.merged_into_id}")] if field else None)


async def _pending_change(session: AsyncSession, customer_id: uuid.UUID,
                          besides: uuid.UUID | None = None) -> uuid.UUID | None:
    stmt = (select(CreditChange.id).join(ApprovalRequest, ApprovalRequest.id == CreditChange.approval_request_id)
            .where(CreditChange.customer_id == customer_id, ApprovalRequest.status == RequestStatus.pending))
    if besides is not None:
        stmt = stmt.where(CreditChange.id != besides)
    return await session.scalar(stmt.limit(1))


def _grade_out(g: CustomerGrade) -> GradeOut:
    return GradeOut(grade=g.grade, score=g.score, recency_days=g.recency_days, frequency=g.frequency,
                    monetary=g.monetary, satisfaction=g.satisfaction, rfm=_rfm(g), tier=g.tier,
                    treatment=TREATMENTS[g.tier], coefficient=g.coefficient, monthly_sales=g.monthly_sales,
                    fulfilment_rate=g.fulfilment_rate, review_id=g.review_id, rules_version=g.rules_version,
                    computed_at=g.computed_at)


async def customer_grading(session: AsyncSession, customer: Customer) -> tuple[CustomerGrading, int]:
    """The customer's grade, account manager, credit limit and pending application; and the
    grade's version."""
    g = await session.get(CustomerGrade, customer.id)
    limit = (await credit_limits(session, [customer.id])).get(customer.id)
    grading = CustomerGrading(customer_id=customer.id, grade=None if g is None else _grade_out(g),
                              account_manager_id=None if g is None else g.account_manager_id, credit_limit=limit,
                              pending_credit_change_id=await _pending_change(session, customer.id))
    return grading, (g.version if g else 0)


HISTORY_SORT = {"computedAt": GradeChange.computed_at}


async def grade_history(session: AsyncSession, customer: Customer, params: PageParams) -> Page[GradeChangeOut]:
    stmt = select(GradeChange).where(GradeChange.customer_id == customer.id)
    return await paginate(session, stmt, params, sortable=HISTORY_SORT, default_sort=["-computedAt"],
                          tiebreak=GradeChange.id, to_schema=lambda h: GradeChangeOut(
                              grade=h.grade, previous_grade=h.previous_grade, score=h.score,
                              previous_score=h.previous_score, rules_version=h.rules_version,
                              computed_at=h.computed_at, job_id=h.job_id, review_id=h.review_id))


async def graded(session: AsyncSession, customer: Customer, *, lock: bool = False) -> CustomerGrade:
    """The customer's grade row; 409 before their first grading."""
    stmt = select(CustomerGrade).where(CustomerGrade.customer_id == customer.id)
    g = await session.scalar(stmt.with_for_update() if lock else stmt)
    if g is None:
        raise ProblemError("conflict", f"Customer {customer.number} has not been graded yet: recompute the grades "
                                       "first (POST /api/v1/grading/recomputations).")
    return g


async def set_account_manager(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                              g: CustomerGrade, data: AccountManagerIn) -> CustomerGrade:
    authz.require(ASSIGN, path)
    _live(customer)
    account = await staff_subject(session, data.account_id, "accountId") if data.account_id else None
    before = {"accountManagerId": g.account_manager_id}
    g.account_manager_id = account
    await session.flush()
    await session.refresh(g)
    await audit.record(session, action="grading.account_manager.set", entity_type=CUSTOMER, entity_id=customer.id,
                       before=before, after={"accountManagerId": account}, reason=data.reason)
    return g


# ------------------------------------------------------------------------------- credit

CREDIT_SORT = {"createdAt": CreditChange.created_at, "number": CreditChange.number}


async def get_credit_change(session: AsyncSession, authz: Authorizer, change_id: uuid.UUID) -> tuple[CreditChange, str]:
    return await get_at_node(session, authz, CreditChange, change_id, READ, "credit-limit change")


def _change_out(c: CreditChange, status: RequestStatus | None) -> CreditChangeOut:
    assert status is not None  # a credit change is made with its request (a foreign key holds it)
    return CreditChangeOut(id=c.id, number=c.number, customer_id=c.customer_id, node_id=c.node_id,
                           applicant_id=c.applicant_id, previous_limit=c.previous_limit,
                           requested_limit=c.requested_limit, reason=c.reason, status=status,
                           approval_request_id=c.approval_request_id, applied_at=c.applied_at,
                           created_at=c.created_at, version=c.version)


async def credit_change_out(session: AsyncSession, c: CreditChange) -> CreditChangeOut:
    return _change_out(c, await request_status(session, c.approval_request_id))


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
    return await page_with_request_status(session, stmt, params, sortable=CREDIT_SORT, default_sort=["-createdAt"],
                                          tiebreak=CreditChange.id, to_schema=_change_out)


async def apply_for_credit(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID,
                           data: CreditChangeIn) -> CreditChange:
    """An application for a new credit limit, sent to the chain at once. One at a time per
    customer (409 while another is under review): the customer row is locked meanwhile."""
    customer, path = await get_customer(session, authz, customer_id, lock=True)
    authz.require(CREDIT, path)
    _live(customer)
    pending = await _pending_change(session, customer.id)
    if pending is not None:
        raise ProblemError("conflict", f"Credit-limit change {pending} of this customer is under review: wait for "
                                       "its decision, or withdraw it.")
    current = (await credit_limits(session, [customer.id])).get(customer.id)
    requested = Decimal(data.requested_limit).quantize(CENT)
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


async def _credit_change_of(session: AsyncSession, request: ApprovalRequest) -> CreditChange:
    change = await session.scalar(select(CreditChange).where(CreditChange.approval_request_id == request.id)
                                  .with_for_update())
    if change is None:
        raise ProblemError("conflict", f"No credit-limit change for approval request {request.id}.")
    return change


async def _on_credit_approved(session: AsyncSession, request: ApprovalRequest) -> None:
    """On final approval: the requested limit becomes the customer's, as the approver; once
    (a change applied already is left as it is)."""
    change = await _credit_change_of(session, request)
    change.updated_at = clock.utcnow()  # the shown status is the request's: the ETag moves
    if change.applied_at is None:
        before = (await credit_limits(session, [change.customer_id])).get(change.customer_id)
        change.applied_at = clock.utcnow()
        await audit.record(session, action="grading.credit_limit.set", entity_type=CUSTOMER,
                           entity_id=change.customer_id,
                           before={"creditLimit": None if before is None else str(before)},
                           after={"creditLimit": str(change.requested_limit), "creditChange": str(change.id)},
                           reason=f"{change.reason} (approval request {request.id})")
    await session.flush()


async def _credit_decided(session: AsyncSession, request: ApprovalRequest) -> None:
    # The shown status is the request's; the change's version moves so its ETag shows it.
    (await _credit_change_of(session, request)).updated_at = clock.utcnow()
    await session.flush()


CREDIT_REQUEST = request_type(
    CREDIT_TYPE, "Credit-limit change",
    on_approved=_on_credit_approved, on_rejected=_credit_decided, on_withdrawn=_credit_decided,
    subject_of=lambda payload: (CUSTOMER, payload["customerId"]),
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


# ------------------------------------------------------------------------ credit reviews

REVIEW_SORT = {"createdAt": CreditReview.created_at, "number": CreditReview.number}


async def get_review(session: AsyncSession, authz: Authorizer, review_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[CreditReview, str]:
    return await get_at_node(session, authz, CreditReview, review_id, READ, "credit review", lock=lock)


# shown_status (shared by every record an approval decides) gives a str: the review's stage, or
# while under review its request's status, each a member of ReviewStatus.
def _review_status(r: CreditReview, request: RequestStatus | None) -> ReviewStatus:
    return shown_status(r.stage.value, request)  # type: ignore[return-value]  # a member, as said above


def _review_out(r: CreditReview, status: RequestStatus | None) -> CreditReviewOut:
    return CreditReviewOut(
        id=r.id, number=r.number, customer_id=r.customer_id, node_id=r.node_id, opened_by=r.opened_by,
        abnormality=r.abnormality, status=_review_status(r, status),
        findings=r.findings, serious=r.serious, grade=r.grade, previous_grade=r.previous_grade,
        holds_until=r.holds_until, concluded_by=r.concluded_by, concluded_at=r.concluded_at,
        approval_request_id=r.approval_request_id, applied_at=r.applied_at, notified_via=r.notified_via,
        created_at=r.created_at, version=r.version)


async def review_out(session: AsyncSession, r: CreditReview) -> CreditReviewOut:
    return _review_out(r, await request_status(session, r.approval_request_id))


async def list_reviews(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                       customer_id: uuid.UUID | None, node_id: uuid.UUID | None) -> Page[CreditReviewOut]:
    stmt: Select[Any] = (select(CreditReview)
                         .outerjoin(ApprovalRequest, ApprovalRequest.id == CreditReview.approval_request_id)
                         .where(authz.visible(READ, CreditReview.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(CreditReview.stage, ReviewStage, status))
    if customer_id is not None:
        stmt = stmt.where(CreditReview.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, CreditReview.node_id, node_id))
    return await page_with_request_status(session, stmt, params, sortable=REVIEW_SORT, default_sort=["-createdAt"],
                                          tiebreak=CreditReview.id, to_schema=_review_out)


async def open_review(session: AsyncSession, authz: Authorizer, data: CreditReviewIn) -> CreditReview:
    """An abnormality found: the review sits at the customer's node, to be investigated."""
    customer, node = await customer_for(session, authz, data.customer_id, REVIEW)
    review = CreditReview(number=await next_number(session, "YC", await local_year(session, clock.utcnow())),
                          customer_id=customer.id, node_id=node.id, opened_by=authz.principal.subject,
                          abnormality=data.abnormality, stage=ReviewStage.investigating)
    session.add(review)
    await session.flush()
    await session.refresh(review)
    await audit.record(session, action="grading.credit_review.open", entity_type=CREDIT_REVIEW, entity_id=review.id,
                       after=audit.snapshot(review), reason=data.abnormality)
    return review


def _holds_until(today: date, months: int) -> date:
    return _months_before(today, -months)


async def conclude_review(session: AsyncSession, authz: Authorizer, review: CreditReview, path: str,
                          data: Conclusion) -> CreditReview:
    """The investigation's conclusion: not serious closes the review; serious proposes a lower
    grade to the ``credit_grade_change`` chain (again, after a rejection or a withdrawal)."""
    authz.require(REVIEW, path)
    status = await request_status(session, review.approval_request_id)
    again = review.stage is ReviewStage.submitted and status in (RequestStatus.rejected, RequestStatus.withdrawn)
    if review.stage is not ReviewStage.investigating and not again:
        raise ProblemError("conflict", f"The credit review {review.number} is "
                                       f"{shown_status(review.stage.value, status)}: it was concluded already.")
    customer = await session.get(Customer, review.customer_id)
    assert customer is not None  # a foreign key holds it
    _live(customer)
    before = audit.snapshot(review)
    c = data.conclusion
    review.findings, review.serious = c.findings, isinstance(c, Serious)
    review.concluded_by, review.concluded_at = authz.principal.subject, clock.utcnow()
    if not isinstance(c, Serious):
        review.stage, review.grade, review.holds_until = ReviewStage.dismissed, None, None
    else:
        current = await session.scalar(select(CustomerGrade.grade).where(CustomerGrade.customer_id == customer.id))
        if current is not None and c.grade.value <= current.value:
            lower = ", ".join(g.value for g in Grade if g.value > current.value) or "none"
            raise ProblemError("conflict", f"Customer {customer.number} is graded {current.value}: a serious "
                                           f"abnormality lowers the grade (to one of {lower}).",
                               errors=[field_error("conclusion.grade", f"not below {current.value}")])
        today = await bound.today(session)
        review.grade, review.previous_grade = c.grade, current
        review.holds_until = _holds_until(today, c.holds_months)
        request = await approvals.create_request(
            session, request_type=GRADE_TYPE,
            title=f"Credit grade of {customer.number} ({customer.name}) to {c.grade.value}"[:300],
            payload={"reviewId": str(review.id)}, node_id=review.node_id, reason=c.findings)
        review.approval_request_id, review.stage = request.id, ReviewStage.submitted
    review.updated_at = clock.utcnow()
    await session.flush()
    await session.refresh(review)
    await audit.record(session, action="grading.credit_review.conclude", entity_type=CREDIT_REVIEW,
                       entity_id=review.id, before=before, after=audit.snapshot(review), reason=c.findings)
    return review


async def _review_of(session: AsyncSession, payload: dict[str, Any], *, lock: bool = False) -> CreditReview:
    stmt = select(CreditReview).where(CreditReview.id == payload_id(payload, "reviewId"))
    review = await session.scalar(stmt.with_for_update() if lock else stmt)
    if review is None:
        raise ProblemError("validation", "No such credit review.", errors=[field_error("payload.reviewId", "unknown")])
    return review


async def _review_payload(session: AsyncSession, payload: dict[str, Any]) -> dict[str, Any]:
    """What the approvers decide on, from the review as it is now."""
    r = await _review_of(session, payload)
    customer = await session.get(Customer, r.customer_id)
    assert customer is not None  # a foreign key holds it
    return {"reviewId": str(r.id), "number": r.number, "customerId": str(customer.id),
            "customerNumber": customer.number, "abnormality": r.abnormality, "findings": r.findings,
            "grade": r.grade.value if r.grade else None,
            "previousGrade": r.previous_grade.value if r.previous_grade else None,
            "holdsUntil": r.holds_until.isoformat() if r.holds_until else None}


async def _review_node(session: AsyncSession, payload: dict[str, Any]) -> uuid.UUID:
    return (await _review_of(session, payload)).node_id


async def _review_for(session: AsyncSession, request: ApprovalRequest) -> CreditReview:
    """The review a decided request is about (its current request), locked."""
    review = await session.scalar(select(CreditReview).where(CreditReview.approval_request_id == request.id)
                                  .with_for_update())
    if review is None:
        raise ProblemError("conflict", f"No credit review for approval request {request.id}.")
    return review


async def _notify_customer(session: AsyncSession, customer: Customer, review: CreditReview) -> str:
    """Tell the customer (in the app when they have an account, else by mail); the channel
    used, or "none" when they have neither."""
    if customer.account_id is not None:
        channel, recipient = INBOX, str(customer.account_id)
    elif (email := await customer_email(session, customer)) is not None:
        channel, recipient = EMAIL, email
    else:
        return "none"
    assert review.grade is not None and review.holds_until is not None
    body = (f"尊敬的客户：您的信用等级已调整为 {review.grade.value} 级，有效期至 {review.holds_until.isoformat()}。"
            f"如有疑问，请联系客户服务中心。\n"
            f"Dear customer, your credit grade is now {review.grade.value}, until {review.holds_until.isoformat()}. "
            "For any question, please contact our customer service centre.")
    await queue_messages(session, [recipient], tenant_id=await tenant_id(session), channel=channel,
                         subject="信用等级变更通知 Your credit grade has changed", body=body,
                         data={"event": "grading.credit_grade.changed", "customerId": str(customer.id),
                               "reviewId": str(review.id), "grade": review.grade.value,
                               "holdsUntil": review.holds_until.isoformat()})
    return channel


async def _on_grade_approved(session: AsyncSession, request: ApprovalRequest) -> None:
    """On final approval, as the approver and once: the customer is graded again (the review
    now holds the grade down), the change registered, the customer told."""
    review = await _review_for(session, request)
    review.updated_at = clock.utcnow()
    if review.applied_at is None:
        # No lock on the customer: a computation holding the grading lock may be waiting to
        # write their grade, and recompute() below waits for that lock (a deadlock otherwise).
        customer = await session.get(Customer, review.customer_id)
        assert customer is not None  # a foreign key holds it
        _live(customer)
        review.applied_at = clock.utcnow()
        await session.flush()
        await recompute(session, customer_id=customer.id)
        g = await session.get(CustomerGrade, customer.id, populate_existing=True)
        assert g is not None  # just graded
        review.notified_via = await _notify_customer(session, customer, review)
        await audit.record(session, action="grading.credit_grade.set", entity_type=CUSTOMER, entity_id=customer.id,
                           before={"grade": review.previous_grade.value if review.previous_grade else None},
                           after={"grade": g.grade.value, "creditReview": str(review.id),
                                  "holdsUntil": review.holds_until.isoformat() if review.holds_until else None,
                                  "notifiedVia": review.notified_via},
                           reason=f"{review.findings} (approval request {request.id})")
    await session.flush()


async def _review_decided(session: AsyncSession, request: ApprovalRequest) -> None:
    # Rejected or withdrawn: the shown status is the request's; the version moves with it.
    (await _review_for(session, request)).updated_at = clock.utcnow()
    await session.flush()


GRADE_REQUEST = request_type(
    GRADE_TYPE, "Credit grade change",
    on_approved=_on_grade_approved, on_rejected=_review_decided, on_withdrawn=_review_decided,
    node_of=_review_node, validate=_review_payload,
    subject_of=lambda payload: (CREDIT_REVIEW, payload["reviewId"]),
    default_chain=[
        {"name": "Sales management manager", "role": "sales_admin_manager", "at": "branch"},
        {"name": "Sales VP", "role": "sales_vp", "at": "group"},
    ],
    default_roles={"sales_admin_manager": "Sales management manager", "sales_vp": "Sales VP"},
)


# ---------------------------------------------------------------------------- org hooks


@org.live_records("grading")
async def _grading_at(session: AsyncSession, holder: org.Holder) -> str | None:
    return await records_at(session, holder, [(CreditChange, "credit-limit changes"),
                                              (CreditReview, "credit reviews")])


REQUEST_TYPES = [CREDIT_REQUEST, GRADE_REQUEST]  # the domain's declaration names this list
