"""What every part of property management shares: its permissions, the project a record names,
the project's property-management state (phase, first move-in, cadence) and the rule that daily
property work ends once the owners' committee's company took over."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, tenant_settings
from app.core.problems import ProblemError, field_error
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.org.models import NodeKind, OrgNode, Unit
from app.domains.property.models import Phase, PropertyProject

READ, WRITE, CONFIGURE = "property.read", "property.write", "property.configure"
PROJECT = "property_project"

register_permissions({
    READ: "See handovers, repair orders, property companies, the coordination log, inspections and the owners' "
          "committee of the projects in the subtree.",
    WRITE: "Hand homes over, work repair orders, keep the coordination log, inspect the property company and "
           "drive the owners' committee in the subtree.",
    CONFIGURE: "Configure checklists, warranty periods and the coordination cadence (checklists and the group's "
               "warranty periods at the group node).",
})

DEFAULT_CADENCE = {"earlyMonths": 3, "earlyDays": 7, "laterDays": 31}
CADENCE_SETTING = tenant_settings.declare(
    "property.cadence", DEFAULT_CADENCE,
    "The coordination cadence a project starts with: at least every earlyDays for earlyMonths after the first "
    "move-in, then at least every laterDays (a project may set its own).")
PAID_REPAIRS_SETTING = tenant_settings.declare(
    "property.paid_repairs", True,
    "Whether a repair out of warranty may be accepted as paid work (the owner pays) instead of being refused.")
COMMITTEE_RULE_SETTING = tenant_settings.declare(
    "property.committee_rule", {"deliveredPercent": 50, "yearsAfterFirstDelivery": 2},
    "When an owners' committee must be formed: once this share of the project's units is delivered, or this many "
    "years after the first delivery, whichever comes first (the common local rule).")


def _sees(authz: Authorizer, path: str, permission: str) -> bool:
    """Whether the caller may know the node exists: in the org tree, or in this domain there."""
    return authz.can("org.read", path) or authz.can(READ, path) or authz.can(permission, path)


async def project_for(session: AsyncSession, authz: Authorizer, project_id: uuid.UUID, permission: str, *,
                      field: str = "projectId") -> OrgNode:
    """The project a body names, for a caller holding ``permission`` there (404 naming the field
    when they cannot see it, 403 when they only see it)."""
    project = await session.scalar(select(OrgNode).where(OrgNode.id == project_id, OrgNode.kind == NodeKind.project))
    if project is None or not _sees(authz, project.path, permission):
        raise ProblemError("not-found", f"No project with id {project_id}.",
                           errors=[field_error(field, "no such project")])
    authz.require(permission, project.path)
    return project


async def unit_for(session: AsyncSession, authz: Authorizer, unit_id: uuid.UUID, permission: str, *,
                   field: str = "unitId") -> tuple[Unit, OrgNode]:
    """A unit a body names and its project, for a caller holding ``permission`` at the project."""
    row = (await session.execute(select(Unit, OrgNode).join(OrgNode, OrgNode.id == Unit.project_id)
                                 .where(Unit.id == unit_id))).first()
    if row is None or not _sees(authz, row[1].path, permission):
        raise ProblemError("not-found", f"No unit with id {unit_id}.", errors=[field_error(field, "no such unit")])
    authz.require(permission, row[1].path)
    return row[0], row[1]


async def state_of(session: AsyncSession, project_id: uuid.UUID, *, lock: bool = False) -> PropertyProject:
    """The project's property-management state, made with the tenant's cadence on first use."""
    stmt = select(PropertyProject).where(PropertyProject.node_id == project_id)
    state = await session.scalar(stmt.with_for_update() if lock else stmt)
    if state is None:
        cadence, _ = await tenant_settings.get(session, CADENCE_SETTING)
        state = PropertyProject(node_id=project_id, phase=Phase.developer, early_months=cadence["earlyMonths"],
                                early_days=cadence["earlyDays"], later_days=cadence["laterDays"])
        session.add(state)
        await session.flush()
        await session.refresh(state)
        await audit.record(session, action="property.project.create", entity_type=PROJECT, entity_id=state.id,
                           after=snapshot(state))
    return state


def snapshot(state: PropertyProject) -> dict[str, Any]:
    return {"nodeId": str(state.node_id), "phase": state.phase.value,
            "firstMoveInOn": state.first_move_in_on.isoformat() if state.first_move_in_on else None,
            "earlyMonths": state.early_months, "earlyDays": state.early_days, "laterDays": state.later_days,
            "responsibleAccountId": str(state.responsible_account_id) if state.responsible_account_id else None,
            "replacedOn": state.replaced_on.isoformat() if state.replaced_on else None}


async def require_daily_work(session: AsyncSession, project: OrgNode) -> PropertyProject:
    """Daily property work (coordination, supervision, contracts) is the developer's only until
    the committee's company took over: after that a new record is refused (409)."""
    state = await state_of(session, project.id)
    if state.phase is Phase.committee:
        raise ProblemError("conflict", f"Project {project.code} passed to the owners' committee's property company on "
                                       f"{state.replaced_on}: daily property management is no longer the developer's "
                                       f"(warranty repairs continue).")
    return state


def plus_months(day: date, months: int) -> date:
    """``day`` moved on by ``months`` (the month's last day when it has no such day)."""
    month = day.month - 1 + months
    year = min(day.year + month // 12, date.max.year)
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def cadence(state: PropertyProject, last: date | None) -> date | None:
    """The day by which the next coordination is due: ``early_days`` after the last one (or the
    first move-in) during the first ``early_months``, ``later_days`` after it since; None before
    the first move-in and after the committee's company took over."""
    if state.first_move_in_on is None or state.phase is Phase.committee:
        return None
    since = max(last, state.first_move_in_on) if last else state.first_move_in_on
    early = since < plus_months(state.first_move_in_on, state.early_months)
    return since + timedelta(days=state.early_days if early else state.later_days)
