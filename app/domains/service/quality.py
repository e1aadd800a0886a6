"""Call-centre quality to the letter of seed 000 §12 (呼叫中心运行流程): ⑥ 服务质量评估 — logged
calls evaluated by the call-centre supervisor against the group's scorecard; ⑦ 呼叫中心专员绩效
管理 — each agent's performance over a period (calls handled, evaluated, average score).

The default scorecard's criteria are the steps the seed's call flows ask of the agent, each
naming its clause (§9 呼入业务管理流程 ④-⑦, §11 呼叫中心服务流程 ④-⑥); the weights are the
group's to set (the seed gives none). An evaluation copies the criteria as they stood, so a
later change of the scorecard leaves past scores as they were. Agents read their own
evaluations without any permission over others'.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, tenant_settings
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.records import subtree_filter
from app.domains.interactions.models import Call
from app.domains.org import services as org
from app.domains.org.models import OrgNode
from app.domains.service.models import CallEvaluation
from app.domains.service.schemas import (
    AgentPerformance,
    CriterionOut,
    EvaluationCreate,
    EvaluationOut,
    PerformanceOut,
    Scorecard,
    ScorecardOut,
    ScoreOut,
)
from app.tenants.bound import time_zone

READ, EVALUATE, CONFIGURE = "callqa.read", "callqa.evaluate", "callqa.configure"
CALLS_READ = "interactions.read"
EVALUATION = "call_evaluation"

register_permissions({
    READ: "See the evaluations of the calls in the subtree and the agents' performance there (000 §12 ⑦).",
    EVALUATE: "Evaluate logged calls in the subtree against the scorecard (000 §12 ⑥; not one's own calls).",
    CONFIGURE: "Set the call-centre scorecard: its criteria and their weights (at the group node).",
})

DEFAULT_SCORECARD: dict[str, Any] = {"criteria": [
    {"code": "greeting", "name": "问候客户 Greets the customer", "weight": 10,
     "source": "000 §9 呼入业务管理流程 ④ 问候客户"},
    {"code": "needs", "name": "询问服务内容 Asks what the customer needs", "weight": 15,
     "source": "000 §9 ⑤ 询问服务内容; §11 ② 询问客户需求"},
    {"code": "resolution", "name": "问题解决 Solves the problem or proposes a solution", "weight": 30,
     "source": "000 §9 ⑥ 问题解决; §11 ④ 提出处理方案"},
    {"code": "transfer", "name": "转入相关部门 Hands over what it cannot solve to the department", "weight": 10,
     "source": "000 §11 ⑤ 转入相关部门"},
    {"code": "feedback", "name": "及时反馈给客户 Tells the customer the outcome in time", "weight": 15,
     "source": "000 §11 及时反馈给客户; ⑥ 跟踪处理结果"},
    {"code": "logging", "name": "登记呼叫内容 Logs the call", "weight": 20,
     "source": "000 §9 ⑦ 登记呼叫内容; §11 ① 录入关键信息"},
]}
SCORECARD = tenant_settings.declare(
    "callqa.scorecard", DEFAULT_SCORECARD,
    "The criteria calls are evaluated on and their weights (000 §12 ⑥ 服务质量评估).")

SORT = {"createdAt": CallEvaluation.created_at, "callStartedAt": CallEvaluation.call_started_at,
        "total": CallEvaluation.total}
HUNDRED = Decimal("100")


# --------------------------------------------------------------------------- scorecard


def scorecard_out(card: Scorecard) -> ScorecardOut:
    return ScorecardOut(criteria=[CriterionOut(code=c.code, name=c.name, weight=c.weight, source=c.source)
                                  for c in card.criteria])


async def read_scorecard(session: AsyncSession, authz: Authorizer, *, lock: bool = False) -> tuple[Scorecard, int]:
    if lock:
        authz.require(CONFIGURE, (await org.get_root(session)).path)
    elif not (authz.paths(READ) or authz.paths(EVALUATE)):
        authz.require_anywhere(READ)
    value, version = await tenant_settings.get(session, SCORECARD, lock=lock)
    return msgspec.convert(value, Scorecard), version


async def put_scorecard(session: AsyncSession, data: Scorecard) -> int:
    codes = [c.code for c in data.criteria]
    if len(set(codes)) != len(codes):
        raise ProblemError("validation", "Each criterion is named once.",
                           errors=[field_error("criteria", "a code named twice")])
    return await tenant_settings.put(session, SCORECARD, msgspec.to_builtins(data))


# ------------------------------------------------------------------------- evaluations


def evaluation_out(e: CallEvaluation) -> EvaluationOut:
    return EvaluationOut(id=e.id, call_id=e.call_id, node_id=e.node_id, agent_id=e.agent_id,
                         call_started_at=e.call_started_at, evaluator_id=e.evaluator_id,
                         scores=[msgspec.convert(s, ScoreOut) for s in e.scores], total=e.total, comment=e.comment,
                         created_at=e.created_at, version=e.version)


def _seen(authz: Authorizer) -> Any:
    """Evaluations the caller reads: those in the subtrees where they hold callqa.read, and
    their own as an agent."""
    mine = CallEvaluation.agent_id == authz.principal.subject
    return or_(authz.visible(READ, CallEvaluation.node_id), mine)


async def get_evaluation(session: AsyncSession, authz: Authorizer, evaluation_id: uuid.UUID) -> CallEvaluation:
    stmt = (select(CallEvaluation, OrgNode.path).join(OrgNode, OrgNode.id == CallEvaluation.node_id)
            .where(CallEvaluation.id == evaluation_id))
    row = (await session.execute(stmt)).first()
    if row is None or not (authz.can(READ, row[1]) or row[0].agent_id == authz.principal.subject):
        raise ProblemError("not-found", f"No call evaluation with id {evaluation_id}.")
    return row[0]


async def list_evaluations(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                           agent_id: str | None, call_id: uuid.UUID | None, node_id: uuid.UUID | None,
                           mine: bool | None) -> Page[EvaluationOut]:
    stmt: Select[Any] = select(CallEvaluation).where(_seen(authz))
    if mine is not None:
        me = CallEvaluation.agent_id == authz.principal.subject
        stmt = stmt.where(me if mine else ~me)
    if agent_id is not None:
        stmt = stmt.where(CallEvaluation.agent_id == agent_id)
    if call_id is not None:
        stmt = stmt.where(CallEvaluation.call_id == call_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, CallEvaluation.node_id, node_id))
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["-createdAt"],
                          tiebreak=CallEvaluation.id, to_schema=evaluation_out)


def score(card: Scorecard, data: EvaluationCreate) -> tuple[list[dict[str, Any]], Decimal]:
    """Each criterion's rating (0-5) and the total: the weighted share of full marks, 0-100."""
    given = {m.code: m.rating for m in data.marks}
    codes = [c.code for c in card.criteria]
    unknown = [i for i, m in enumerate(data.marks) if m.code not in codes]
    twice = len(given) != len(data.marks)
    missing = [c for c in codes if c not in given]
    if unknown or twice or missing:
        errors = [field_error(f"marks[{i}].code", "not a criterion of the scorecard") for i in unknown]
        if twice:
            errors.append(field_error("marks", "a criterion marked twice"))
        if missing:
            errors.append(field_error("marks", f"every criterion is marked; missing: {', '.join(missing)}"))
        raise ProblemError("validation", "Mark each criterion of the scorecard once, 0 to 5.", errors=errors)
    scores = [{"code": c.code, "name": c.name, "weight": c.weight, "rating": given[c.code], "source": c.source}
              for c in card.criteria]
    weights = sum(c.weight for c in card.criteria)
    earned = sum(Decimal(c.weight * given[c.code]) for c in card.criteria)
    total = (earned * HUNDRED / (weights * 5)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return scores, total


async def evaluate(session: AsyncSession, authz: Authorizer, data: EvaluationCreate) -> CallEvaluation:
    row = (await session.execute(select(Call, OrgNode.path).join(OrgNode, OrgNode.id == Call.node_id)
                                 .where(Call.id == data.call_id))).first()
    if row is None or not any(authz.can(p, row[1]) for p in (EVALUATE, READ, CALLS_READ)):
        raise ProblemError("not-found", f"No call with id {data.call_id}.",
                           errors=[field_error("callId", "no such call")])
    call, path = row[0], row[1]
    authz.require(EVALUATE, path)
    if call.agent_id == authz.principal.subject:
        raise ProblemError("forbidden", "Nobody evaluates their own call.")
    if await session.scalar(select(CallEvaluation.id).where(CallEvaluation.call_id == call.id)) is not None:
        raise ProblemError("conflict", "The call is evaluated already.",
                           errors=[field_error("callId", "evaluated already")])
    card, _ = await read_scorecard(session, authz)
    scores, total = score(card, data)
    e = CallEvaluation(call_id=call.id, node_id=call.node_id, agent_id=call.agent_id,
                       call_started_at=call.started_at, evaluator_id=authz.principal.subject, scores=scores,
                       total=total, comment=data.comment)
    session.add(e)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # evaluated meanwhile by another supervisor
        raise ProblemError("conflict", "The call is evaluated already.",
                           errors=[field_error("callId", "evaluated already")]) from None
    return await saved(session, e, "callqa.evaluate", EVALUATION)


# ------------------------------------------------------------------------- performance


async def _month(session: AsyncSession) -> tuple[datetime, datetime]:
    """This month in the group's time zone."""
    zone = ZoneInfo(await time_zone(session))
    local = clock.utcnow().astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


async def performance(session: AsyncSession, authz: Authorizer, *, period_from: datetime | None,
                      period_to: datetime | None, node_id: uuid.UUID | None) -> PerformanceOut:
    """Per agent over ``[from, to)`` (this month by default), of the calls in the caller's
    subtrees: calls handled, calls evaluated, and the average, lowest and highest score."""
    authz.require_anywhere(READ)
    start, end = await _month(session)
    start, end = period_from or start, period_to or end
    if end <= start:
        raise ProblemError("validation", "The period ends after it starts.",
                           errors=[field_error("to", "not after from", "query")])
    calls: Select[Any] = (select(Call.agent_id, func.count(Call.id))  # type: ignore[assignment]
                          .where(authz.visible(READ, Call.node_id), Call.started_at >= start, Call.started_at < end)
                          .group_by(Call.agent_id))
    total = CallEvaluation.total
    scored: Select[Any] = (select(CallEvaluation.agent_id, func.count(CallEvaluation.id), func.avg(total),
                                  func.min(total), func.max(total))
                           .where(authz.visible(READ, CallEvaluation.node_id),
                                  CallEvaluation.call_started_at >= start, CallEvaluation.call_started_at < end)
                           .group_by(CallEvaluation.agent_id))
    if node_id is not None:
        calls = calls.where(await subtree_filter(session, Call.node_id, node_id))
        scored = scored.where(await subtree_filter(session, CallEvaluation.node_id, node_id))
    handled = {a: int(n) for a, n in (await session.execute(calls)).all()}
    marks = {a: (int(n), avg, lo, hi) for a, n, avg, lo, hi in (await session.execute(scored)).all()}
    agents = []
    for agent in sorted(handled.keys() | marks.keys()):
        n, avg, lo, hi = marks.get(agent, (0, None, None, None))
        agents.append(AgentPerformance(
            agent_id=agent, calls_handled=handled.get(agent, 0), calls_evaluated=n,
            average_score=None if avg is None else Decimal(avg).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            lowest_score=lo, highest_score=hi))
    return PerformanceOut(period_from=start, period_to=end, agents=agents)


