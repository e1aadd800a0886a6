"""What the aggregates of archives share: permissions, clearances, the policy setting, storage
calls a few at a time, and a volume's audited change."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock, tenant_settings
from app.core.problems import ProblemError
from app.core.writes import saved
from app.domains.access.authz import register_permissions
from app.domains.access.clearance import MAX_LEVELS as MAX_LEVELS  # noqa: PLC0414 (re-exported)
from app.domains.access.clearance import clearance as clearance  # noqa: PLC0414
from app.domains.archives.models import (
    ArchiveVolume,
    VolumeStatus,
)
from app.domains.archives.schemas import (
    DEFAULT_POLICY,
)

T = TypeVar("T")
READ, WRITE = "archives.read", "archives.write"
REVIEW, FILE, CORRECT = "archives.review", "archives.file", "archives.correct"
HOLD, CLASSIFY, VERIFY = "archives.hold", "archives.classify", "archives.verify"
DISPOSE, CONFIGURE = "archives.dispose", "archives.configure"
ENTITY, PAGE_ENTITY, OBJECT_ENTITY = "archive_volume", "archive_page", "archive_object"


register_permissions({
    READ: "See the archive volumes of the subtree; reading one also needs clearance for its level and "
          "being inside its circulation scope.",
    WRITE: "Build archive volumes in the subtree: cover, pages, contents list, remarks sheet; reopen before "
           "filing; delete unfiled volumes.",
    REVIEW: "Review assembled archive volumes (not those one assembled oneself).",
    FILE: "File reviewed archive volumes under object-lock retention.",
    CORRECT: "Add a corrected revision of a page of a filed archive volume, with a reason.",
    HOLD: "Set and clear legal holds on filed archive volumes.",
    CLASSIFY: "Ask for a change of an archive volume's classification (decided through approval).",
    VERIFY: "Start integrity verifications of archive volumes.",
    DISPOSE: "Delete filed archive volumes whose retention has ended.",
    CONFIGURE: "Change the group's archive policy (numbering, classification levels, retention mode); at the "
               "group node.",
    **{clearance(n): f"Read archive volumes classified at the group's level {n} or below (levels are listed "
                     f"lowest first in the archive settings)." for n in range(1, MAX_LEVELS + 1)},
})


POLICY = tenant_settings.declare(
    "archives.policy", msgspec.to_builtins(DEFAULT_POLICY),
    "The group's archive policy: archive numbering, classification levels, retention mode, URL lifetimes and "
    "the largest page accepted.")


STORAGE_CONCURRENCY = 8


def tenant_of(session: AsyncSession) -> str:
    return str(session.info["tenant_schema"]).removeprefix("t_")


async def concurrently(calls: Iterable[Callable[[], Awaitable[T]]], limit: int = STORAGE_CONCURRENCY) -> list[T]:
    """Run storage calls a few at a time (never the session: it is not for concurrent use);
    the first failure cancels the rest and is raised."""
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await call()

    tasks = [asyncio.ensure_future(one(call)) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def volume_snapshot(volume: ArchiveVolume) -> dict[str, Any]:
    return audit.snapshot(volume, exclude=frozenset({"created_at", "updated_at"}))


async def saved_volume(session: AsyncSession, volume: ArchiveVolume, action: str, before: dict[str, Any], *,
                       reason: str | None = None, **extra: Any) -> ArchiveVolume:
    """Write the volume's change and its audit record (its state before and after, and
    ``extra`` facts about the change), in the request's transaction."""
    return await saved(session, volume, f"archives.volume.{action}", ENTITY, before=before, reason=reason,
                       snapshot=lambda v: {**volume_snapshot(v), **extra})


def label(volume: ArchiveVolume) -> str:
    return f"Volume {volume.archive_number or volume.id}"


# What to do instead, when a volume is past the state a change needs.
HINTS = {VolumeStatus.filed: "it is filed: correct a page with a new revision instead",
         VolumeStatus.assembled: "reopen it first", VolumeStatus.reviewed: "reopen it first"}


def require_status(volume: ArchiveVolume, *allowed: VolumeStatus, doing: str) -> None:
    """A change of a volume's contents that its state must allow (its moves: ``lifecycle.VOLUME``)."""
    if volume.status not in allowed:
        hint = HINTS.get(volume.status)
        raise ProblemError("conflict", f"{label(volume)} is {volume.status.value}: cannot {doing}."
                                       + (f" {hint[0].upper()}{hint[1:]}." if hint else ""))


def touch(volume: ArchiveVolume) -> None:
    # Its contents list, units or page numbers changed: a new version (and ETag) of the volume.
    volume.updated_at = clock.utcnow()
