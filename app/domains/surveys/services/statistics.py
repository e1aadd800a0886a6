"""Satisfaction statistics, computed in SQL over the results the caller may read."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Numeric, and_, case, cast, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import ColumnLike
from app.domains.access.authz import Authorizer
from app.domains.access.records import subtree_filter
from app.domains.org.models import NodeKind, OrgNode
from app.domains.surveys.models import Dimension, SurveyAnswer, SurveyResult
from app.domains.surveys.schemas import GroupBy, Period, Statistics, StatisticsRow
from app.domains.surveys.services.common import READ
from app.domains.surveys.services.results import MEANS, scores_of
from app.tenants.bound import time_zone

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
    stmt = (select(key.label("key"), bucket, func.count(func.distinct(SurveyResult.id)), *MEANS.values(), satisfied)
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
        means = dict(zip(MEANS, row[3:3 + len(MEANS)], strict=True))
        share = row[3 + len(MEANS)]
        out.append(StatisticsRow(node_id=node.id, node_code=node.code, node_name=node.name,
                                 period=_label(row[1].date(), period), responses=row[2], scores=scores_of(means),
                                 satisfied_percent=None if share is None else Decimal(share).quantize(Decimal("0.1"))))
    return Statistics(group_by=group_by, period=period, rows=out)
