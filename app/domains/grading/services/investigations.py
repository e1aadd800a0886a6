"""Credit investigations by an agency (seed 000 §16, 信用调查): the method and content asked
for, then the agency's report and the countermeasures decided on it. At the customer's node."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node
from app.domains.customers.lookups import customer_for
from app.domains.grading.models import CreditInvestigation
from app.domains.grading.schemas import InvestigationIn, InvestigationOut, InvestigationReport
from app.domains.grading.services.common import READ, REVIEW
from app.tenants.bound import local_year

INVESTIGATION = "credit_investigation"
INVESTIGATION_SORT = {"createdAt": CreditInvestigation.created_at, "number": CreditInvestigation.number}


def investigation_out(i: CreditInvestigation) -> InvestigationOut:
    return InvestigationOut(id=i.id, number=i.number, customer_id=i.customer_id, node_id=i.node_id, agency=i.agency,
                            method=i.method, content=i.content, requested_by=i.requested_by,
                            status="reported" if i.reported_at else "requested", report=i.report,
                            countermeasures=i.countermeasures, reported_at=i.reported_at, created_at=i.created_at,
                            version=i.version)


async def get_investigation(session: AsyncSession, authz: Authorizer, investigation_id: uuid.UUID, *,
                            lock: bool = False) -> tuple[CreditInvestigation, str]:
    return await get_at_node(session, authz, CreditInvestigation, investigation_id, READ, "credit investigation",
                             lock=lock)


async def list_investigations(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                              customer_id: uuid.UUID | None) -> Page[InvestigationOut]:
    stmt: Select[Any] = select(CreditInvestigation).where(authz.visible(READ, CreditInvestigation.node_id))
    if customer_id is not None:
        stmt = stmt.where(CreditInvestigation.customer_id == customer_id)
    return await paginate(session, stmt, params, sortable=INVESTIGATION_SORT, default_sort=["-createdAt"],
                          tiebreak=CreditInvestigation.id, to_schema=investigation_out)


async def request_investigation(session: AsyncSession, authz: Authorizer,
                                data: InvestigationIn) -> CreditInvestigation:
    customer, node = await customer_for(session, authz, data.customer_id, REVIEW)
    investigation = CreditInvestigation(
        number=await next_number(session, "DC", await local_year(session, clock.utcnow())), customer_id=customer.id,
        node_id=node.id, agency=data.agency, method=data.method, content=data.content,
        requested_by=authz.principal.subject)
    session.add(investigation)
    return await saved(session, investigation, "grading.credit_investigation.request", INVESTIGATION,
                       reason=data.content)


async def record_report(session: AsyncSession, authz: Authorizer, investigation: CreditInvestigation, path: str,
                        data: InvestigationReport) -> CreditInvestigation:
    authz.require(REVIEW, path)
    if investigation.reported_at is not None:
        raise ProblemError("conflict", f"Credit investigation {investigation.number} is reported already: it needs "
                                       "state requested.")
    before = audit.snapshot(investigation)
    investigation.report, investigation.countermeasures = data.report, data.countermeasures
    investigation.reported_at = clock.utcnow()
    return await saved(session, investigation, "grading.credit_investigation.report", INVESTIGATION,
                       before=before, reason=data.countermeasures)
