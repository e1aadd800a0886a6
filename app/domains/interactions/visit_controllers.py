"""HTTP for a visit's application to approval and finance's reimbursement of its expenses
(seed 000 §22 ② and ⑩)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.writes import updated
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.interactions import services
from app.domains.interactions.schemas import Reimbursement, Submission, VisitOut

BASE = "/api/v1/interactions"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}


class VisitApplicationController(Controller):
    path = f"{BASE}/visits"
    tags = ["Interactions"]
    dependencies = DEPENDENCIES

    @post("/{visit_id:uuid}/apply", operation_id="applyForVisit", status_code=200,
          summary="Send the visit application to approval (again)",
          description="Seed 000 §22 ②: a planned visit, or one whose application was withdrawn, becomes a new "
                      "`visit_application` request; a rejected one, revised, the next round of its request, which "
                      "only its submitter may start (403 otherwise). 409 naming the status when the application "
                      "is under review or decided, or when no one holds a step's role at the visit's branch.",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def apply(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    visit_id: uuid.UUID, data: Submission) -> Response[VisitOut]:
        return await updated(request, services.get_visit(session, authz, visit_id, lock=True),
                             lambda visit, path: services.apply_for_visit(session, authz, visit, path, data),
                             lambda visit: services.visit_out(session, visit))

    @post("/{visit_id:uuid}/reimburse", operation_id="reimburseVisit", status_code=200,
          summary="Finance reimburses a visit's reported expenses",
          description="Seed 000 §22 ⑩ 费用报销: needs `interactions.reimburse` at the visit (finance). Once, after "
                      "the report: 409 naming the status before it, or when reimbursed already.",
          **requires("interactions:write", errors=[404, 409, 412, 428]))
    async def reimburse(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        visit_id: uuid.UUID, data: Reimbursement) -> Response[VisitOut]:
        return await updated(request, services.get_visit(session, authz, visit_id, lock=True),
                             lambda visit, path: services.reimburse_visit(session, authz, visit, path, data),
                             lambda visit: services.visit_out(session, visit))
