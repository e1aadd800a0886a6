"""What the key-account domain holds about a person (app/core/personal.py): the big-customer
strategies and on-site return visits about them, and the improvement actions raised from their
survey answers. Each is kept on erasure: it is the company's record of a decision approved
through its chain (the strategy, the archived visit report, the improvement plan)."""

from __future__ import annotations

from app.core.personal import PersonalData, rows_holding
from app.domains.keyaccounts.models import KeyAccountStrategy, KeyAccountVisit, SurveyImprovement

_KEEP = "an approved record of the company's service decisions, archived as the seeds require (000 Ch 4 §13 ⑦)"

PERSONAL = PersonalData(holdings=(
    rows_holding("keyaccounts.strategies", "Big-customer strategies about the person: goals, strategy, period.",
                 KeyAccountStrategy, show=("number", "title", "goals", "strategy", "starts_on", "ends_on", "stage"),
                 keep=_KEEP),
    rows_holding("keyaccounts.visits", "On-site return visits of the person: purpose, findings, their feedback.",
                 KeyAccountVisit, show=("number", "purpose", "visited_on", "findings", "customer_feedback", "stage"),
                 keep=_KEEP),
    rows_holding("keyaccounts.improvements", "Improvement actions raised from the person's survey answers.",
                 SurveyImprovement, show=("number", "finding", "action", "stage", "outcome"), keep=_KEEP),
))
