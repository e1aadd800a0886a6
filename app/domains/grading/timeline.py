"""Grade changes and credit investigations in a customer's history
(app/domains/customers/timeline.py): a grade has no node of its own, it sits at its customer's."""

from __future__ import annotations

from sqlalchemy import case, func, literal, select

from app.domains.customers.models import Customer
from app.domains.customers.timeline import TimelineSource
from app.domains.grading.models import CreditInvestigation, GradeChange

TIMELINE = [TimelineSource("grade", "grading.read", "grading:read", lambda customer_id: select(
    GradeChange.id, GradeChange.computed_at,
    func.concat("Grade ", func.coalesce(GradeChange.previous_grade, "-"), " → ", GradeChange.grade), literal(None),
    Customer.node_id).join(Customer, Customer.id == GradeChange.customer_id)
    .where(GradeChange.customer_id == customer_id)),
    TimelineSource("credit_investigation", "grading.read", "grading:read", lambda customer_id: select(
        CreditInvestigation.id, CreditInvestigation.created_at,
        func.concat(CreditInvestigation.number, " ", CreditInvestigation.agency),
        case((CreditInvestigation.reported_at.is_(None), "requested"), else_="reported"),
        CreditInvestigation.node_id).where(CreditInvestigation.customer_id == customer_id)),
]
