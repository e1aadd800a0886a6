"""Certificate statistics (seed 004 §4.5.4) and agency performance: cases by stage, late ones,
the on-time rate and the average days from submission to issue, per agency, project or
branch, over the cases the caller may read. One grouped query whatever the number of cases.

- ``onTimeRate``: of the cases issued, the share issued by the date their agreement promised
  (submission + ``daysToIssue``); null while none is issued.
- ``late``: open cases past the deadline of their stage today.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.authz import Authorizer
from app.domains.access.records import subtree_filter
from app.domains.certificates.models import Agency, CaseStage, CertificateCase
from app.domains.certificates.permissions import CERT_READ
from app.domains.certificates.schemas import Statistics, StatisticsRow
from app.domains.org.models import OrgNode
from app.tenants.bound import today

By = Literal["agency", "project", "branch"]
TWO = Decimal("0.01")


def _count(condition: Any) -> Any:
    return func.count().filter(condition)


async def statistics(session: AsyncSession, authz: Authorizer, by: By, *, node_id: uuid.UUID | None,
                     agency_id: uuid.UUID | None = None) -> Statistics:
    on = await today(session)
    c = CertificateCase
    if by == "agency":
        key: Any = c.agency_id
    elif by == "project":
        key = c.node_id
    else:  # the project's parent: the second id of its path
        key = func.cast(func.split_part(OrgNode.path, "/", 2), OrgNode.id.type)
    issued = c.stage.in_([CaseStage.issued, CaseStage.delivered])
    days = func.avg(case((issued, c.issued_on - c.submitted_on), else_=None))
    stmt = (select(key.label("key"), func.count().label("total"),
                   _count(c.stage == CaseStage.collecting).label("collecting"),
                   _count(c.stage.in_([CaseStage.submitted, CaseStage.accepted])).label("in_progress"),
                   _count(issued).label("issued"),
                   _count(c.stage.in_([CaseStage.submitted, CaseStage.accepted, CaseStage.issued])
                          & (c.due_on < on)).label("late"),
                   _count(issued & (c.issued_on <= c.issue_due_on)).label("on_time"),
                   _count(issued & (c.issued_on > c.issue_due_on)).label("finished_late"),
                   days.label("days"))
            .join(OrgNode, OrgNode.id == c.node_id)
            .where(authz.visible(CERT_READ, c.node_id), c.stage != CaseStage.cancelled)
            .group_by(key))
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, c.node_id, node_id))
    if agency_id is not None:
        stmt = stmt.where(c.agency_id == agency_id)
    rows = (await session.execute(stmt)).mappings().all()
    keys = [r["key"] for r in rows]
    named: Any = Agency if by == "agency" else OrgNode
    found = await session.execute(select(named.id, named.name).where(named.id.in_(keys)))
    names: dict[uuid.UUID, str] = dict(found.tuples().all())
    out = []
    for r in rows:
        done = r["on_time"] + r["finished_late"]
        out.append(StatisticsRow(
            key=r["key"], name=names.get(r["key"], ""), total=r["total"], collecting=r["collecting"],
            in_progress=r["in_progress"], issued=r["issued"], late=r["late"], finished_on_time=r["on_time"],
            finished_late=r["finished_late"],
            on_time_rate=(Decimal(r["on_time"]) / done).quantize(TWO) if done else None,
            average_days_to_issue=Decimal(r["days"]).quantize(TWO) if r["days"] is not None else None))
    out.sort(key=lambda row: (row.name, str(row.key)))
    return Statistics(by=by, as_of=on, rows=out)
