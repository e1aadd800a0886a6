"""Retention: how long each kind of record keeps a person's data, and the scan that
anonymises in place what has aged out (ids and statistics survive; who it was does not).

Each kind is declared by the domain that owns it (``Retention`` in its ``PersonalData``),
with a default period; a tenant sets its own per kind (``retention_rules``). The scan
(``run_retention``, daily through the fan-out) takes each enabled kind, anonymises the
records last touched before ``now - days`` in batches, and records a ``retention_runs`` row
and an audit record per kind with what it did.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.etag import check_if_match
from app.core.pagination import PageParams, paginate
from app.core.personal import Retention
from app.core.problems import ProblemError
from app.core.schemas import Page
from app.domains.access.authz import Authorizer
from app.domains.org.services import get_root
from app.domains.privacy import registry
from app.domains.privacy.models import RetentionRule, RetentionRun
from app.domains.privacy.schemas import RuleIn, RuleOut, RunOut
from app.domains.privacy.services import CONFIGURE, READ

ENTITY = "retention_rule"
BATCH = 500
MAX_BATCHES = 200  # per kind and run: the next run carries on


def _kind(kind: str) -> Retention:
    kinds = registry.retention_kinds()
    if kind not in kinds:
        raise ProblemError("not-found", f"No kind of record {kind!r} has a retention rule; the kinds are "
                                        f"{sorted(kinds)}.")
    return kinds[kind]


def _out(kind: Retention, rule: RetentionRule | None) -> RuleOut:
    return RuleOut(kind=kind.kind, description=kind.description, default_days=kind.default_days,
                   days=rule.days if rule else kind.default_days, enabled=rule.enabled if rule else True,
                   customised=rule is not None, version=rule.version if rule else 0)


async def _rules(session: AsyncSession) -> dict[str, RetentionRule]:
    return {r.kind: r for r in (await session.scalars(select(RetentionRule))).all()}


async def list_rules(session: AsyncSession, authz: Authorizer) -> list[RuleOut]:
    authz.require_anywhere(READ)
    rules = await _rules(session)
    return [_out(kind, rules.get(name)) for name, kind in sorted(registry.retention_kinds().items())]


async def get_rule(session: AsyncSession, authz: Authorizer, kind: str) -> RuleOut:
    authz.require_anywhere(READ)
    declared = _kind(kind)
    return _out(declared, (await _rules(session)).get(kind))


async def put_rule(request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer, kind: str,
                   data: RuleIn) -> RuleOut:
    """The tenant's period for ``kind``, under If-Match (``"0"`` while the default applies)."""
    declared = _kind(kind)
    authz.require(CONFIGURE, (await get_root(session)).path)
    rule = await session.scalar(select(RetentionRule).where(RetentionRule.kind == kind).with_for_update())
    check_if_match(request, rule.version if rule else 0)
    before = None if rule is None else audit.snapshot(rule)
    if rule is None:
        rule = RetentionRule(kind=kind, days=data.days, enabled=data.enabled)
        session.add(rule)
    else:
        rule.days, rule.enabled = data.days, data.enabled
    await session.flush()
    await session.refresh(rule)
    await audit.record(session, action="privacy.retention.set", entity_type=ENTITY, entity_id=rule.id,
                       before=before, after=audit.snapshot(rule))
    return _out(declared, rule)


async def list_runs(session: AsyncSession, authz: Authorizer, params: PageParams,
                    kind: str | None) -> Page[RunOut]:
    authz.require_anywhere(READ)
    stmt = select(RetentionRun)
    if kind is not None:
        stmt = stmt.where(RetentionRun.kind == kind)
    return await paginate(session, stmt, params, sortable=RUN_SORT, default_sort=["-ranAt"], tiebreak=RetentionRun.id,
                          to_schema=RunOut.of)


RUN_SORT = {"ranAt": RetentionRun.ran_at, "kind": RetentionRun.kind}


async def run_kind(session: AsyncSession, kind: Retention, days: int) -> int:
    """Anonymise one kind's records older than ``days``; recorded and audited."""
    cutoff = clock.utcnow() - timedelta(days=days)
    total = 0
    for _ in range(MAX_BATCHES):
        done = await kind.anonymise(session, cutoff, BATCH)
        total += done
        if done < BATCH:
            break
    run = RetentionRun(kind=kind.kind, days=days, cutoff=cutoff, anonymised=total)
    session.add(run)
    await session.flush()
    await audit.record(session, action="privacy.retention.run", entity_type="retention_run", entity_id=run.id,
                       after={"kind": kind.kind, "days": days, "cutoff": cutoff.isoformat(), "anonymised": total})
    return total


async def enabled_rules(session: AsyncSession) -> list[tuple[Retention, int]]:
    rules = await _rules(session)
    out = []
    for name, kind in sorted(registry.retention_kinds().items()):
        rule = rules.get(name)
        if rule is None or rule.enabled:
            out.append((kind, rule.days if rule else kind.default_days))
    return out
