"""Who reads a volume: its subtree, a clearance for its level, its circulation scope; the
lookups of a volume and a page for a caller."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import ProblemError
from app.domains.access import clearance as scale
from app.domains.access.authz import Authorizer
from app.domains.access.models import Role, RoleAssignment
from app.domains.access.records import get_at_node
from app.domains.archives.models import (
    ArchivePage,
    ArchiveVolume,
)
from app.domains.archives.schemas import (
    ArchivePolicy,
)
from app.domains.archives.services.common import READ
from app.domains.archives.services.policy import get_policy, level_codes
from app.domains.org.models import OrgNode


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def is_cleared(authz: Authorizer, policy: ArchivePolicy, code: str, path: str) -> bool:
    return scale.is_cleared(authz, level_codes(policy), code, path)


async def _role_grants(session: AsyncSession, authz: Authorizer) -> list[tuple[str, str]]:
    """(role code, node path) of the caller's role assignments."""
    if authz.account_id is None:
        return []
    cached = session.info.get("archives_role_grants")
    if cached is None:
        cached = [(code, path) for code, path in (await session.execute(
            select(Role.code, OrgNode.path).join(RoleAssignment, RoleAssignment.role_id == Role.id)
            .join(OrgNode, OrgNode.id == RoleAssignment.node_id)
            .where(RoleAssignment.account_id == authz.account_id))).all()]
        session.info["archives_role_grants"] = cached
    return cached


async def in_circulation(session: AsyncSession, authz: Authorizer, roles: list[str], accounts: list[str],
                         path: str) -> bool:
    if not roles and not accounts:
        return True
    if authz.principal.kind != "user":
        return False  # a partner back end is neither a role holder nor a named person
    if authz.principal.subject in accounts:
        return True
    return any(code in roles and _under(path, at) for code, at in await _role_grants(session, authz))


async def require_content_access(session: AsyncSession, authz: Authorizer, policy: ArchivePolicy,
                                 volume: ArchiveVolume, path: str) -> None:
    """403 unless the caller is cleared for the volume's level and inside its circulation scope."""
    if not is_cleared(authz, policy, volume.classification, path):
        covering = scale.covering(level_codes(policy), volume.classification)
        raise ProblemError("forbidden", f"Reading this volume needs clearance for the level "
                                        f"{volume.classification!r} (one of {covering}).")
    if not await in_circulation(session, authz, volume.circulation_roles, volume.circulation_accounts, path):
        raise ProblemError("forbidden", "You are outside this volume's circulation scope.")


async def readable_clause(session: AsyncSession, authz: Authorizer, policy: ArchivePolicy) -> ColumnElement[bool]:
    """Volumes the caller may read: subtree, clearance and circulation, as one WHERE clause."""
    cleared = scale.cleared_clause(authz, level_codes(policy), ArchiveVolume.classification, ArchiveVolume.node_id)
    circulating: list[ColumnElement[bool]] = [and_(func.jsonb_array_length(ArchiveVolume.circulation_roles) == 0,
                                                   func.jsonb_array_length(ArchiveVolume.circulation_accounts) == 0)]
    if authz.principal.kind == "user":
        circulating.append(ArchiveVolume.circulation_accounts.contains([authz.principal.subject]))
        for code, at in await _role_grants(session, authz):
            under = select(OrgNode.id).where(or_(OrgNode.path == at, OrgNode.path.like(at + "/%")))
            circulating.append(and_(ArchiveVolume.circulation_roles.contains([code]),
                                    ArchiveVolume.node_id.in_(under)))
    return and_(authz.visible(READ, ArchiveVolume.node_id), cleared, or_(*circulating))


async def get_volume(session: AsyncSession, authz: Authorizer, volume_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[ArchiveVolume, str, ArchivePolicy]:
    """A volume the caller may read (404 outside the subtree, 403 without clearance or
    circulation), its node's path and the policy; ``lock``: for update."""
    volume, path = await get_at_node(session, authz, ArchiveVolume, volume_id, READ, "archive volume", lock=lock)
    policy, _ = await get_policy(session)
    await require_content_access(session, authz, policy, volume, path)
    return volume, path, policy


async def get_page(session: AsyncSession, authz: Authorizer, page_id: uuid.UUID, *, lock: bool = False
                   ) -> tuple[ArchivePage, ArchiveVolume, str, ArchivePolicy]:
    """A page of a volume the caller may read; the same answers as :func:`get_volume`.
    ``lock``: the volume and the page for update (volume first, as every writer locks them)."""
    volume_id = await session.scalar(select(ArchivePage.volume_id).where(ArchivePage.id == page_id))
    try:
        if volume_id is None:
            raise ProblemError("not-found")
        volume, path, policy = await get_volume(session, authz, volume_id, lock=lock)
    except ProblemError as exc:
        if exc.slug != "not-found":
            raise
        raise ProblemError("not-found", f"No archive page with id {page_id}.") from None
    stmt = select(ArchivePage).where(ArchivePage.id == page_id)
    if lock:
        stmt = stmt.with_for_update()
    page = await session.scalar(stmt)
    if page is None:
        raise ProblemError("not-found", f"No archive page with id {page_id}.")
    return page, volume, path, policy
