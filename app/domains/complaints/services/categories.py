"""Complaint categories and the SLA policy: the targets a record's clocks run against, and
open records retargeted when either changes."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, tenant_settings
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.complaints import sla
from app.domains.complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintCategory,
)
from app.domains.complaints.schemas import (
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    EscalationOut,
    SlaSettings,
    SlaSettingsIn,
)
from app.domains.complaints.services.common import CATEGORY, CONFIGURE, ENTITY, SLA_SETTING, sla_terms
from app.domains.org import services as org

CATEGORY_SORT = {"code": ComplaintCategory.code, "name": ComplaintCategory.name}


async def _category_rows(session: AsyncSession) -> dict[uuid.UUID, ComplaintCategory]:
    rows = (await session.scalars(select(ComplaintCategory))).all()
    return {r.id: r for r in rows}


def _effective(rows: dict[uuid.UUID, ComplaintCategory], category: ComplaintCategory,
               defaults: dict[str, Any]) -> tuple[int, int]:
    """The targets that apply to ``category``: its own, else its nearest ancestor's, else the tenant's."""
    response = resolution = None
    node: ComplaintCategory | None = category
    while node is not None and (response is None or resolution is None):
        response = response if response is not None else node.response_minutes
        resolution = resolution if resolution is not None else node.resolution_minutes
        node = rows.get(node.parent_id) if node.parent_id else None
    return (response if response is not None else int(defaults["responseMinutes"]),
            resolution if resolution is not None else int(defaults["resolutionMinutes"]))


async def targets_of(session: AsyncSession, category_id: uuid.UUID, defaults: dict[str, Any]) -> tuple[int, int]:
    rows = await _category_rows(session)
    return _effective(rows, rows[category_id], defaults)


def _category_out(rows: dict[uuid.UUID, ComplaintCategory], c: ComplaintCategory,
                  defaults: dict[str, Any]) -> CategoryOut:
    response, resolution = _effective(rows, c, defaults)
    return CategoryOut(id=c.id, parent_id=c.parent_id, code=c.code, name=c.name, quality=c.quality,
                       response_minutes=c.response_minutes, resolution_minutes=c.resolution_minutes,
                       effective_response_minutes=response, effective_resolution_minutes=resolution,
                       active=c.active, version=c.version)


async def category_out(session: AsyncSession, c: ComplaintCategory) -> CategoryOut:
    _, _, defaults = await sla_terms(session)
    return _category_out(await _category_rows(session), c, defaults)


async def list_categories(session: AsyncSession, params: PageParams, active: bool | None) -> Page[CategoryOut]:
    _, _, defaults = await sla_terms(session)
    rows = await _category_rows(session)
    stmt = select(ComplaintCategory)
    if active is not None:
        stmt = stmt.where(ComplaintCategory.active.is_(active))
    return await paginate(session, stmt, params, sortable=CATEGORY_SORT, default_sort=["code"],
                          tiebreak=ComplaintCategory.id, to_schema=lambda c: _category_out(rows, c, defaults))


async def get_category(session: AsyncSession, category_id: uuid.UUID, *, lock: bool = False) -> ComplaintCategory:
    stmt = select(ComplaintCategory).where(ComplaintCategory.id == category_id)
    if lock:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise ProblemError("not-found", f"No complaint category with id {category_id}.")
    return row


async def require_configurer(session: AsyncSession, authz: Authorizer) -> None:
    authz.require(CONFIGURE, (await org.get_root(session)).path)


async def create_category(session: AsyncSession, data: CategoryCreate) -> ComplaintCategory:
    if data.parent_id is not None and await session.get(ComplaintCategory, data.parent_id) is None:
        raise ProblemError("not-found", f"No complaint category with id {data.parent_id}.",
                           errors=[field_error("parentId", "no such category")])
    if await session.scalar(select(ComplaintCategory.id).where(ComplaintCategory.code == data.code)) is not None:
        raise ProblemError("duplicate", f"A complaint category with code {data.code} exists.",
                           errors=[field_error("code", "already used")])
    row = ComplaintCategory(code=data.code, name=data.name, quality=data.quality, parent_id=data.parent_id,
                            response_minutes=data.response_minutes, resolution_minutes=data.resolution_minutes,
                            active=True)
    session.add(row)
    return await saved(session, row, "complaints.category.create", CATEGORY)


def _subtree(rows: dict[uuid.UUID, ComplaintCategory], root: uuid.UUID) -> set[uuid.UUID]:
    found = {root}
    grew = True
    while grew:
        more = {r.id for r in rows.values() if r.parent_id in found} - found
        found |= more
        grew = bool(more)
    return found


async def update_category(session: AsyncSession, row: ComplaintCategory, data: CategoryUpdate) -> ComplaintCategory:
    changes = provided(data)
    before = audit.snapshot(row)
    for name, value in changes.items():
        setattr(row, name, value)
    await saved(session, row, "complaints.category.update", CATEGORY, before=before)
    if {"response_minutes", "resolution_minutes"} & set(changes):
        # A new policy for this category and those inheriting from it: open records take it
        # now, their paused time kept.
        await retarget(session, Complaint.category_id.in_(_subtree(await _category_rows(session), row.id)))
    return row


async def get_sla_settings(session: AsyncSession) -> tuple[SlaSettings, int]:
    value, version = await tenant_settings.get(session, SLA_SETTING)
    return _settings_out(value), version


def _settings_out(value: dict[str, Any]) -> SlaSettings:
    steps = sorted(value.get("escalation", []), key=lambda s: int(s["afterPercent"]))
    return SlaSettings(response_minutes=int(value["responseMinutes"]),
                       resolution_minutes=int(value["resolutionMinutes"]),
                       warn_percent=int(value["warnPercent"]),
                       escalation=[EscalationOut(after_percent=int(s["afterPercent"]), at=s["at"]) for s in steps])


async def put_sla_settings(session: AsyncSession, data: SlaSettingsIn) -> tuple[SlaSettings, int]:
    value = msgspec.to_builtins(data)
    value["escalation"] = sorted(value["escalation"], key=lambda s: s["afterPercent"])
    version = await tenant_settings.put(session, SLA_SETTING, value)
    await retarget(session, None)
    return _settings_out(value), version


# What a policy change may change on a record: the targets, the lines drawn from them, and the
# state of the calendar they were drawn in.
_CLOCK_COLUMNS = ("response_target_minutes", "resolution_target_minutes", "response_warn_at", "response_due_at",
                  "resolution_warn_at", "resolution_due_at", "next_escalation_at", "sla_next_check_at",
                  "sla_calendar_stamp")


def _clocks(c: Complaint) -> dict[str, Any]:
    snap = audit.snapshot(c)
    return {name: snap[name] for name in _CLOCK_COLUMNS}


async def retarget(session: AsyncSession, where: ColumnElement[bool] | None) -> int:
    """Give the records matching ``where`` (all when None) whose resolution clock runs the
    targets their category's policy sets now, and draw their lines again (the near-breach
    share and the escalation rule may have changed too); paused time is kept. A clock that
    stopped keeps the target its verdict was reached against. Each record that changed is
    audited; how many."""
    calendar, policy, defaults = await sla_terms(session)
    rows = await _category_rows(session)
    stmt = select(Complaint).where(Complaint.status.in_(OPEN_STATUSES), Complaint.resolved_at.is_(None))
    if where is not None:
        stmt = stmt.where(where)
    entries = []
    for c in (await session.scalars(stmt.with_for_update())).all():
        response, resolution = _effective(rows, rows[c.category_id], defaults)
        before = _clocks(c)
        if c.first_responded_at is None:
            c.response_target_minutes = response
        c.resolution_target_minutes = resolution
        sla.schedule(c, calendar, policy)
        after = _clocks(c)
        if after != before:
            entries.append({"action": "complaints.sla.retarget", "entity_type": ENTITY, "entity_id": c.id,
                            "before": before, "after": after})
    await session.flush()
    await audit.record_many(session, entries)
    return len(entries)
