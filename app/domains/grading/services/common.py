"""What the grading package's aggregates share: permissions, entity names, the default
rules and their tenant setting, a customer found for a caller, and the org hook.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import tenant_settings
from app.core.problems import ProblemError, field_error
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.records import get_at_node
from app.domains.customers.models import Customer
from app.domains.grading.models import CreditChange, CreditReview, GradeSummary
from app.domains.org import services as org
from app.domains.org.services import records_at

READ, CONFIGURE, RECOMPUTE, CREDIT = "grading.read", "grading.configure", "grading.recompute", "grading.credit"
REVIEW, ASSIGN, SUMMARY = "grading.review", "grading.assign", "grading.summary"

register_permissions({
    READ: "See customers' grades, their history, credit limits, credit-limit applications and credit reviews in "
          "one's subtree.",
    CONFIGURE: "Set the group's grading rules (at the group node).",
    RECOMPUTE: "Recompute the grades of the customers in one's subtree.",
    CREDIT: "Apply for credit-limit changes of customers in one's subtree (applied on approval).",
    REVIEW: "Open and conclude credit reviews of customers in one's subtree (a grade change applies on approval).",
    ASSIGN: "Assign the account manager of customers in one's subtree.",
    SUMMARY: "Prepare the grade summary table of one's subtree for sign-off (checked, reviewed, approved by its "
             "chain).",
})

KIND = "grading.recompute"  # the job's kind and its task's name
RULES_ENTITY, COMPUTATION, CREDIT_CHANGE = "grading_rules", "grade_computation", "credit_change"
CREDIT_REVIEW, CUSTOMER = "credit_review", "customer"
CREDIT_TYPE, GRADE_TYPE, SUMMARY_TYPE = "credit_limit_change", "credit_grade_change", "grade_summary"
SUMMARY_ENTITY = "grade_summary"
BATCH = 2_000  # customers scored per statement
CENT = Decimal("0.01")

DEFAULT_RULES: dict[str, Any] = {
    "windowMonths": 24,
    # Seed 002 (客户等级评估): grades on monthly average sales against the previous period and
    # the on-time credit fulfilment rate, equally weighted; RFM is the group's other choice.
    "method": "sales",
    "sales": {"growth": [70, 90, 100, 120]},
    "rfm": {"recencyDays": [30, 90, 180, 365], "frequency": [1, 2, 4, 8],
            "monetary": ["500000.00", "1000000.00", "2000000.00", "5000000.00"]},
    "weights": {"recency": 25, "frequency": 25, "monetary": 40, "satisfaction": 10, "sales": 50, "fulfilment": 50},
    # Seed 002: D 60–70 watch (关注), E 50–60 eliminate (淘汰); below 50 is outside the scale.
    "bands": {"A": "90", "B": "80", "C": "70", "D": "60", "E": "50"},
    "coefficients": {"A": "1.50", "B": "1.20", "C": "1.00", "D": "0.50", "E": "0"},
    "tiers": {"A": "high", "B": "high", "C": "mid", "D": "low", "E": "low"},
    "signingDays": 30,
    # The product's visit frequency per grade (no source clause: seed 000 §21 ④ has the
    # frequency set in the area plan); C's monthly visit carries its monthly upgrade plan (002).
    "visitDays": {"A": 30, "B": 30, "C": 30, "D": 90, "E": None},
}
RULES = tenant_settings.declare("grading.rules", DEFAULT_RULES,
                                "The group's grading rules: the method (sales, rfm), its cut points, factor "
                                "weights, grade bands, credit coefficients, value tiers, signing days, visit "
                                "frequency per grade.")


async def get_customer(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, *,
                       lock: bool = False) -> tuple[Customer, str]:
    """A customer whose grading the caller may read; any other id answers 404."""
    return await get_at_node(session, authz, Customer, customer_id, READ, "customer", lock=lock)


def require_live(customer: Customer, field: str | None = None) -> None:
    if customer.merged_into_id is not None:
        raise ProblemError("conflict", f"Customer {customer.number} was merged into customer "
                                       f"{customer.merged_into_id}: use that one.",
                           errors=[field_error(field, f"merged into {customer.merged_into_id}")] if field else None)


# ---------------------------------------------------------------------------- org hooks


@org.live_records("grading")
async def _grading_at(session: AsyncSession, holder: org.Holder) -> str | None:
    return await records_at(session, holder, [(CreditChange, "credit-limit changes"),
                                              (CreditReview, "credit reviews"),
                                              (GradeSummary, "grade summaries")])
