"""What the surveys package's aggregates share: permissions, entity names, limits, and the
org hook.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.authz import register_permissions
from app.domains.org import services as org
from app.domains.org.services import records_at
from app.domains.surveys.models import ReturnVisitPlan, ReturnVisitTarget, SurveyResult

READ, WRITE, CONFIGURE = "surveys.read", "surveys.write", "surveys.configure"

register_permissions({
    READ: "See return-visit plans, their targets, results and satisfaction statistics in one's subtree, and the "
          "group's questionnaires.",
    WRITE: "Plan return visits, work their targets and record results in one's subtree.",
    CONFIGURE: "Define and retire the group's questionnaires (at the group node).",
})

QUESTIONNAIRE, PLAN, TARGET, RESULT = "questionnaire", "return_visit_plan", "return_visit_target", "survey_result"
MAX_TARGETS = 50_000  # one plan's reach; a larger campaign is several plans
INSERT_BATCH = 5_000
TWO = Decimal("0.01")


# ---------------------------------------------------------------------------- org hooks


@org.live_records("surveys")
async def _surveys_at(session: AsyncSession, holder: org.Holder) -> str | None:
    return await records_at(session, holder, [(ReturnVisitPlan, "return-visit plans"),
                                              (ReturnVisitTarget, "return-visit targets"),
                                              (SurveyResult, "survey results")])
