"""Privacy requests decided through the approval engine, where the tenant wants it: the tenant
setting ``privacy.approval`` lists the kinds of request (none by default, docs/privacy.md says
why). A request of such a kind, when filed, submits an approval request (``privacy_request``,
its default chain the group's privacy officer, PIPL art. 52); it is carried out (copy,
erasure, withdrawal, correction) only once approved, and may be refused at any time. An access
request filed from the owners' app starts building its copy when approved.

The approvers see what is asked, of which kind, by which channel and by when: never the
person's words (sealed) nor their data.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, tenant_settings
from app.core.etag import check_if_match
from app.domains.access.authz import Authorizer
from app.domains.approvals.approvable import Approvable, approvable_type
from app.domains.approvals.models import ApprovalRequest
from app.domains.org.services import get_root
from app.domains.privacy import services
from app.domains.privacy.models import PrivacyRequest, RequestChannel, RequestKind, RequestStatus
from app.domains.privacy.schemas import PrivacySettings, PrivacySettingsIn

RECORD = Approvable(PrivacyRequest, key="privacyRequestId", entity=services.ENTITY, what="privacy request")


async def _describe(session: AsyncSession, r: PrivacyRequest) -> dict[str, Any]:
    return {"privacyRequestId": str(r.id), "number": r.number, "kind": r.kind.value, "channel": r.channel.value,
            "customerId": str(r.customer_id), "dueOn": r.due_on.isoformat(), "consents": r.consent_kinds}


async def _approved(session: AsyncSession, request: ApprovalRequest) -> None:
    """An owner's access request, approved, starts building its copy (staff start the others')."""
    from app.domains.privacy.tasks import build_package
    from app.worker import enqueue_after_commit

    r = await RECORD.of(session, request.payload, lock=True)
    r.updated_at = clock.utcnow()
    # A request refused meanwhile stays refused: the approval no longer gates anything.
    if r.kind is RequestKind.access and r.channel is RequestChannel.app and r.job_id is None \
            and r.status is RequestStatus.open:
        job = await services.queue_package(session, r)
        enqueue_after_commit(session, build_package, tenant=str(session.info["tenant_schema"]).removeprefix("t_"),
                             job_id=str(job.id))
    await session.flush()


REQUEST_TYPES = [approvable_type(
    services.APPROVAL_TYPE, "A person's privacy request", RECORD, describe=_describe, on_approved=_approved,
    # PIPL art. 52: the person in charge of personal information protection decides.
    default_chain=[{"name": "Privacy officer", "role": "privacy_officer", "at": "group"}],
)]


async def get_settings(session: AsyncSession, authz: Authorizer) -> tuple[PrivacySettings, int]:
    authz.require_anywhere(services.READ)
    value, version = await tenant_settings.get(session, services.APPROVAL)
    return PrivacySettings(approval_kinds=[RequestKind(k) for k in value]), version


async def put_settings(request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       data: PrivacySettingsIn) -> tuple[PrivacySettings, int]:
    authz.require(services.CONFIGURE, (await get_root(session)).path)
    _, version = await tenant_settings.get(session, services.APPROVAL, lock=True)
    check_if_match(request, version)
    kinds = sorted({k.value for k in data.approval_kinds})
    version = await tenant_settings.put(session, services.APPROVAL, kinds)
    return PrivacySettings(approval_kinds=[RequestKind(k) for k in kinds]), version
