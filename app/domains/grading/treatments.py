"""What a customer's grade gets, as other processes read it (seed 002: A the VIP policy, B
VIP-like service, C a monthly upgrade plan): the priority in the inquiry and complaint
queues, an SQL expression their lists sort by, and the grade's visit frequency (a rule).

Imports only the grading models: the inquiry, complaint and visit domains read it without
depending on the grading services.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select

from app.domains.grading.models import LAST, POLICIES, PRIORITY, UNRATED_POLICY, CustomerGrade, Grade


def priority_of(customer_id: Any) -> ColumnElement[int]:
    """The queue priority of the customer whose id ``customer_id`` holds (1: grade A, first;
    6: unrated, ungraded or no customer): ``sort=priority`` on the inquiry and complaint lists."""
    rank = case(*((and_(CustomerGrade.grade == g, CustomerGrade.on_scale), n) for g, n in PRIORITY.items()),
                else_=LAST)
    found = select(rank).where(CustomerGrade.customer_id == customer_id).correlate_except(CustomerGrade)
    return func.coalesce(found.scalar_subquery(), LAST)


def priority(grade: Grade, on_scale: bool) -> int:
    return PRIORITY[grade] if on_scale else LAST


def policy(grade: Grade, on_scale: bool) -> str:
    return POLICIES[grade] if on_scale else UNRATED_POLICY
