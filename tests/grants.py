"""Role grants for tests: what a group administrator sets up through the access API."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from app.domains.access.models import Role, RoleAssignment
from app.domains.org.models import NodeKind, OrgNode


async def grant(db: Any, slug: str, account_id: str | uuid.UUID, permissions: Iterable[str],
                node_id: uuid.UUID | None = None) -> None:
    """Give the account a new role holding ``permissions`` at ``node_id`` (the group node
    when None), in tenant ``slug``."""
    async with db.tenant_transaction(f"t_{slug}") as session:
        if node_id is None:
            node_id = await session.scalar(select(OrgNode.id).where(OrgNode.kind == NodeKind.group))
        role = Role(code=f"TEST_{uuid.uuid4().hex[:12]}", name="Test role", permissions=sorted(permissions))
        session.add(role)
        await session.flush()
        session.add(RoleAssignment(account_id=uuid.UUID(str(account_id)), role_id=role.id, node_id=node_id))
