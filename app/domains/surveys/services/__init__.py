"""Return visits and satisfaction (DOMAIN.md, return visits).

- **Questionnaires** are the group's: scale questions (1–5) each measure a dimension of the
  documents (product quality, service, price, overall); text questions collect remarks. A
  questionnaire's questions are fixed once a result uses it; it can be retired.
- A **return-visit plan** sits at a node (the group, a branch, a project) and chooses its
  targets when it is made: the live customers under that node matching its filters (projects
  or branches, grade, value tier, status, kind, owners or prospects, not surveyed lately), one target
  each, due on the plan's date. Staff work their targets (unreachable, declined, again) until
  a result completes them; closing the plan cancels what is left.
- A **result** is one customer's answers, at the customer's node; through a target it
  completes the target.
- **Statistics** are computed in SQL: responses and mean scores per dimension, and the share
  of satisfied customers (overall 4 or 5), by project, branch or the whole group, per month,
  quarter or year in the group's time zone, over the results the caller may read.

The package holds one aggregate per module (questionnaires, plans with their targets,
results, statistics; common: what they share); this module gathers what the rest of the
application calls.
"""

from __future__ import annotations

from app.domains.surveys.services.common import (
    CONFIGURE,
    INSERT_BATCH,
    MAX_TARGETS,
    PLAN,
    QUESTIONNAIRE,
    READ,
    RESULT,
    TARGET,
    TWO,
    WRITE,
)
from app.domains.surveys.services.plans import (
    PLAN_SORT,
    TARGET_SORT,
    close_plan,
    create_plan,
    get_plan,
    get_target,
    list_plans,
    list_targets,
    plan_out,
    target_out,
    update_plan,
    update_target,
)
from app.domains.surveys.services.questionnaires import (
    QUESTIONNAIRE_SORT,
    add_questionnaire,
    create_questionnaire,
    get_questionnaire,
    list_questionnaires,
    questionnaire_out,
    update_questionnaire,
)
from app.domains.surveys.services.results import RESULT_SORT, create_result, get_result, list_results, result_out
from app.domains.surveys.services.statistics import statistics

__all__ = [
    "CONFIGURE", "INSERT_BATCH", "MAX_TARGETS", "PLAN", "PLAN_SORT", "QUESTIONNAIRE", "QUESTIONNAIRE_SORT", "READ",
    "RESULT", "RESULT_SORT", "TARGET", "TARGET_SORT", "TWO", "WRITE", "add_questionnaire", "close_plan",
    "create_plan", "create_questionnaire", "create_result", "get_plan", "get_questionnaire", "get_result",
    "get_target", "list_plans", "list_questionnaires", "list_results", "list_targets", "plan_out",
    "questionnaire_out", "result_out", "statistics", "target_out", "update_plan", "update_questionnaire",
    "update_target",
]
