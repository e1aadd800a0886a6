"""The computation of grades: RFM and satisfaction scored in SQL over batches of customers,
written as the current grade, with a history row for each change.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

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
from app.domains.access.records import under
from app.domains.customers.models import ConsentKind, ContractStage, Customer, CustomerConsent, CustomerUnit
from app.domains.grading.models import CreditReview, CustomerGrade, Grade, GradeChange, Tier
from app.domains.grading.schemas import Rules
from app.domains.grading.services.common import BATCH, COMPUTATION, RULES
from app.domains.grading.services.rules import bands_of, rules_of
from app.domains.interactions.models import Call, CallOutcome, Visit
from app.domains.surveys.models import Dimension, SurveyAnswer, SurveyResult
from app.tenants.bound import time_zone

# ------------------------------------------------------------------------- computation


def months_before(day: date, months: int) -> date:
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
    start = months_before(today, rules.window_months)
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
    previous_start = months_before(start, rules.window_months)
    deals = (select(CustomerUnit.customer_id.label("cid"), func.max(deal_day).label("last"),
                    func.count().filter(deal_day >= start).label("n"),
                    func.coalesce(func.sum(CustomerUnit.amount), 0).label("m"),
                    func.coalesce(func.sum(CustomerUnit.amount).filter(deal_day >= start), 0).label("w"),
                    func.coalesce(func.sum(CustomerUnit.amount).filter(deal_day >= previous_start,
                                                                        deal_day < start), 0).label("p"),
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
    monthly = func.round(cast(func.coalesce(deals.c.w, 0), Numeric) / rules.window_months, 2)
    previous = func.round(cast(func.coalesce(deals.c.p, 0), Numeric) / rules.window_months, 2)
    fulfilment = case((deals.c.due > 0, func.round(cast(deals.c.kept, Numeric) * 100 / deals.c.due, 2)))
    if rules.method == "sales":
        # Seed 002: monthly average sales against the previous period, and the on-time credit
        # fulfilment rate (for customers with a deal due).
        growth = cast(func.coalesce(deals.c.w, 0), Numeric) * 100 / func.nullif(func.coalesce(deals.c.p, 0), 0)
        # Sales now and none before: a new customer, neither growing nor slipping (the middle
        # level); no sales in either window: the lowest.
        s = case((func.coalesce(deals.c.p, 0) == 0, case((func.coalesce(deals.c.w, 0) > 0, 3), else_=1)),
                 else_=_level_high_is_good(growth, rules.sales.growth))
        has_fulfilment = fulfilment.is_not(None)
        weighted = w.sales * (s - 1) * 25 + case((has_fulfilment, w.fulfilment * fulfilment), else_=0)
        weight = func.nullif(w.sales + case((has_fulfilment, w.fulfilment), else_=0), 0)
    else:
        has_satisfaction = satisfaction.c.s.is_not(None)
        weighted = (w.recency * (r - 1) * 25 + w.frequency * (f - 1) * 25 + w.monetary * (m - 1) * 25
                    + case((has_satisfaction, w.satisfaction * (satisfaction.c.s - 1) * 25), else_=0))
        weight = func.nullif(w.recency + w.frequency + w.monetary + case((has_satisfaction, w.satisfaction), else_=0),
                             0)
    inner = (select(Customer.id.label("customer_id"), recency.label("recency_days"), frequency.label("frequency"),
                    monetary.label("monetary"), func.round(satisfaction.c.s, 2).label("satisfaction"),
                    r.label("r_score"), f.label("f_score"), m.label("m_score"),
                    func.coalesce(func.round(cast(weighted, Numeric) / weight, 2), 0).label("score"),
                    monthly.label("monthly_sales"), previous.label("previous_monthly_sales"),
                    fulfilment.label("fulfilment_rate"),
                    deals.c.cid.is_not(None).label("has_deal"),
                    holding.c.review_id.label("holding_review_id"), holding.c.grade.label("holding_grade"),
                    CustomerGrade.grade.label("previous_grade"), CustomerGrade.score.label("previous_score"))
             .select_from(Customer)
             .outerjoin(deals, deals.c.cid == Customer.id).outerjoin(contacts, contacts.c.cid == Customer.id)
             .outerjoin(satisfaction, satisfaction.c.cid == Customer.id)
             .outerjoin(holding, holding.c.cid == Customer.id)
             .outerjoin(CustomerGrade, CustomerGrade.customer_id == Customer.id)
             .where(Customer.id.between(lo, hi), scope)).subquery()
    grade = case(*((inner.c.score >= bound, literal(g.value)) for g, bound in bands_of(rules)),
                 else_=literal(Grade.E.value))
    return select(inner, grade.label("grade"), (inner.c.score >= Decimal(rules.bands.e)).label("on_scale"))


def _graded(rules: Rules, row: Any) -> tuple[Grade, bool, uuid.UUID | None, Tier, Decimal]:
    """A scored row's grade (a holding review's when lower: E is the lowest), whether it is on
    the scale, the review holding it, the value tier and the credit coefficient. A score below
    E's lowest is outside the scale (seed 002): unrated, kept as E for its coefficient and
    tier; a review's grade puts the customer back on the scale."""
    grade, on_scale, review = Grade(row["grade"]), bool(row["on_scale"]), None
    held = row["holding_grade"]
    if held is not None and (Grade(held).value > grade.value or not on_scale):
        grade, on_scale, review = Grade(held), True, row["holding_review_id"]
    tier = rules.tiers.of(grade) if row["has_deal"] else Tier.potential
    return grade, on_scale, review, tier, rules.coefficients.of(grade)


def _scope(node_path: str | None = None, customer_id: uuid.UUID | None = None) -> ColumnElement[bool]:
    live = Customer.merged_into_id.is_(None)
    if customer_id is not None:
        return and_(live, Customer.id == customer_id)
    if node_path is None:
        return live
    return and_(live, under(Customer.node_id, node_path))


_SHOWN = ("grade", "on_scale", "score", "tier", "coefficient", "review_id")  # what moves the grade's version


def _upsert() -> Any:
    table = CustomerGrade.__table__
    upsert = pg_insert(table)
    return upsert.on_conflict_do_update(index_elements=[table.c.customer_id], set_={
        **{c: upsert.excluded[c] for c in ("grade", "score", "recency_days", "frequency", "monetary", "satisfaction",
                                           "r_score", "f_score", "m_score", "tier", "coefficient", "monthly_sales",
                                           "previous_monthly_sales", "method", "on_scale", "fulfilment_rate",
                                           "review_id", "rules_version", "computed_at")},
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
    rules = rules_of(value)
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
            grade, on_scale, review, tier, coefficient = _graded(rules, r)
            grades.append({"customer_id": r["customer_id"], "grade": grade, "on_scale": on_scale,
                           "method": rules.method, "previous_monthly_sales": r["previous_monthly_sales"],
                           "score": r["score"],
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
    # Per grade, and the customers outside the scale (unrated).
    per_grade = {g.value: 0 for g in Grade} | {"unrated": 0}
    for g, on_scale, n in (await session.execute(
            select(CustomerGrade.grade, CustomerGrade.on_scale, func.count())
            .join(Customer, Customer.id == CustomerGrade.customer_id)
            .where(scope).group_by(CustomerGrade.grade, CustomerGrade.on_scale))).all():
        per_grade[g.value if on_scale else "unrated"] += n
    result = {"customers": done, "changed": changed, "grades": per_grade, "rulesVersion": rules_version}
    # One record for the run; each customer's change is in their grade history.
    where = "group" if whole_group else (node_path or f"customer {customer_id}")
    await audit.record(session, action="grading.recompute", entity_type=COMPUTATION,
                       entity_id=job_id or f"{'scheduled' if whole_group else 'run'}-{now.isoformat()}",
                       after={**result, "scope": where})
    return result
