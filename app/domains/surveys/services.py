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
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Numeric,
    Select,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.db import rowcount
from app.core.ids import new_id
from app.core.numbering import next_number
from app.core.pagination import ColumnLike, PageParams, paginate
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import Page, provided
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.records import get_at_node, node_for, subtree_filter
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer, CustomerStatus, CustomerUnit
from app.domains.grading.models import CustomerGrade
from app.domains.org import services as org
from app.domains.org.models import NodeKind, OrgNode
from app.domains.org.services import records_at
from app.domains.surveys.models import (
    Dimension,
    PlanStatus,
    Question,
    QuestionKind,
    Questionnaire,
    QuestionnaireStatus,
    ReturnVisitPlan,
    ReturnVisitTarget,
    SurveyAnswer,
    SurveyResult,
    TargetStatus,
)
from app.domains.surveys.schemas import (
    AnswerOut,
    Closing,
    DimensionScores,
    GroupBy,
    Period,
    PlanCreate,
    PlanOut,
    PlanSummary,
    PlanUpdate,
    QuestionIn,
    QuestionnaireCreate,
    QuestionnaireOut,
    QuestionnaireSummary,
    QuestionnaireUpdate,
    QuestionOut,
    ResultCreate,
    ResultOut,
    ResultSummary,
    ScaleQuestion,
    Statistics,
    StatisticsRow,
    TargetCounts,
    TargetFilters,
    TargetFiltersOut,
    TargetOut,
    TargetUpdate,
)
from app.tenants import bound
from app.tenants.bound import local_year, time_zone

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


async def _questions(session: AsyncSession, questionnaire_id: uuid.UUID) -> list[Question]:
    return list((await session.scalars(select(Question).where(Question.questionnaire_id == questionnaire_id)
                                       .order_by(Question.position))).all())


async def _in_use(session: AsyncSession, questionnaire_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(SurveyResult.questionnaire_id == questionnaire_id))))


async def questionnaire_out(session: AsyncSession, q: Questionnaire) -> QuestionnaireOut:
    return QuestionnaireOut(
        id=q.id, title=q.title, description=q.description, status=q.status,
        questions=[QuestionOut(id=x.id, position=x.position, kind=x.kind, text=x.text, dimension=x.dimension,
                               required=x.required) for x in await _questions(session, q.id)],
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
    await session.flush()
    await session.refresh(q)
    await audit.record(session, action="surveys.questionnaire.create", entity_type=QUESTIONNAIRE, entity_id=q.id,
                       after={**audit.snapshot(q), "questions": _questions_snapshot(rows)})
    return q


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


def _usable(q: Questionnaire, field: str) -> None:
    if q.status is not QuestionnaireStatus.active:
        raise ProblemError("conflict", f"The questionnaire {q.title!r} is retired.",
                           errors=[field_error(field, "retired")])


# -------------------------------------------------------------------------------- plans

PLAN_SORT = {"dueOn": ReturnVisitPlan.due_on, "createdAt": ReturnVisitPlan.created_at,
             "number": ReturnVisitPlan.number}


async def get_plan(session: AsyncSession, authz: Authorizer, plan_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[ReturnVisitPlan, str]:
    return await get_at_node(session, authz, ReturnVisitPlan, plan_id, READ, "return-visit plan", lock=lock)


def _overdue(today: date) -> ColumnElement[bool]:
    return and_(ReturnVisitTarget.status == TargetStatus.pending, ReturnVisitTarget.due_on < today)


async def plan_out(session: AsyncSession, p: ReturnVisitPlan) -> PlanOut:
    today = await bound.today(session)
    counts = dict((await session.execute(
        select(ReturnVisitTarget.status, func.count()).where(ReturnVisitTarget.plan_id == p.id)
        .group_by(ReturnVisitTarget.status))).all())
    overdue = await session.scalar(select(func.count()).where(ReturnVisitTarget.plan_id == p.id, _overdue(today)))
    targets = TargetCounts(total=sum(counts.values()), overdue=overdue or 0,
                           **{s.value: counts.get(s, 0) for s in TargetStatus})
    return PlanOut(id=p.id, number=p.number, node_id=p.node_id, title=p.title, method=p.method,
                   questionnaire_id=p.questionnaire_id, due_on=p.due_on,
                   filters=msgspec.convert(p.filters, TargetFiltersOut), status=p.status, targets=targets,
                   created_by=p.created_by, created_at=p.created_at, version=p.version)


def _plan_summary(p: ReturnVisitPlan) -> PlanSummary:
    return PlanSummary(id=p.id, number=p.number, node_id=p.node_id, title=p.title, method=p.method, due_on=p.due_on,
                       status=p.status, version=p.version)


async def list_plans(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: PlanStatus | None,
                     node_id: uuid.UUID | None) -> Page[PlanSummary]:
    stmt: Select[Any] = select(ReturnVisitPlan).where(authz.visible(READ, ReturnVisitPlan.node_id))
    if status is not None:
        stmt = stmt.where(ReturnVisitPlan.status == status)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, ReturnVisitPlan.node_id, node_id))
    return await paginate(session, stmt, params, sortable=PLAN_SORT, default_sort=["dueOn"],
                          tiebreak=ReturnVisitPlan.id, to_schema=_plan_summary)


def _within(path: ColumnLike[str], root: str) -> ColumnElement[bool]:
    return or_(path == root, path.like(root + "/%"))


async def _selection(session: AsyncSession, authz: Authorizer, plan_node: OrgNode,
                     filters: TargetFilters) -> Select[uuid.UUID, uuid.UUID]:
    """The live customers under the plan's node that match every filter: (id, node id)."""
    stmt = (select(Customer.id, Customer.node_id).join(OrgNode, OrgNode.id == Customer.node_id)
            .where(_within(OrgNode.path, plan_node.path), Customer.merged_into_id.is_(None),
                   Customer.status.in_([CustomerStatus(s) for s in filters.statuses])))
    if filters.node_ids:
        paths = []
        for i, node_id in enumerate(filters.node_ids):
            node = await node_for(session, authz, node_id, READ, field=f"filters.nodeIds.{i}")
            paths.append(node.path)
        stmt = stmt.where(or_(*(_within(OrgNode.path, p) for p in paths)))
    if filters.grades:
        stmt = stmt.where(Customer.id.in_(select(CustomerGrade.customer_id)
                                          .where(CustomerGrade.grade.in_(filters.grades))))
    if filters.tiers:
        stmt = stmt.where(Customer.id.in_(select(CustomerGrade.customer_id)
                                          .where(CustomerGrade.tier.in_(filters.tiers))))
    if filters.kinds:
        stmt = stmt.where(Customer.kind.in_(filters.kinds))
    if filters.has_units is not None:
        owns = exists().where(CustomerUnit.customer_id == Customer.id)
        stmt = stmt.where(owns if filters.has_units else ~owns)
    if filters.not_surveyed_within_days is not None:
        since = clock.utcnow() - timedelta(days=filters.not_surveyed_within_days)
        stmt = stmt.where(~exists().where(SurveyResult.customer_id == Customer.id, SurveyResult.responded_at >= since))
    return stmt


async def create_plan(session: AsyncSession, authz: Authorizer, data: PlanCreate) -> ReturnVisitPlan:
    node = await node_for(session, authz, data.node_id, WRITE)
    if data.questionnaire_id is not None:
        _usable(await get_questionnaire(session, authz, data.questionnaire_id, field="questionnaireId"),
                "questionnaireId")
    chosen = await _selection(session, authz, node, data.filters)
    count = await session.scalar(select(func.count()).select_from(chosen.subquery()))
    if count and count > MAX_TARGETS:
        raise ProblemError("conflict", f"The filters choose {count} customers; a plan reaches at most {MAX_TARGETS}. "
                                       "Narrow them, or split the campaign into several plans.",
                           errors=[field_error("filters", f"{count} customers")])
    plan = ReturnVisitPlan(
        number=await next_number(session, "HF", await local_year(session, clock.utcnow())), node_id=node.id,
        title=data.title, method=data.method, questionnaire_id=data.questionnaire_id, due_on=data.due_on,
        filters=msgspec.to_builtins(data.filters), status=PlanStatus.open, created_by=authz.principal.subject)
    session.add(plan)
    await session.flush()
    rows = (await session.execute(chosen.order_by(Customer.id))).all()
    table = ReturnVisitTarget.__table__
    for start in range(0, len(rows), INSERT_BATCH):
        await session.execute(insert(table), [
            {"id": new_id(), "plan_id": plan.id, "customer_id": cid, "node_id": nid, "due_on": data.due_on,
             "status": TargetStatus.pending, "attempts": 0, "version": 1}
            for cid, nid in rows[start:start + INSERT_BATCH]])
    await session.refresh(plan)
    await audit.record(session, action="surveys.plan.create", entity_type=PLAN, entity_id=plan.id,
                       after={**audit.snapshot(plan), "targets": len(rows)})
    return plan


def _require_open(plan: ReturnVisitPlan) -> None:
    if plan.status is not PlanStatus.open:
        raise ProblemError("conflict", f"The return-visit plan {plan.number} is closed.")


async def update_plan(session: AsyncSession, authz: Authorizer, plan: ReturnVisitPlan, path: str,
                      data: PlanUpdate) -> ReturnVisitPlan:
    authz.require(WRITE, path)
    _require_open(plan)
    changes = provided(data)
    before = audit.snapshot(plan)
    for name, value in changes.items():
        setattr(plan, name, value)
    moved = 0
    if "due_on" in changes:
        result = await session.execute(
            update(ReturnVisitTarget).where(ReturnVisitTarget.plan_id == plan.id,
                                            ReturnVisitTarget.status == TargetStatus.pending)
            .values(due_on=data.due_on, version=ReturnVisitTarget.version + 1)
            .execution_options(synchronize_session=False))
        moved = rowcount(result)
    await session.flush()
    await session.refresh(plan)
    await audit.record(session, action="surveys.plan.update", entity_type=PLAN, entity_id=plan.id, before=before,
                       after={**audit.snapshot(plan), "targetsMoved": moved})
    return plan


async def close_plan(session: AsyncSession, authz: Authorizer, plan: ReturnVisitPlan, path: str,
                     data: Closing) -> ReturnVisitPlan:
    authz.require(WRITE, path)
    _require_open(plan)
    before = audit.snapshot(plan)
    result = await session.execute(
        update(ReturnVisitTarget).where(ReturnVisitTarget.plan_id == plan.id,
                                        ReturnVisitTarget.status.in_([TargetStatus.pending, TargetStatus.unreachable]))
        .values(status=TargetStatus.cancelled, version=ReturnVisitTarget.version + 1)
        .execution_options(synchronize_session=False))
    plan.status = PlanStatus.closed
    await session.flush()
    await session.refresh(plan)
    await audit.record(session, action="surveys.plan.close", entity_type=PLAN, entity_id=plan.id, before=before,
                       after={**audit.snapshot(plan),
                              "targetsCancelled": rowcount(result)},
                       reason=data.reason)
    return plan


# ------------------------------------------------------------------------------ targets

TARGET_SORT = {"dueOn": ReturnVisitTarget.due_on, "customerNumber": Customer.number,
               "createdAt": ReturnVisitTarget.created_at}


async def get_target(session: AsyncSession, authz: Authorizer, target_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[ReturnVisitTarget, str]:
    return await get_at_node(session, authz, ReturnVisitTarget, target_id, READ, "return-visit target", lock=lock)


async def _targets_out(session: AsyncSession, targets: Sequence[ReturnVisitTarget], today: date) -> list[TargetOut]:
    """Targets with their customers' numbers and names and their results, in one query each."""
    if not targets:
        return []
    ids = [t.id for t in targets]
    customers = {c.id: c for c in (await session.execute(
        select(Customer.id, Customer.number, Customer.name).where(
            Customer.id.in_({t.customer_id for t in targets})))).all()}
    results = dict((await session.execute(select(SurveyResult.target_id, SurveyResult.id)
                                          .where(SurveyResult.target_id.in_(ids)))).all())
    return [TargetOut(id=t.id, plan_id=t.plan_id, customer_id=t.customer_id,
                      customer_number=customers[t.customer_id].number, customer_name=customers[t.customer_id].name,
                      node_id=t.node_id, due_on=t.due_on, status=t.status,
                      overdue=t.status is TargetStatus.pending and t.due_on < today, attempts=t.attempts, note=t.note,
                      result_id=results.get(t.id), completed_at=t.completed_at, version=t.version) for t in targets]


async def target_out(session: AsyncSession, target: ReturnVisitTarget) -> TargetOut:
    return (await _targets_out(session, [target], await bound.today(session)))[0]


async def list_targets(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                       plan_id: uuid.UUID | None, status: TargetStatus | None, overdue: bool | None,
                       customer_id: uuid.UUID | None, node_id: uuid.UUID | None) -> Page[TargetOut]:
    today = await bound.today(session)
    stmt: Select[Any] = (select(ReturnVisitTarget).join(Customer, Customer.id == ReturnVisitTarget.customer_id)
                         .where(authz.visible(READ, ReturnVisitTarget.node_id)))
    if plan_id is not None:
        stmt = stmt.where(ReturnVisitTarget.plan_id == plan_id)
    if status is not None:
        stmt = stmt.where(ReturnVisitTarget.status == status)
    if overdue is not None:
        stmt = stmt.where(_overdue(today) if overdue else ~_overdue(today))
    if customer_id is not None:
        stmt = stmt.where(ReturnVisitTarget.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, ReturnVisitTarget.node_id, node_id))
    page = await paginate(session, stmt, params, sortable=TARGET_SORT, default_sort=["dueOn", "customerNumber"],
                          tiebreak=ReturnVisitTarget.id, to_schema=lambda t: t)
    return Page(items=await _targets_out(session, page.items, today), total=page.total, limit=page.limit,
                offset=page.offset)


_WORKABLE = (TargetStatus.pending, TargetStatus.unreachable, TargetStatus.declined)


async def _open_plan_of(session: AsyncSession, target: ReturnVisitTarget) -> ReturnVisitPlan:
    plan = await session.get(ReturnVisitPlan, target.plan_id)
    assert plan is not None  # a foreign key holds it
    _require_open(plan)
    return plan


async def update_target(session: AsyncSession, authz: Authorizer, target: ReturnVisitTarget, path: str,
                        data: TargetUpdate) -> ReturnVisitTarget:
    authz.require(WRITE, path)
    await _open_plan_of(session, target)
    if target.status not in _WORKABLE:
        raise ProblemError("conflict", f"The target is {target.status.value}.")
    changes = provided(data)
    before = audit.snapshot(target)
    if changes.get("status") == "unreachable":
        target.attempts += 1
    if "status" in changes:
        changes["status"] = TargetStatus(changes["status"])
    for name, value in changes.items():
        setattr(target, name, value)
    await session.flush()
    await session.refresh(target)
    await audit.record(session, action="surveys.target.update", entity_type=TARGET, entity_id=target.id,
                       before=before, after=audit.snapshot(target))
    return target


# ------------------------------------------------------------------------------ results

RESULT_SORT = {"respondedAt": SurveyResult.responded_at, "createdAt": SurveyResult.created_at}
_MEAN = {d: func.round(func.avg(SurveyAnswer.score).filter(SurveyAnswer.dimension == d), 2) for d in Dimension}


async def get_result(session: AsyncSession, authz: Authorizer, result_id: uuid.UUID) -> tuple[SurveyResult, str]:
    return await get_at_node(session, authz, SurveyResult, result_id, READ, "survey result")


def _scores(values: dict[Dimension, Any]) -> DimensionScores:
    return DimensionScores(**{d.value: None if values.get(d) is None else Decimal(values[d]).quantize(TWO)
                              for d in Dimension})


async def result_out(session: AsyncSession, r: SurveyResult) -> ResultOut:
    answers = (await session.scalars(
        select(SurveyAnswer).join(Question, Question.id == SurveyAnswer.question_id)
        .where(SurveyAnswer.result_id == r.id).order_by(Question.position))).all()
    means = (await session.execute(select(*_MEAN.values()).where(SurveyAnswer.result_id == r.id))).one()
    return ResultOut(
        id=r.id, customer_id=r.customer_id, node_id=r.node_id, questionnaire_id=r.questionnaire_id,
        plan_id=r.plan_id, target_id=r.target_id, method=r.method, responded_at=r.responded_at,
        recorded_by=r.recorded_by, comment=r.comment,
        answers=[AnswerOut(question_id=a.question_id, dimension=a.dimension, score=a.score, text=a.text)
                 for a in answers],
        scores=_scores(dict(zip(_MEAN, means, strict=True))), created_at=r.created_at, version=r.version)


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
    plan = await _open_plan_of(session, target)
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
    _usable(questionnaire, "questionnaireId")
    target = None
    if data.target_id is not None:
        target = await _target_for(session, authz, data.target_id, customer, questionnaire.id)
    questions = await _questions(session, questionnaire.id)
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
    await session.flush()
    await session.refresh(result)
    await audit.record(session, action="surveys.result.record", entity_type=RESULT, entity_id=result.id,
                       after={**audit.snapshot(result),
                              "scores": {str(a.question_id): a.score for a in data.answers if a.score}})
    return result


# --------------------------------------------------------------------------- statistics

_TRUNC = {"month": "month", "quarter": "quarter", "year": "year"}


def _label(start: date, period: Period) -> str:
    if period == "year":
        return f"{start.year}"
    if period == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


async def statistics(session: AsyncSession, authz: Authorizer, *, group_by: GroupBy, period: Period,
                     since: date | None, until: date | None, questionnaire_id: uuid.UUID | None,
                     node_id: uuid.UUID | None) -> Statistics:
    """Responses, mean scores per dimension and the satisfied share, per node and period,
    over the results the caller may read. ``since`` inclusive, ``until`` exclusive (local days)."""
    authz.require_anywhere(READ)
    zone = await time_zone(session)
    if group_by == "project":
        key: ColumnLike[Any] = OrgNode.id
        keep: ColumnElement[bool] = OrgNode.kind == NodeKind.project
    elif group_by == "branch":
        key = cast(func.split_part(OrgNode.path, "/", 2), UUID(as_uuid=True))
        keep = OrgNode.depth >= 1
    else:
        key = cast(func.split_part(OrgNode.path, "/", 1), UUID(as_uuid=True))
        keep = OrgNode.depth >= 0
    local = func.timezone(zone, SurveyResult.responded_at)  # the wall-clock time in the group's zone
    bucket = func.date_trunc(_TRUNC[period], local).label("bucket")
    overall = SurveyAnswer.dimension == Dimension.overall
    satisfied = case((func.count(SurveyAnswer.id).filter(overall) == 0, None), else_=func.round(
        cast(func.count(SurveyAnswer.id).filter(and_(overall, SurveyAnswer.score >= 4)), Numeric) * 100
        / func.count(SurveyAnswer.id).filter(overall), 1))
    stmt = (select(key.label("key"), bucket, func.count(func.distinct(SurveyResult.id)), *_MEAN.values(), satisfied)
            .select_from(SurveyResult).join(OrgNode, OrgNode.id == SurveyResult.node_id)
            .outerjoin(SurveyAnswer, SurveyAnswer.result_id == SurveyResult.id)
            .where(authz.visible(READ, SurveyResult.node_id), keep)
            .group_by(key, bucket).order_by(bucket, key))
    if since is not None:
        stmt = stmt.where(local >= datetime.combine(since, datetime.min.time()))
    if until is not None:
        stmt = stmt.where(local < datetime.combine(until, datetime.min.time()))
    if questionnaire_id is not None:
        stmt = stmt.where(SurveyResult.questionnaire_id == questionnaire_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, SurveyResult.node_id, node_id))
    rows = (await session.execute(stmt)).all()
    nodes = {n.id: n for n in (await session.scalars(select(OrgNode).where(
        OrgNode.id.in_({r[0] for r in rows})))).all()} if rows else {}
    out = []
    for row in rows:
        node = nodes[row[0]]
        means = dict(zip(_MEAN, row[3:3 + len(_MEAN)], strict=True))
        share = row[3 + len(_MEAN)]
        out.append(StatisticsRow(node_id=node.id, node_code=node.code, node_name=node.name,
                                 period=_label(row[1].date(), period), responses=row[2], scores=_scores(means),
                                 satisfied_percent=None if share is None else Decimal(share).quantize(Decimal("0.1"))))
    return Statistics(group_by=group_by, period=period, rows=out)


# ---------------------------------------------------------------------------- org hooks


@org.live_records("surveys")
async def _surveys_at(session: AsyncSession, holder: org.Holder) -> str | None:
    return await records_at(session, holder, [(ReturnVisitPlan, "return-visit plans"),
                                              (ReturnVisitTarget, "return-visit targets"),
                                              (SurveyResult, "survey results")])
