"""Home owners' own copy (``owner:self``, PIPL art. 45): an access request filed from the app
starts building the package at once (the person is who their account says), and the owner
downloads it themselves once built; the download hands the copy over, audited, and completes
the request. Only the caller's own requests are found: any other answers 404."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import Job
from app.domains.access.authz import Authorizer
from app.domains.privacy import services
from app.domains.privacy.models import PrivacyRequest, RequestKind
from app.domains.privacy.schemas import MyRequestCreate, PackageOut

DOWNLOADED = "downloaded by the person in the owners' app"


async def file(session: AsyncSession, authz: Authorizer, data: MyRequestCreate) -> tuple[PrivacyRequest, Job | None]:
    """The request, and the package job an access request starts (the caller enqueues it after commit)."""
    r = await services.file_mine(session, authz, data)
    if r.kind is not RequestKind.access or r.approval_request_id is not None:
        return r, None
    return r, await services.queue_package(session, r)


async def download(session: AsyncSession, authz: Authorizer, request_id: uuid.UUID) -> PackageOut:
    r = await services.get_mine(session, authz, request_id, lock=True)
    return await services.hand_over(session, r, DOWNLOADED)
