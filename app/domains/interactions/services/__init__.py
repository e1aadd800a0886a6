"""Interaction rules: visits from plan to report, receptions and gifts through the approval
engine, calls with their outcome.

- A **visit** is planned for a customer (it sits at their node), applied for through the
  ``visit_application`` chain (the customer relations supervisor; the customer service
  manager when referred on: seed 000 §22), made once approved (needs, objections, gifts
  handed over, the next appointment, which plans the follow-up visit), then reported with
  its expenses, which finance reimburses once; a visit not yet made may be cancelled.
- A **reception** (or hospitality) is applied for at a project or branch with a budget by
  meals, transport, gifts and other; the ``reception_application`` chain (customer-service
  manager, general manager, finance by default) decides it; once approved it is held and
  reported with the actual costs. Rejected or withdrawn, it is revised and submitted again.
- A **gift plan** budgets an occasion's gifts; a **gift application** (``gift_application``
  chain) draws on a plan's remaining budget, and is issued once approved.
- A **call** is logged with its outcome: resolved, interest, no interest, a callback, or
  the reason it failed.

Needs, objections and interests describe what a customer wants: behaviour data, stored only
while their behaviour consent is active (409 consent-required otherwise), and kept out of
the audit trail (which records that they changed, not what they say).

The status of a reception or gift application under review is its approval request's
(pending, approved, rejected, withdrawn), read from the engine (``shown_status`` in
app/domains/approvals/approvable.py).

The package holds one aggregate per module (visits, receptions, gifts, calls; common:
what they share); this module gathers what the rest of the application calls.
"""

from __future__ import annotations

from app.domains.interactions.services.calls import CALL_SORT, call_out, create_call, get_call, list_calls
from app.domains.interactions.services.common import (
    CALL,
    GIFT_APPLICATION,
    GIFT_PLAN,
    GIFT_TYPE,
    IX_PHONE,
    PHONE,
    READ,
    RECEPTION,
    RECEPTION_TYPE,
    UNDER_BRANCH,
    VISIT,
    WRITE,
    ZERO,
)
from app.domains.interactions.services.gifts import (
    APPLICATION_RECORD,
    APPLICATION_SORT,
    GIFT_REQUEST,
    PLAN_SORT,
    cancel_gift_application,
    create_gift_application,
    create_gift_plan,
    get_gift_application,
    get_gift_plan,
    gift_application_out,
    gift_plan_out,
    issue_gifts,
    list_gift_applications,
    list_gift_plans,
    update_gift_plan,
)
from app.domains.interactions.services.hospitality import REPORT_REQUEST, reimburse
from app.domains.interactions.services.receptions import (
    RECEPTION_RECORD,
    RECEPTION_REQUEST,
    RECEPTION_SORT,
    cancel_reception,
    create_reception,
    get_reception,
    list_receptions,
    reception_out,
    report_reception,
    submit_reception,
    update_reception,
)
from app.domains.interactions.services.visits import (
    VISIT_REQUEST,
    VISIT_SORT,
    apply_for_visit,
    cancel_visit,
    create_visit,
    get_visit,
    list_visits,
    record_visit,
    reimburse_visit,
    report_visit,
    update_visit,
    visit_out,
)

REQUEST_TYPES = [RECEPTION_REQUEST, GIFT_REQUEST, REPORT_REQUEST]  # the domain's declaration names this list
REQUEST_TYPES += [VISIT_REQUEST]

__all__ = [
    "APPLICATION_RECORD", "APPLICATION_SORT", "CALL", "CALL_SORT", "GIFT_APPLICATION", "GIFT_PLAN", "GIFT_REQUEST",
    "GIFT_TYPE", "IX_PHONE", "PHONE", "PLAN_SORT", "READ", "RECEPTION", "RECEPTION_RECORD", "RECEPTION_REQUEST",
    "RECEPTION_SORT", "RECEPTION_TYPE", "REPORT_REQUEST", "REQUEST_TYPES", "UNDER_BRANCH", "VISIT", "VISIT_SORT",
    "WRITE", "ZERO",
    "call_out", "cancel_gift_application", "cancel_reception", "cancel_visit", "create_call",
    "create_gift_application", "create_gift_plan", "create_reception", "create_visit", "get_call",
    "get_gift_application", "get_gift_plan", "get_reception", "get_visit", "gift_application_out", "gift_plan_out",
    "issue_gifts", "list_calls", "list_gift_applications", "list_gift_plans", "list_receptions", "list_visits",
    "reception_out", "record_visit", "reimburse", "report_reception", "report_visit", "submit_reception",
    "update_gift_plan",
    "update_reception", "update_visit", "visit_out",
    "VISIT_REQUEST", "apply_for_visit", "reimburse_visit",
]
