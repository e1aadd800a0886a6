"""Survey results: one customer's answers, at the customer's node, completing a target when
they answer one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.pagination import PageParams, paginate
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer
from app.domains.surveys.models import (
    Dimension,
    Question,
    QuestionKind,
    ReturnVisitTarget,
    SurveyAnswer,
    SurveyResult,
    TargetStatus,
)
from app.domains.surveys.schemas import AnswerOut, DimensionScores, ResultCreate, ResultOut, ResultSummary
from app.domains.surveys.services.common import READ, RESULT, TARGET, TWO, WRITE
from app.domains.surveys.services.plans import get_target, open_plan_of
from app.domains.surveys.services.questionnaires import get_questionnaire, questions_of, require_usable

# ------------------------------------------------------------------------------ results

RESULT_SORT = {"respondedAt": SurveyResult.responded_at, "createdAt": SurveyResult.created_at}
# Each dimension's mean score over a result's answers (or a group of results'), in SQL.
MEANS = {d: func.round(func.avg(SurveyAnswer.score).filter(SurveyAnswer.dimension == d), 2) for d in Dimension}


async def get_result(session: AsyncSession, authz: Authorizer, result_id: uuid.UUID) -> tuple[SurveyResult, str]:
    return await get_at_node(session, authz, SurveyResult, result_id, READ, "survey result")


def scores_of(values: dict[Dimension, Any]) -> DimensionScores:
    return DimensionScores(**{d.value: None if values.get(d) is None else Decimal(values[d]).quantize(TWO)
                              for d in Dimension})


async def result_out(session: AsyncSession, r: SurveyResult) -> ResultOut:
    answers = (await session.scalars(
        select(SurveyAnswer).join(Question, Question.id == SurveyAnswer.question_id)
        .where(SurveyAnswer.result_id == r.id).order_by(Question.position))).all()
    means = (await session.execute(select(*MEANS.values()).where(SurveyAnswer.result_id == r.id))).one()
    return ResultOut(
        id=r.id, customer_id=r.customer_id, node_id=r.node_id, questionnaire_id=r.questionnaire_id,
        plan_id=r.plan_id, target_id=r.target_id, method=r.method, responded_at=r.responded_at,
        recorded_by=r.recorded_by, comment=r.comment,
        answers=[AnswerOut(question_id=a.question_id, dimension=a.dimension, score=a.score, text=a.text)
                 for a in answers],
        scores=scores_of(dict(zip(MEANS, means, strict=True))), created_at=r.created_at, version=r.version)


def _result_summary(r: SurveyResult) -> ResultSummary:
    return ResultSummary(id=r.id, customer_id=r.customer_id, node_id=r.node_id, questionnaire_id=r.questionnaire_id,
                         plan_id=r.plan_id, method=r.method, responded_at=r.responded_at, version=r.version)


async def list_results(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                       customer_id: uuid.UUID | None, plan_id: uuid.UUID | None,
                       questionnaire_id: uuid.UUID | None, node_id: uuid.UUID | None,
                       responded_from: datetime | None, responded_to: datetime | None) -> Page[ResultSummary]:
    stmt: Select[Any] = select(SurveyResult).where(authz.visible(READ, SurveyResult.node_id))
    if customer_id is not None:
        stmt = stmt.where(SurveyResult.customer_id == customer_id)
    if plan_id is not None:
        stmt = stmt.where(SurveyResult.plan_id == plan_id)
    if questionnaire_id is not None:
        stmt = stmt.where(SurveyResult.questionnaire_id == questionnaire_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, SurveyResult.node_id, node_id))
    if responded_from is not None:
        stmt = stmt.where(SurveyResult.responded_at >= responded_from)
    if responded_to is not None:
        stmt = stmt.where(SurveyResult.responded_at < responded_to)
    return await paginate(session, stmt, params, sortable=RESULT_SORT, default_sort=["-respondedAt"],
                          tiebreak=SurveyResult.id, to_schema=_result_summary)


def _answer_problems(questions: Sequence[Question], data: ResultCreate) -> list[FieldError]:
    by_id = {q.id: q for q in questions}
    errors: list[FieldError] = []
    seen: set[uuid.UUID] = set()
    for i, a in enumerate(data.answers):
        q = by_id.get(a.question_id)
        where = f"answers.{i}"
        if q is None:
            errors.append(field_error(f"{where}.questionId", "not a question of this questionnaire"))
        elif a.question_id in seen:
            errors.append(field_error(f"{where}.questionId", "answered twice"))
        elif q.kind is QuestionKind.scale and a.score is None:
            errors.append(field_error(f"{where}.score", "a scale question is answered with a score from 1 to 5"))
        elif q.kind is QuestionKind.text and (a.text is None or a.score is not None):
            errors.append(field_error(where, "a text question is answered with text, without a score"))
        seen.add(a.question_id)
    for q in questions:
        if q.required and q.id not in seen:
            errors.append(field_error("answers", f"question {q.position + 1} ({q.id}) needs an answer"))
    return errors


async def _target_for(session: AsyncSession, authz: Authorizer, target_id: uuid.UUID, customer: Customer,
                      questionnaire_id: uuid.UUID) -> ReturnVisitTarget:
    try:
        target, path = await get_target(session, authz, target_id, lock=True)
    except ProblemError:
        raise ProblemError("not-found", f"No return-visit target with id {target_id}.",
                           errors=[field_error("targetId", "no such target")]) from None
    authz.require(WRITE, path)
    if target.customer_id != customer.id:
        raise ProblemError("validation", "The target is another customer's.",
                           errors=[field_error("targetId", "a target of another customer")])
    plan = await open_plan_of(session, target)
    if target.status not in (TargetStatus.pending, TargetStatus.unreachable):
        raise ProblemError("conflict", f"The target is {target.status.value}.",
                           errors=[field_error("targetId", target.status.value)])
    if plan.questionnaire_id is not None and plan.questionnaire_id != questionnaire_id:
        raise ProblemError("validation", f"Plan {plan.number} asks questionnaire {plan.questionnaire_id}.",
                           errors=[field_error("questionnaireId", f"the plan asks {plan.questionnaire_id}")])
    return target


async def create_result(session: AsyncSession, authz: Authorizer, data: ResultCreate) -> SurveyResult:
    customer, node = await customer_for(session, authz, data.customer_id, WRITE)
    questionnaire = await get_questionnaire(session, authz, data.questionnaire_id, share=True,
                                            field="questionnaireId")
    require_usable(questionnaire, "questionnaireId")
    target = None
    if data.target_id is not None:
        target = await _target_for(session, authz, data.target_id, customer, questionnaire.id)
    questions = await questions_of(session, questionnaire.id)
    errors = _answer_problems(questions, data)
    if errors:
        raise ProblemError("validation", "The answers do not fit the questionnaire.", errors=errors)
    now = clock.utcnow()
    result = SurveyResult(customer_id=customer.id, node_id=node.id, questionnaire_id=questionnaire.id,
                          plan_id=target.plan_id if target else None, target_id=target.id if target else None,
                          method=data.method, responded_at=data.responded_at or now,
                          recorded_by=authz.principal.subject, comment=data.comment)
    session.add(result)
    await session.flush()
    dimension = {q.id: q.dimension for q in questions}
    session.add_all(SurveyAnswer(result_id=result.id, question_id=a.question_id, dimension=dimension[a.question_id],
                                 score=a.score, text=a.text) for a in data.answers)
    if target is not None:
        before = audit.snapshot(target)
        target.status, target.completed_at = TargetStatus.completed, now
        await session.flush()
        await audit.record(session, action="surveys.target.complete", entity_type=TARGET, entity_id=target.id,
                           before=before, after=audit.snapshot(target))
    return await saved(session, result, "surveys.result.record", RESULT,
                       snapshot=lambda result: {**audit.snapshot(result), "scores": {
                           str(a.question_id): a.score for a in data.answers if a.score}})
