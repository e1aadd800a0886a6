"""Grading and credit (DOMAIN.md, grading, tiering and credit).

**Grades.** The group's rules (a tenant setting, versioned and audited) score every live
customer 0–100. By the default ``sales`` method (seed 002): monthly average sales in the window
against the previous window's (1–5 by cut points, then 0–100) and the on-time credit
fulfilment rate, weighted. By the ``rfm`` method, the group's other choice:

- R, recency: days since the customer's last deal (a unit subscribed or contracted) or
  contact (a visit made, a call that reached them);
- F, frequency: deals and contacts within the window (the last N months);
- M, monetary: the total of the customer's deals;
- each scores 1–5 by the rules' cut points, then 0–100 (1 → 0, 5 → 100); satisfaction (the
  mean overall score of their survey results in the window) likewise, for customers who
  have one. The score is the weighted mean of the factors the customer has.
- the grade is the highest band whose lowest score it reaches (D watch, E eliminate), or lower
  while a credit review holds it down; below E's lowest the customer is unrated (outside the
  scale). Each grade's policy, queue priority and visit frequency: ``app.domains.grading.treatments``.
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

**The grade summary table** is prepared at a node and signed off by the ``grade_summary``
chain (checked, reviewed, approved), its lines kept as prepared.

**Credit reviews** (credit-grade changes): an abnormality is recorded, investigated and
concluded; a serious one proposes a lower grade, which the ``credit_grade_change`` chain
decides. On approval the grade is applied at once (the customer is graded again, the review
holding the grade down until its end date), the change is in the grade history with the
review, and the customer is told through the outbox.

The package holds one aggregate per module (rules, computation, grades, credit, reviews;
common: what they share); this module gathers what the rest of the application calls.
"""

from __future__ import annotations

from app.domains.grading.services.common import (
    ASSIGN,
    BATCH,
    CENT,
    COMPUTATION,
    CONFIGURE,
    CREDIT,
    CREDIT_CHANGE,
    CREDIT_REVIEW,
    CREDIT_TYPE,
    CUSTOMER,
    DEFAULT_RULES,
    GRADE_TYPE,
    KIND,
    READ,
    RECOMPUTE,
    REVIEW,
    RULES,
    RULES_ENTITY,
    get_customer,
)
from app.domains.grading.services.computation import recompute
from app.domains.grading.services.credit import (
    CREDIT_REQUEST,
    CREDIT_SORT,
    _on_credit_approved,
    apply_for_credit,
    credit_change_out,
    credit_limits,
    get_credit_change,
    list_credit_changes,
)
from app.domains.grading.services.grades import (
    GRADE_SORT,
    HISTORY_SORT,
    customer_grading,
    grade_history,
    graded,
    list_grades,
    set_account_manager,
)
from app.domains.grading.services.reviews import (
    GRADE_REQUEST,
    REVIEW_SORT,
    conclude_review,
    get_review,
    list_reviews,
    open_review,
    review_out,
)
from app.domains.grading.services.rules import get_rules, normalised, put_rules
from app.domains.grading.services.summaries import SUMMARY_REQUEST

REQUEST_TYPES = [CREDIT_REQUEST, GRADE_REQUEST, SUMMARY_REQUEST]  # the domain's declaration names this list

__all__ = [
    "ASSIGN", "BATCH", "CENT", "COMPUTATION", "CONFIGURE", "CREDIT", "CREDIT_CHANGE", "CREDIT_REQUEST",
    "CREDIT_REVIEW", "CREDIT_SORT", "CREDIT_TYPE", "CUSTOMER", "DEFAULT_RULES", "GRADE_REQUEST", "GRADE_SORT",
    "GRADE_TYPE", "HISTORY_SORT", "KIND", "READ", "RECOMPUTE", "REQUEST_TYPES", "REVIEW", "REVIEW_SORT", "RULES",
    "RULES_ENTITY", "_on_credit_approved", "apply_for_credit", "conclude_review", "credit_change_out",
    "credit_limits", "customer_grading", "get_credit_change", "get_customer", "get_review", "get_rules",
    "grade_history", "graded", "list_credit_changes", "list_grades", "list_reviews", "normalised", "open_review",
    "put_rules", "recompute", "review_out", "set_account_manager",
]
