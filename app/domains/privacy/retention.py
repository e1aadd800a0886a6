"""Retention: how long each kind of record keeps a person's data, and the scan that
anonymises in place what has aged out (ids and statistics survive; who it was does not).

Each kind is declared by the domain that owns it (``Retention`` in its ``PersonalData``),
with a default period. A tenant's own periods are one tenant setting
(``privacy.retention_rules``: kind -> days and whether the rule applies), read and replaced
as one resource under If-Match. The scan (``run_kind``, daily through the fan-out) takes each
enabled kind, anonymises the records older than ``now - days`` in batches, and records a
``retention_runs`` row and an audit record per kind with what it did.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock, tenant_settings
from app.core.etag import check_if_match
from app.core.pagination import PageParams, paginate
from app.core.personal import Retention
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.domains.access.authz import Authorizer
from app.domains.org.services import get_root
from app.domains.privacy import registry
from app.domains.privacy.models import RetentionRun
from app.domains.privacy.schemas import RuleOut, RulesIn, RulesOut, RunOut
from app.domains.privacy.services import CONFIGURE, READ

RULES = tenant_settings.declare(
    "privacy.retention_rules", {},
    "The group's own retention period per kind of record: {kind: {days, enabled}}; other kinds keep their default.")
BATCH = 500
MAX_BATCHES = 200  # per kind and run: the next run carries on
RUN_SORT = {"ranAt": RetentionRun.ran_at, "kind": RetentionRun.kind}


def _rules_out(own: dict[str, Any], version: int) -> RulesOut:
    out = []
    for name, kind in sorted(registry.retention_kinds().items()):
        rule = own.get(name)
        out.append(RuleOut(kind=name, description=kind.description, default_days=kind.default_days,
                           days=int(rule["days"]) if rule else kind.default_days,
                           enabled=bool(rule["enabled"]) if rule else True, customised=rule is not None))
    return RulesOut(rules=out, version=version)


async def get_rules(session: AsyncSession, authz: Authorizer) -> RulesOut:
    authz.require_anywhere(READ)
    own, version = await tenant_settings.get(session, RULES)
    return _rules_out(own, version)


async def put_rules(request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    data: RulesIn) -> RulesOut:
    """Replace the tenant's own periods, under If-Match (``"0"`` while every default applies)."""
    authz.require(CONFIGURE, (await get_root(session)).path)
    _, version = await tenant_settings.get(session, RULES, lock=True)
    check_if_match(request, version)
    kinds = registry.retention_kinds()
    # A kind no domain declares is named like any reference to nothing (404); one listed twice
    # contradicts itself (409).
    unknown = [field_error(f"rules.{i}.kind", f"no such kind of record; the kinds are {', '.join(sorted(kinds))}")
               for i, rule in enumerate(data.rules) if rule.kind not in kinds]
    if unknown:
        raise ProblemError("not-found", "The retention rules name kinds of record that do not exist.",
                           errors=unknown)
    seen = [r.kind for r in data.rules]
    twice = [field_error(f"rules.{i}.kind", "listed twice") for i, k in enumerate(seen) if k in seen[:i]]
    if twice:
        raise ProblemError("conflict", "The retention rules list a kind twice.", errors=twice)
    own = {r.kind: {"days": r.days, "enabled": r.enabled} for r in data.rules}
    version = await tenant_settings.put(session, RULES, own)
    return _rules_out(own, version)


async def list_runs(session: AsyncSession, authz: Authorizer, params: PageParams,
                    kind: str | None) -> Page[RunOut]:
    authz.require_anywhere(READ)
    stmt = select(RetentionRun)
    if kind is not None:
        stmt = stmt.where(RetentionRun.kind == kind)
    return await paginate(session, stmt, params, sortable=RUN_SORT, default_sort=["-ranAt"], tiebreak=RetentionRun.id,
                          to_schema=RunOut.of)


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
    own, _ = await tenant_settings.get(session, RULES)
    out = []
    for name, kind in sorted(registry.retention_kinds().items()):
        rule = own.get(name)
        if rule is None or rule["enabled"]:
            out.append((kind, int(rule["days"]) if rule else kind.default_days))
    return out
