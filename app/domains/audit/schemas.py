"""Bodies of the audit API: one record, and the filter shared by search and export."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from app.core.schemas import Input, Instant, Schema, free_object
from app.domains.audit.models import AuditRecord

# Limits are the columns' widths (app.core.audit): a longer value could never match.
ENTITY_TYPE_MAX, ID_MAX, ACTION_MAX = 60, 200, 100
# '*' is a wildcard only as the last character ("job.*"); elsewhere it would be ambiguous.
ACTION_PATTERN = r"^[^*]+\*?$"

EntityType = Annotated[str, msgspec.Meta(min_length=1, max_length=ENTITY_TYPE_MAX,
                                         description="Exact entity type, e.g. `org_node`.")]
EntityId = Annotated[str, msgspec.Meta(min_length=1, max_length=ID_MAX, description="Exact entity id.")]
ActorId = Annotated[str, msgspec.Meta(min_length=1, max_length=ID_MAX,
                                      description="Exact actor id (account id, client id, `system`).")]
Action = Annotated[str, msgspec.Meta(
    min_length=1, max_length=ACTION_MAX, pattern=ACTION_PATTERN,
    description="Exact action, or a prefix ending in `*`: `org.branch.create`, `org.*`.",
)]


class AuditFilter(Input):
    """Which records: every field given must hold. ``from`` is inclusive, ``to`` exclusive."""

    entity_type: EntityType | None = None
    entity_id: EntityId | None = None
    actor_id: ActorId | None = None
    action: Action | None = None
    from_: Instant | None = msgspec.field(default=None, name="from")
    to: Instant | None = None


# The entity's fields as they were: their shape depends on the entity type.
Snapshot = Annotated[dict[str, Any] | None,
                     free_object("The entity's fields before (or after) the change; null when there were none.")]


class AuditRecordOut(Schema):
    id: uuid.UUID
    occurred_at: datetime
    actor_kind: str  # user | client | operator | system
    actor_id: str
    client_id: str | None
    action: str
    entity_type: str
    entity_id: str
    before: Snapshot
    after: Snapshot
    reason: str | None
    request_id: str | None
    ip: str | None

    @classmethod
    def of(cls, r: AuditRecord) -> AuditRecordOut:
        return cls(
            id=r.id, occurred_at=r.occurred_at, actor_kind=r.actor_kind, actor_id=r.actor_id,
            client_id=r.client_id, action=r.action, entity_type=r.entity_type, entity_id=r.entity_id,
            before=r.before, after=r.after, reason=r.reason, request_id=r.request_id, ip=r.ip,
        )
