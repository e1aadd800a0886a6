"""The coordination log with the property company (定期协调): meetings and other forms, who
attended on both sides, topics, decisions and action items with an owner and a due date, and
their follow-up. Either side records: customer affairs here, the company through its client.

The cadence rule (per project, seeded from the tenant's setting: weekly for the first three
months after the first move-in, at least monthly afterwards) is watched by a daily scan over
every tenant: a project that missed its cadence, and action items past their due date, are
flagged once and told to the project's responsible staff."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.notify import INBOX, queue_messages
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node
from app.domains.org.models import OrgNode
from app.domains.property.common import READ, WRITE, cadence, project_for, require_daily_work
from app.domains.property.companies import active_contract, partner_projects
from app.domains.property.models import (
    ActionStatus,
    CoordinationAction,
    CoordinationEntry,
    Party,
    Phase,
    PropertyCompany,
    PropertyProject,
)
from app.domains.property.schemas import ActionUpdate, EntryCreate, LogActionOut, LogEntryOut
from app.tenants.bound import tenant_id, today

ENTRY, ACTION = "coordination_entry", "coordination_action"
SORT = {"heldOn": CoordinationEntry.held_on, "createdAt": CoordinationEntry.created_at}
ACTION_SORT = {"dueOn": CoordinationAction.due_on, "createdAt": CoordinationAction.created_at}


def _entry(e: CoordinationEntry) -> dict[str, Any]:
    return {"projectId": str(e.node_id), "companyId": str(e.company_id), "heldOn": e.held_on.isoformat(),
            "form": e.form.value, "recordedBy": e.recorded_by.value, "ourAttendees": e.our_attendees,
            "theirAttendees": e.their_attendees, "topics": e.topics, "decisions": e.decisions}


def _action(a: CoordinationAction) -> dict[str, Any]:
    return {"entryId": str(a.entry_id), "description": a.description, "owner": a.owner.value,
            "ownerName": a.owner_name, "dueOn": a.due_on.isoformat(), "status": a.status.value,
            "followUp": a.follow_up, "doneOn": a.done_on.isoformat() if a.done_on else None}


async def entry_out(session: AsyncSession, e: CoordinationEntry) -> LogEntryOut:
    actions = (await session.scalars(select(CoordinationAction).where(CoordinationAction.entry_id == e.id)
                                     .order_by(CoordinationAction.due_on, CoordinationAction.id))).all()
    return LogEntryOut.of(e, list(actions), await today(session))


async def _record(session: AsyncSession, project: OrgNode, company_id: uuid.UUID, party: Party,
                  data: EntryCreate) -> CoordinationEntry:
    day = await today(session)
    if data.held_on > day:
        raise ProblemError("validation", "Coordination is recorded once it took place.",
                           errors=[field_error("heldOn", f"on or before {day.isoformat()}")])
    entry = CoordinationEntry(node_id=project.id, company_id=company_id, held_on=data.held_on, form=data.form,
                              recorded_by=party,
                              our_attendees=[n.strip() for n in data.our_attendees if n.strip()],
                              their_attendees=[n.strip() for n in data.their_attendees if n.strip()],
                              topics=data.topics, decisions=data.decisions)
    session.add(entry)
    entry = await saved(session, entry, "property.coordination.create", ENTRY, snapshot=_entry)
    for a in data.actions:
        action = CoordinationAction(entry_id=entry.id, node_id=project.id, description=a.description, owner=a.owner,
                                    owner_name=a.owner_name, due_on=a.due_on, status=ActionStatus.open)
        session.add(action)
        await saved(session, action, "property.coordination.action.create", ACTION, snapshot=_action)
    return entry


async def create_entry(session: AsyncSession, authz: Authorizer, data: EntryCreate) -> CoordinationEntry:
    """Customer affairs records a coordination with the project's commissioned company; refused
    (409) once the committee's company took over, or while no company is commissioned."""
    project = await project_for(session, authz, data.project_id, WRITE)
    await require_daily_work(session, project)
    contract = await active_contract(session, project.id)
    if contract is None:
        raise ProblemError("conflict", f"Project {project.code} has no commissioned property company to coordinate "
                                       f"with: record its contract first.")
    return await _record(session, project, contract.company_id, Party.developer, data)


async def create_partner_entry(session: AsyncSession, company: PropertyCompany, project: OrgNode,
                               data: EntryCreate) -> CoordinationEntry:
    """The property company records its side (its client reaches only its projects)."""
    await require_daily_work(session, project)
    return await _record(session, project, company.id, Party.property_company, data)


async def get_entry(session: AsyncSession, authz: Authorizer, entry_id: uuid.UUID) -> tuple[CoordinationEntry, str]:
    return await get_at_node(session, authz, CoordinationEntry, entry_id, READ, "coordination record")


async def list_entries(session: AsyncSession, authz: Authorizer | None, params: PageParams, *,
                       project_id: uuid.UUID | None, company: PropertyCompany | None = None) -> Page[LogEntryOut]:
    """The entries the caller may read (``authz``), or those of the company's projects (no ``authz``)."""
    stmt: Select[Any] = select(CoordinationEntry)
    if authz is None:
        stmt = stmt.where(CoordinationEntry.node_id.in_(partner_projects(company)))
    else:
        assert authz is not None
        stmt = stmt.where(authz.visible(READ, CoordinationEntry.node_id))
    if project_id is not None:
        stmt = stmt.where(CoordinationEntry.node_id == project_id)
    page = await paginate(session, stmt, params, sortable=SORT, default_sort=["-heldOn"],
                          tiebreak=CoordinationEntry.id, to_schema=lambda e: e)
    return Page(items=[await entry_out(session, e) for e in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def get_action(session: AsyncSession, authz: Authorizer, action_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[CoordinationAction, str]:
    return await get_at_node(session, authz, CoordinationAction, action_id, READ, "action item", lock=lock)


async def partner_action(session: AsyncSession, company: PropertyCompany | None,
                         action_id: uuid.UUID) -> CoordinationAction:
    action = await session.scalar(select(CoordinationAction).where(
        CoordinationAction.id == action_id, CoordinationAction.node_id.in_(partner_projects(company)))
        .with_for_update())
    if action is None:
        raise ProblemError("not-found", f"No action item with id {action_id}.")
    return action


async def partner_entry(session: AsyncSession, company: PropertyCompany | None,
                        entry_id: uuid.UUID) -> CoordinationEntry:
    entry = await session.scalar(select(CoordinationEntry).where(
        CoordinationEntry.id == entry_id, CoordinationEntry.node_id.in_(partner_projects(company))))
    if entry is None:
        raise ProblemError("not-found", f"No coordination record with id {entry_id}.")
    return entry


async def list_actions(session: AsyncSession, authz: Authorizer, params: PageParams, *, project_id: uuid.UUID | None,
                       status: ActionStatus | None, overdue: bool | None) -> Page[LogActionOut]:
    day = await today(session)
    stmt: Select[Any] = select(CoordinationAction).where(authz.visible(READ, CoordinationAction.node_id))
    if project_id is not None:
        stmt = stmt.where(CoordinationAction.node_id == project_id)
    if status is not None:
        stmt = stmt.where(CoordinationAction.status == status)
    if overdue is not None:
        late = (CoordinationAction.status == ActionStatus.open) & (CoordinationAction.due_on < day)
        stmt = stmt.where(late if overdue else ~late)
    return await paginate(session, stmt, params, sortable=ACTION_SORT, default_sort=["dueOn"],
                          tiebreak=CoordinationAction.id, to_schema=lambda a: LogActionOut.of(a, day))


async def follow_up(session: AsyncSession, action: CoordinationAction, data: ActionUpdate) -> CoordinationAction:
    before = _action(action)
    action.status = data.status
    if data.follow_up is not None:
        action.follow_up = data.follow_up
    action.done_on = await today(session) if data.status is ActionStatus.done else None
    return await saved(session, action, "property.coordination.action.update", ACTION, before=before,
                       snapshot=_action)


async def update_action(session: AsyncSession, authz: Authorizer, action: CoordinationAction, path: str,
                        data: ActionUpdate) -> CoordinationAction:
    authz.require(WRITE, path)
    return await follow_up(session, action, data)


# ------------------------------------------------------------------ the daily scan


async def _tell(session: AsyncSession, state: PropertyProject, subject: str, body: str,
                data: dict[str, Any]) -> int:
    if state.responsible_account_id is None:
        return 0
    sent = await queue_messages(session, [str(state.responsible_account_id)], tenant_id=await tenant_id(session),
                                channel=INBOX, subject=subject, body=body, data=data)
    return len(sent)


async def scan(session: AsyncSession) -> dict[str, int]:
    """Flag projects past their cadence and action items past their due date (each once), and
    tell the responsible staff. Idempotent: a second run on the same day flags nothing new."""
    day = await today(session)
    counts = {"missed": 0, "overdue": 0, "notified": 0}
    states = (await session.scalars(select(PropertyProject).where(PropertyProject.phase == Phase.developer,
                                                                  PropertyProject.first_move_in_on.is_not(None))
                                    .with_for_update())).all()
    for state in states:
        last = await session.scalar(select(func.max(CoordinationEntry.held_on))
                                    .where(CoordinationEntry.node_id == state.node_id))
        due = cadence(state, last)
        if due is None or due >= day or (state.cadence_missed_on is not None and state.cadence_missed_on >= due):
            continue
        state.cadence_missed_on = day
        await session.flush()
        code = await session.scalar(select(OrgNode.code).where(OrgNode.id == state.node_id))
        await audit.record(session, action="property.coordination.missed", entity_type="property_project",
                           entity_id=state.id, after={"projectId": str(state.node_id), "dueOn": due.isoformat(),
                                                      "lastOn": last.isoformat() if last else None})
        counts["missed"] += 1
        counts["notified"] += await _tell(
            session, state, f"Coordination missed: {code}",
            f"Project {code} was due a coordination with its property company by {due.isoformat()} "
            f"(last: {last.isoformat() if last else 'none'}).",
            {"event": "property.coordination.missed", "projectId": str(state.node_id), "dueOn": due.isoformat()})
    actions = (await session.scalars(select(CoordinationAction).where(
        CoordinationAction.status == ActionStatus.open, CoordinationAction.due_on < day,
        CoordinationAction.overdue_flagged_on.is_(None)).with_for_update())).all()
    for action in actions:
        action.overdue_flagged_on = day
        await session.flush()
        await audit.record(session, action="property.coordination.action.overdue", entity_type=ACTION,
                           entity_id=action.id, after={"dueOn": action.due_on.isoformat(), "owner": action.owner_name})
        counts["overdue"] += 1
        owner = await session.scalar(select(PropertyProject).where(PropertyProject.node_id == action.node_id))
        if owner is not None:
            counts["notified"] += await _tell(
                session, owner, "Coordination action overdue",
                f"{action.description} ({action.owner_name}) was due on {action.due_on.isoformat()}.",
                {"event": "property.coordination.action_overdue", "actionId": str(action.id),
                 "dueOn": action.due_on.isoformat()})
    return counts

