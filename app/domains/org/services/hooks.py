"""The live-records hook: each domain tells whether an org node or a unit still holds its
records, so that nothing is deleted from under them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import ProblemError

# ------------------------------------------------------------------ live records hook


@dataclass(frozen=True)
class Holder:
    """What is about to be deleted: an org node (any kind) or a unit."""

    kind: Literal["node", "unit"]
    id: uuid.UUID


# Returns a short description of what still hangs on the holder ("3 open complaints"), or None.
LiveRecordsCheck = Callable[[AsyncSession, Holder], Awaitable[str | None]]
LIVE_RECORD_CHECKS: dict[str, LiveRecordsCheck] = {}


def live_records(name: str) -> Callable[[LiveRecordsCheck], LiveRecordsCheck]:
    """Register a domain's "has live records under this node or unit" check; deleting a
    node or unit is refused (409) while any check reports something."""

    def register(check: LiveRecordsCheck) -> LiveRecordsCheck:
        if name in LIVE_RECORD_CHECKS and LIVE_RECORD_CHECKS[name] is not check:
            raise ValueError(f"live-records check {name!r} registered twice")
        LIVE_RECORD_CHECKS[name] = check
        return check

    return register


async def records_at(session: AsyncSession, holder: Holder, models: Sequence[tuple[Any, str]]) -> str | None:
    """For a domain's live-records check: how many records of each model (with ``node_id``)
    sit at the org node about to be deleted, e.g. "2 visits, 1 calls"; None when none."""
    if holder.kind != "node":
        return None
    found = []
    for model, what in models:
        count = await session.scalar(select(func.count()).where(model.node_id == holder.id))
        if count:
            found.append(f"{count} {what}")
    return ", ".join(found) or None


async def refuse_if_live(session: AsyncSession, holder: Holder, what: str) -> None:
    found = [d for check in LIVE_RECORD_CHECKS.values() if (d := await check(session, holder))]
    if found:
        raise ProblemError("conflict", f"The {what} still has {'; '.join(found)}: close, move or remove them first.")
