"""Requests that only read (GET, HEAD) get a read-only tenant session: autocommit, one round
trip per statement, and no way to write through it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from app.core import audit
from app.core.audit import SYSTEM
from app.domains.org.models import NodeKind, OrgNode


async def test_a_read_only_session_reads_without_a_transaction_and_refuses_writes(db: Any, new_tenant: Any) -> None:
    schema = "t_" + await new_tenant("readonly")
    async with db.tenant_session(schema, read_only=True) as session, session.begin():
        session.info["actor"] = SYSTEM
        root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
        assert root is not None
        # Autocommit: each statement is a transaction of its own (within one, now() stands still).
        first = await session.scalar(text("SELECT now()"))
        await session.execute(text("SELECT pg_sleep(0.01)"))
        assert await session.scalar(text("SELECT now()")) > first
        with pytest.raises(RuntimeError, match="read-only session"):
            await audit.record(session, action="test.read", entity_type="org_node", entity_id=root.id)
        root.description = "changed in a read"
        with pytest.raises(RuntimeError, match="read-only session"):
            await session.flush()
        session.expire(root)  # drop the change, or the commit on the way out would try it again

    async with db.tenant_transaction(schema) as session:
        stored = await session.scalar(select(OrgNode.description).where(OrgNode.kind == NodeKind.group))
    assert stored != "changed in a read"

