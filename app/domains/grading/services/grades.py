"""Grades as read: the grade summary table, a customer's grading and its history, and the
account manager.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.core import audit, tenant_settings
from app.core.pagination import ColumnLike, PageParams, order_by, paginate
from app.core.problems import ProblemError
from app.core.schemas import Page
from app.domains.access.authz import Authorizer
from app.domains.access.records import subtree_filter
from app.domains.customers.models import Customer
from app.domains.grading.models import TREATMENTS, CustomerGrade, Grade, GradeChange, Tier
from app.domains.grading.schemas import (
    AccountManagerIn,
    CustomerGrading,
    GradeChangeOut,
    GradeOut,
    GradeRow,
    Rules,
    Standing,
)
from app.domains.grading.services.common import ASSIGN, CENT, CUSTOMER, READ, RULES, require_live
from app.domains.grading.services.credit import APPLIED_LIMITS, credit_limits, pending_change
from app.domains.grading.services.rules import rules_of
from app.domains.grading.treatments import policy, priority

# ----------------------------------------------------------------- the grade summary table


_SUGGESTED = func.round(CustomerGrade.monthly_sales * CustomerGrade.coefficient, 2)
# A customer without a fulfilment rate or a credit limit sorts as the lowest (-1).
GRADE_SORT: dict[str, ColumnLike[Any]] = {
    "score": CustomerGrade.score, "grade": CustomerGrade.grade, "customerNumber": Customer.number,
    "previousMonthlySales": func.coalesce(CustomerGrade.previous_monthly_sales, -1),
    "computedAt": CustomerGrade.computed_at, "coefficient": CustomerGrade.coefficient,
    "monthlySales": CustomerGrade.monthly_sales, "fulfilmentRate": func.coalesce(CustomerGrade.fulfilment_rate, -1),
    "creditLimit": func.coalesce(APPLIED_LIMITS.c.limit, -1), "suggestedLimit": _SUGGESTED,
}


def _rfm(g: Any) -> str:
    return f"{g.r_score}{g.f_score}{g.m_score}"


def _standing(g: CustomerGrade) -> Standing:
    return "graded" if g.on_scale else "unrated"


async def list_grades(session: AsyncSession, authz: Authorizer, params: PageParams, *, grade: Grade | None,
                      standing: Standing | None = None, tier: Tier | None, node_id: uuid.UUID | None,
                      account_manager_id: str | None, has_account_manager: bool | None) -> Page[GradeRow]:
    """The grade summary table: one SQL statement per page over the customers the caller may read."""
    stmt: Select[Any] = (select(CustomerGrade, Customer.number, Customer.name, Customer.node_id,
                                APPLIED_LIMITS.c.limit, _SUGGESTED)
                         .join(Customer, Customer.id == CustomerGrade.customer_id)
                         .outerjoin(APPLIED_LIMITS, APPLIED_LIMITS.c.cid == CustomerGrade.customer_id)
                         .where(authz.visible(READ, Customer.node_id), Customer.merged_into_id.is_(None)))
    if grade is not None:  # an unrated customer has no grade
        stmt = stmt.where(CustomerGrade.grade == grade, CustomerGrade.on_scale)
    if standing is not None:
        stmt = stmt.where(CustomerGrade.on_scale if standing == "graded" else ~CustomerGrade.on_scale)
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
                      monthly_sales=g.monthly_sales, previous_monthly_sales=g.previous_monthly_sales,
                      fulfilment_rate=g.fulfilment_rate, grade=g.grade if g.on_scale else None,
                      standing=_standing(g), policy=policy(g.grade, g.on_scale), credit_limit=limit,
                      suggested_limit=suggested, tier=g.tier, treatment=TREATMENTS[g.tier],
                      rfm=_rfm(g), review_id=g.review_id, computed_at=g.computed_at)
             for g, number, name, node, limit, suggested in rows]
    return Page(items=items, total=total, limit=params.limit, offset=params.offset)


def _unrated_reason(g: CustomerGrade, rules: Rules) -> str | None:
    if g.on_scale:
        return None
    return (f"Score {g.score} is below {rules.bands.e}, the lowest score of grade E (seed 002: E is 50–60): "
            "outside the scale. The customer is unrated and on the watch list, with E's credit coefficient "
            "and tier, until a computation puts them back on the scale.")


def _growth(g: CustomerGrade) -> Any:
    if not g.previous_monthly_sales:
        return None
    return (g.monthly_sales * 100 / g.previous_monthly_sales).quantize(CENT)


def grade_out(g: CustomerGrade, rules: Rules) -> GradeOut:
    return GradeOut(grade=g.grade if g.on_scale else None, standing=_standing(g),
                    standing_reason=_unrated_reason(g, rules), score=g.score, method=_method(g.method),
                    recency_days=g.recency_days, frequency=g.frequency,
                    monetary=g.monetary, satisfaction=g.satisfaction, rfm=_rfm(g), tier=g.tier,
                    treatment=TREATMENTS[g.tier], policy=policy(g.grade, g.on_scale),
                    priority=priority(g.grade, g.on_scale),
                    visit_every_days=rules.visit_days.of(g.grade) if g.on_scale else None,
                    coefficient=g.coefficient, monthly_sales=g.monthly_sales,
                    previous_monthly_sales=g.previous_monthly_sales, sales_growth=_growth(g),
                    fulfilment_rate=g.fulfilment_rate, review_id=g.review_id, rules_version=g.rules_version,
                    computed_at=g.computed_at)


def _method(value: str) -> Any:
    return "sales" if value == "sales" else "rfm"


async def current_rules(session: AsyncSession) -> Rules:
    return rules_of((await tenant_settings.get(session, RULES))[0])


async def customer_grading(session: AsyncSession, customer: Customer) -> tuple[CustomerGrading, int]:
    """The customer's grade, account manager, credit limit and pending application; and the
    grade's version."""
    g = await session.get(CustomerGrade, customer.id)
    limit = (await credit_limits(session, [customer.id])).get(customer.id)
    shown = None if g is None else grade_out(g, await current_rules(session))
    grading = CustomerGrading(customer_id=customer.id, grade=shown,
                              account_manager_id=None if g is None else g.account_manager_id, credit_limit=limit,
                              pending_credit_change_id=await pending_change(session, customer.id))
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
    require_live(customer)
    account = await staff_subject(session, data.account_id, "accountId") if data.account_id else None
    before = {"accountManagerId": g.account_manager_id}
    g.account_manager_id = account
    await session.flush()
    await session.refresh(g)
    await audit.record(session, action="grading.account_manager.set", entity_type=CUSTOMER, entity_id=customer.id,
                       before=before, after={"accountManagerId": account}, reason=data.reason)
    return g
