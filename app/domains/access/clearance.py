"""The group's one scale of classification levels (密级), shared by archive volumes and
customer records (seed 000 §17 ① 划分密级).

The levels are the archive policy's (``archives.policy``: ``classificationLevels``, lowest
first); the permission ``archives.clearance.N`` clears its holder for the first N of them at
the nodes it is granted. A record with no level (customers before classification) is read
as before; one of a level the group no longer has clears nobody."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import tenant_settings
from app.domains.access.authz import Authorizer

MAX_LEVELS = 6
POLICY_KEY = "archives.policy"  # declared by the archives domain, which edits it


def clearance(rank: int) -> str:
    """The permission that clears its holder for the tenant's first ``rank`` levels."""
    return f"archives.clearance.{rank}"


async def level_codes(session: AsyncSession) -> list[str]:
    """The group's level codes, lowest first."""
    value, _ = await tenant_settings.get(session, POLICY_KEY)
    return [level["code"] for level in value["classificationLevels"]]


def rank(codes: list[str], code: str) -> int:
    return codes.index(code) + 1 if code in codes else MAX_LEVELS + 1  # an unknown level: nobody is cleared


def is_cleared(authz: Authorizer, codes: list[str], code: str, path: str) -> bool:
    return any(authz.can(clearance(n), path) for n in range(rank(codes, code), MAX_LEVELS + 1))


def covering(codes: list[str], code: str) -> str:
    """The permissions that clear for ``code``, for a 403's text."""
    return ", ".join(clearance(n) for n in range(rank(codes, code), MAX_LEVELS + 1))


def cleared_clause(authz: Authorizer, codes: list[str], level: Any, node_id: Any) -> ColumnElement[bool]:
    """Rows whose ``level`` the caller is cleared for at their ``node_id``, as one WHERE clause.
    As :func:`is_cleared`: clearance N clears the first N levels, also when N is more than the
    group has (a role kept from a policy with more levels)."""
    return or_(false(), *[and_(level.in_(codes[:n]), authz.visible(clearance(n), node_id))
                          for n in range(1, MAX_LEVELS + 1)])
