"""Change control of protected customer information: a change (or deletion) applied only
once the change_control chain approves it."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.problems import ProblemError, field_error
from app.domains.access.authz import Authorizer
from app.domains.approvals import registry
from app.domains.approvals.models import (
    ApprovalRequest,
)
from app.domains.approvals.registry import CHANGE_APPLIERS
from app.domains.approvals.services.requests import create_request


class ChangePayload(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    entity_type: str
    entity_id: str
    changes: dict[str, Any] = msgspec.field(default_factory=dict)
    deletion: bool = False
    before: dict[str, Any] | None = None  # filled in by the engine: the values being replaced


CHANGE_CONTROL = "change_control"


def _applier(entity_type: str) -> registry.ChangeApplier:
    applier = CHANGE_APPLIERS.get(entity_type)
    if applier is None:
        raise ProblemError("validation", f"Changes to {entity_type!r} records are not under change control.",
                           errors=[field_error("payload.entityType", "no change control for this entity type")])
    return applier


def _change(payload: dict[str, Any]) -> ChangePayload:
    try:
        return msgspec.convert(payload, ChangePayload)
    except msgspec.ValidationError as exc:
        # msgspec says "… - at `$.path`", or names the field itself for a missing or unknown one.
        message, _, path = str(exc).partition(" - at `$")
        path = path.rstrip("`").lstrip(".")
        if not path and "field `" in message:
            path = message.split("field `", 1)[1].split("`", 1)[0]
        field = "payload" + (f".{path}" if path else "")
        raise ProblemError("validation", f"The change is not valid: {message}.",
                           errors=[field_error(field, message)]) from None


async def _validate_change(session: AsyncSession, payload: dict[str, Any]) -> dict[str, Any]:
    change = _change(payload)
    applier = _applier(change.entity_type)
    if change.deletion == bool(change.changes):
        raise ProblemError("validation", "A change request either changes fields or deletes the record.",
                           errors=[field_error("payload.changes", "give changes, or deletion: true, not both")])
    unknown = sorted(set(change.changes) - applier.fields)
    if unknown:
        raise ProblemError("validation", f"Not protected fields of {change.entity_type}: {', '.join(unknown)}.",
                           errors=[field_error(f"payload.changes.{f}", "not a protected field") for f in unknown])
    fields = frozenset(change.changes) or applier.fields
    try:
        before = await applier.read(session, change.entity_id, fields)
    except ProblemError as exc:
        if exc.slug != "not-found":
            raise
        raise ProblemError("validation", f"No {change.entity_type} with id {change.entity_id}.",
                           errors=[field_error("payload.entityId", "unknown")]) from None
    return {"entityType": change.entity_type, "entityId": change.entity_id, "changes": change.changes,
            "deletion": change.deletion, "before": before}


async def _change_node(session: AsyncSession, payload: dict[str, Any]) -> uuid.UUID:
    change = _change(payload)
    return await _applier(change.entity_type).node_of(session, change.entity_id)


async def _apply_change(session: AsyncSession, request: ApprovalRequest) -> None:
    """On final approval: apply the change as the approver, refusing a stale one."""
    change = _change(request.payload)
    applier = _applier(change.entity_type)
    before = change.before or {}
    current = await applier.read(session, change.entity_id, frozenset(before))
    if current != before:
        moved = sorted(k for k in before if current.get(k) != before.get(k))
        raise ProblemError("conflict", f"The {change.entity_type} {change.entity_id} changed since this request was "
                                       f"submitted ({', '.join(moved)}): reject it, so that it can be resubmitted "
                                       "against the current values.")
    await applier.apply(session, change.entity_id, change.changes, change.deletion)
    after = None if change.deletion else await applier.read(session, change.entity_id, frozenset(change.changes))
    verb = "delete" if change.deletion else "update"
    # The actor of this record is the approver; the reason tells who asked and why.
    await audit.record(session, action=f"change_control.{verb}", entity_type=change.entity_type,
                       entity_id=change.entity_id, before=current, after=after,
                       reason=f"{request.reason or ''} (approval request {request.id}, requested by "
                              f"{request.submitted_by})".strip())


async def request_change(session: AsyncSession, *, entity_type: str, entity_id: str, reason: str,
                         changes: dict[str, Any] | None = None, deletion: bool = False, title: str | None = None,
                         authz: Authorizer | None = None) -> ApprovalRequest:
    """The hook for domains: ask for a change (or the deletion) of protected fields; it is
    applied only when the change_control chain approves it."""
    return await create_request(
        session, request_type=CHANGE_CONTROL, reason=reason, authz=authz,
        title=title or f"{'Delete' if deletion else 'Change'} {entity_type} {entity_id}",
        payload={"entityType": entity_type, "entityId": entity_id, "changes": changes or {}, "deletion": deletion},
    )


CHANGE_CONTROL_TYPE = registry.request_type(
    CHANGE_CONTROL, "Change or deletion of protected information",
    on_approved=_apply_change,
    permission=lambda payload: _applier(_change(payload).entity_type).permission,
    node_of=_change_node,
    validate=_validate_change,
    subject_of=lambda payload: (payload["entityType"], payload["entityId"]),
    # Seed 001 §2.2.3: the department supervisor reviews; "when necessary" the head of customer
    # relations approves too: the supervisor refers the request on, or it is approved.
    default_chain=[
        {"name": "Department supervisor", "role": "department_supervisor", "at": "branch"},
        {"name": "CRM head", "role": "crm_head", "at": "group", "when": "referred"},
    ],
    default_roles={"department_supervisor": "Department supervisor", "crm_head": "CRM head"},
    replaces=[[
        {"name": "Department supervisor", "role": "department_supervisor", "at": "branch"},
        {"name": "CRM head", "role": "crm_head", "at": "group"},
    ]],
)


REQUEST_TYPES = [CHANGE_CONTROL_TYPE]  # the domain's declaration names this list
