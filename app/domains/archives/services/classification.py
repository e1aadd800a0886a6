"""Changes of a volume's classification level, decided through the approval engine."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import ProblemError, field_error
from app.domains.access.authz import Authorizer
from app.domains.approvals import services as approvals
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.registry import request_type
from app.domains.archives.models import (
    ArchiveVolume,
)
from app.domains.archives.schemas import (
    ArchivePolicy,
    ClassificationChangeIn,
)
from app.domains.archives.services.access import is_cleared
from app.domains.archives.services.common import CLASSIFY, ENTITY, saved_volume, volume_snapshot
from app.domains.archives.services.policy import get_policy, require_level

CLASSIFICATION_TYPE = "archive_classification"


async def refuse_open_classification_request(session: AsyncSession, volume_id: uuid.UUID) -> None:
    """409 while a request about the volume's classification may still be decided (a rejected
    one may be resubmitted): a second one would race it, a deleted volume would strand it."""
    open_request = await session.scalar(select(ApprovalRequest.id).where(
        ApprovalRequest.request_type == CLASSIFICATION_TYPE, ApprovalRequest.subject_id == str(volume_id),
        ApprovalRequest.status.in_([RequestStatus.draft, RequestStatus.pending, RequestStatus.rejected])))
    if open_request is not None:
        raise ProblemError("conflict", f"Approval request {open_request} about this volume's classification is "
                                       "still open: decide or withdraw it first.")


async def request_classification(session: AsyncSession, authz: Authorizer, volume: ArchiveVolume, path: str,
                                 policy: ArchivePolicy, data: ClassificationChangeIn) -> ApprovalRequest:
    """Ask for another classification level; applied when the archive_classification chain approves."""
    authz.require(CLASSIFY, path)
    require_level(policy, data.classification, "classification")
    if data.classification == volume.classification:
        raise ProblemError("conflict", f"The volume is already classified {data.classification!r}.",
                           errors=[field_error("classification", "the current level")])
    if not is_cleared(authz, policy, data.classification, path):
        raise ProblemError("forbidden", f"You are not cleared for the level {data.classification!r}.")
    await refuse_open_classification_request(session, volume.id)
    names = {level.code: level.name for level in policy.classification_levels}
    return await approvals.create_request(
        session, request_type=CLASSIFICATION_TYPE, reason=data.reason,
        # Named by number (or id), not title: approvers see the request, not the volume.
        title=f"Classify archive volume {volume.archive_number or volume.id} as {names[data.classification]} "
              f"({data.classification})",
        payload={"volumeId": str(volume.id), "classification": data.classification,
                 "from": volume.classification})


def _classification_payload(payload: dict[str, Any]) -> tuple[uuid.UUID, str, str]:
    try:
        return uuid.UUID(str(payload["volumeId"])), str(payload["classification"]), str(payload["from"])
    except (KeyError, ValueError):
        raise ProblemError("validation", "A classification request names the volume, its level and the new one.",
                           errors=[field_error("payload", "volumeId, from and classification")]) from None


async def _classification_volume(session: AsyncSession, payload: dict[str, Any], *, lock: bool = False
                                 ) -> ArchiveVolume:
    volume_id, _, _ = _classification_payload(payload)
    stmt = select(ArchiveVolume).where(ArchiveVolume.id == volume_id)
    volume = await session.scalar(stmt.with_for_update() if lock else stmt)
    if volume is None:
        raise ProblemError("conflict", f"Archive volume {volume_id} no longer exists.")
    return volume


async def _validate_classification(session: AsyncSession, payload: dict[str, Any]) -> dict[str, Any]:
    volume_id, classification, current = _classification_payload(payload)
    await _classification_volume(session, payload)
    return {"volumeId": str(volume_id), "classification": classification, "from": current}


async def _classification_node(session: AsyncSession, payload: dict[str, Any]) -> uuid.UUID:
    return (await _classification_volume(session, payload)).node_id


async def _apply_classification(session: AsyncSession, request: ApprovalRequest) -> None:
    """On final approval, as the approver: refuse a stale request (the level changed since)."""
    volume = await _classification_volume(session, request.payload, lock=True)
    _, classification, current = _classification_payload(request.payload)
    if volume.classification != current:
        raise ProblemError("conflict", f"The volume's classification changed to {volume.classification!r} since "
                                       "this request was submitted: reject it and ask again.")
    policy, _ = await get_policy(session)
    require_level(policy, classification, "payload.classification")
    before = volume_snapshot(volume)
    volume.classification = classification
    await saved_volume(session, volume, "classify", before,
                       reason=f"{request.reason or ''} (approval request {request.id}, requested by "
                                 f"{request.submitted_by})".strip())


CLASSIFICATION_REQUEST = request_type(
    CLASSIFICATION_TYPE, "Change of an archive volume's classification",
    on_approved=_apply_classification,
    node_of=_classification_node,
    validate=_validate_classification,
    subject_of=lambda payload: (ENTITY, payload["volumeId"]),
    # The confidentiality rules (DOMAIN.md, 密级): a level is changed by the group's confidentiality officer.
    default_chain=[{"name": "Confidentiality officer", "role": "confidentiality_officer", "at": "group"}],
    default_roles={"confidentiality_officer": "保密员 Confidentiality officer"},
)


REQUEST_TYPES = [CLASSIFICATION_REQUEST]  # the domain's declaration names this list
