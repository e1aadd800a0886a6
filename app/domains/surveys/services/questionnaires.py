"""Questionnaires: the group's scale and text questions, fixed once a result uses them,
retired when no longer asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.org import services as org
from app.domains.surveys.models import Question, QuestionKind, Questionnaire, QuestionnaireStatus, SurveyResult
from app.domains.surveys.schemas import (
    QuestionIn,
    QuestionnaireCreate,
    QuestionnaireOut,
    QuestionnaireSummary,
    QuestionnaireUpdate,
    QuestionOut,
    ScaleQuestion,
)
from app.domains.surveys.services.common import CONFIGURE, QUESTIONNAIRE, READ

# ------------------------------------------------------------------------ questionnaires

QUESTIONNAIRE_SORT = {"title": Questionnaire.title, "createdAt": Questionnaire.created_at}


async def get_questionnaire(session: AsyncSession, authz: Authorizer, questionnaire_id: uuid.UUID, *,
                            lock: bool = False, share: bool = False, field: str | None = None) -> Questionnaire:
    """A questionnaire, for a caller who reads surveys somewhere (they are the group's);
    ``lock`` to change it, ``share`` to answer it (its questions stay while the answers are
    written)."""
    authz.require_anywhere(READ)
    stmt = select(Questionnaire).where(Questionnaire.id == questionnaire_id)
    if lock or share:
        stmt = stmt.with_for_update(read=not lock)
    found = await session.scalar(stmt)
    if found is None:
        raise ProblemError("not-found", f"No questionnaire with id {questionnaire_id}.",
                           errors=[field_error(field, "no such questionnaire")] if field else None)
    return found


async def questions_of(session: AsyncSession, questionnaire_id: uuid.UUID) -> list[Question]:
    return list((await session.scalars(select(Question).where(Question.questionnaire_id == questionnaire_id)
                                       .order_by(Question.position))).all())


async def _in_use(session: AsyncSession, questionnaire_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(SurveyResult.questionnaire_id == questionnaire_id))))


async def questionnaire_out(session: AsyncSession, q: Questionnaire) -> QuestionnaireOut:
    return QuestionnaireOut(
        id=q.id, title=q.title, description=q.description, status=q.status,
        questions=[QuestionOut(id=x.id, position=x.position, kind=x.kind, text=x.text, dimension=x.dimension,
                               required=x.required) for x in await questions_of(session, q.id)],
        in_use=await _in_use(session, q.id), created_at=q.created_at, version=q.version)


async def list_questionnaires(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                              status: QuestionnaireStatus | None) -> Page[QuestionnaireSummary]:
    authz.require_anywhere(READ)
    stmt: Select[Any] = select(Questionnaire)
    if status is not None:
        stmt = stmt.where(Questionnaire.status == status)
    page = await paginate(session, stmt, params, sortable=QUESTIONNAIRE_SORT, default_sort=["title"],
                          tiebreak=Questionnaire.id, to_schema=lambda q: q)
    counts = dict((await session.execute(
        select(Question.questionnaire_id, func.count()).where(Question.questionnaire_id.in_([q.id for q in page.items]))
        .group_by(Question.questionnaire_id))).all()) if page.items else {}
    return Page(items=[QuestionnaireSummary(id=q.id, title=q.title, status=q.status, question_count=counts.get(q.id, 0),
                                            version=q.version) for q in page.items],
                total=page.total, limit=page.limit, offset=page.offset)


def _question_rows(questionnaire_id: uuid.UUID, questions: Sequence[QuestionIn]) -> list[Question]:
    return [Question(questionnaire_id=questionnaire_id, position=i, text=q.text,
                     kind=QuestionKind.scale if isinstance(q, ScaleQuestion) else QuestionKind.text,
                     dimension=q.dimension if isinstance(q, ScaleQuestion) else None, required=q.required)
            for i, q in enumerate(questions)]


def _questions_snapshot(rows: Sequence[Question]) -> list[dict[str, Any]]:
    return [{"kind": q.kind.value, "dimension": q.dimension.value if q.dimension else None, "text": q.text}
            for q in rows]


async def _require_configure(session: AsyncSession, authz: Authorizer) -> None:
    authz.require(CONFIGURE, (await org.get_root(session)).path)


async def create_questionnaire(session: AsyncSession, authz: Authorizer, data: QuestionnaireCreate,
                               ) -> Questionnaire:
    await _require_configure(session, authz)
    return await add_questionnaire(session, data)


async def add_questionnaire(session: AsyncSession, data: QuestionnaireCreate) -> Questionnaire:
    """A new active questionnaire (also the seeding of a new group's standard one)."""
    q = Questionnaire(title=data.title, description=data.description, status=QuestionnaireStatus.active)
    session.add(q)
    await session.flush()
    rows = _question_rows(q.id, data.questions)
    session.add_all(rows)
    return await saved(session, q, "surveys.questionnaire.create", QUESTIONNAIRE,
                       snapshot=lambda q: {**audit.snapshot(q), "questions": _questions_snapshot(rows)})


async def update_questionnaire(session: AsyncSession, authz: Authorizer, q: Questionnaire,
                               data: QuestionnaireUpdate) -> Questionnaire:
    await _require_configure(session, authz)
    changes = provided(data)
    before = audit.snapshot(q)
    after_questions = None
    if data.questions is not msgspec.UNSET:
        if await _in_use(session, q.id):
            raise ProblemError("conflict", "Results use this questionnaire: its questions are fixed. Make a new "
                                           "questionnaire (and retire this one) instead.",
                               errors=[field_error("questions", "fixed: results use them")])
        await session.execute(delete(Question).where(Question.questionnaire_id == q.id))
        del changes["questions"]
        rows = _question_rows(q.id, data.questions)
        session.add_all(rows)
        after_questions = _questions_snapshot(rows)
    for name, value in changes.items():
        setattr(q, name, value)
    q.updated_at = clock.utcnow()  # the version moves even when only the questions changed
    await session.flush()
    await session.refresh(q)
    after = {**audit.snapshot(q), **({"questions": after_questions} if after_questions is not None else {})}
    await audit.record(session, action="surveys.questionnaire.update", entity_type=QUESTIONNAIRE, entity_id=q.id,
                       before=before, after=after)
    return q


def require_usable(q: Questionnaire, field: str) -> None:
    if q.status is not QuestionnaireStatus.active:
        raise ProblemError("conflict", f"The questionnaire {q.title!r} is retired.",
                           errors=[field_error(field, "retired")])
