"""After a reception: its report reviewed by the reception_report approval chain (seed 000
§18: the customer service manager, the general manager, finance), then finance's
reimbursement of the actual costs (§23 ⑨, §24 ⑥: 费用报销) — a finance action, not an approval.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.approvals.approvable import Approvable, approvable_type, request_status
from app.domains.approvals.models import RequestStatus
from app.domains.interactions.models import Reception, ReceptionStage
from app.domains.interactions.schemas import Reimbursement
from app.domains.interactions.services.common import RECEPTION, REIMBURSE, REPORT_TYPE, conflict, trail_snapshot
from app.domains.interactions.services.receptions import MANAGER_GM_FINANCE, MANAGER_GM_FINANCE_ROLES, actual_costs


def _report_state(r: Reception, status: RequestStatus | None) -> str:
    if r.reimbursed_at is not None:
        return "reimbursed"
    return f"report {status.value}" if status is not None else r.stage.value


async def reimburse(session: AsyncSession, authz: Authorizer, reception: Reception, path: str,
                    data: Reimbursement) -> Reception:
    """Finance pays back the actual costs, once, after the report's review approved them."""
    authz.require(REIMBURSE, path)
    status = await request_status(session, reception.report_request_id)
    if reception.reimbursed_at is not None or not (reception.stage is ReceptionStage.reported
                                                   and status is RequestStatus.approved):
        raise conflict(f"reception {reception.number}", _report_state(reception, status),
                       "finance reimburses once, after the report's review approved it")
    before = trail_snapshot(reception)
    reception.reimbursed_at, reception.reimbursed_by = clock.utcnow(), authz.principal.subject
    reception.reimbursed_amount = actual_costs(reception).total
    return await saved(session, reception, "interactions.reception.reimburse", RECEPTION, before=before,
                       snapshot=trail_snapshot, reason=data.note)


REPORT_RECORD = Approvable(Reception, key="receptionId", entity=RECEPTION, what="reception")


async def _report_payload(session: AsyncSession, r: Reception) -> dict[str, Any]:
    """What the reviewers decide on: the report as it is."""
    actual = actual_costs(r)
    return {"receptionId": str(r.id), "number": r.number, "title": r.title,
            "heldAt": r.held_at.isoformat() if r.held_at else None, "attendeeCount": r.attendee_count,
            "actual": {k: str(getattr(actual, k)) for k in ("meeting", "meals", "lodging", "transport", "gifts",
                                                              "other", "total")},
            "staffAttendees": list(r.staff_attendees), "summary": r.summary}


REPORT_REQUEST = approvable_type(
    REPORT_TYPE, "Reception or hospitality report", REPORT_RECORD, describe=_report_payload,
    # Seed 000 §18 客户招待报告表: 客户服务部经理审核, 总经理审核, 财务部审核.
    default_chain=MANAGER_GM_FINANCE, default_roles=MANAGER_GM_FINANCE_ROLES,
)
