"""A read model over the tenant's ``audit_log`` table (declared once in app.core.audit).

Mapping the existing table gives searches and exports ORM rows (and the shared pagination
helper, which selects entities); it creates no table of its own. Writes still go through
``app.core.audit``, and the database refuses anything but INSERT and the retention purge.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped

from app.core.audit import tenant_audit
from app.core.models import TenantBase


class AuditRecord(TenantBase):
    __table__ = tenant_audit

    id: Mapped[uuid.UUID]
    occurred_at: Mapped[datetime]
    actor_kind: Mapped[str]
    actor_id: Mapped[str]
    client_id: Mapped[str | None]
    action: Mapped[str]
    entity_type: Mapped[str]
    entity_id: Mapped[str]
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    reason: Mapped[str | None]
    request_id: Mapped[str | None]
    ip: Mapped[str | None]
