"""What the property domain holds about a person (app/core/personal.py): the handover of their
home, the warranty repairs they asked for, and the owners' committee they sit on.

The handover is kept (it proves the delivery under the sales contract); a repair loses the
owner's comment (the defect, the work and the rating stay: they are about the unit); a
committee's filing is public and kept. The committee names its members, it does not link them
to customer records: the copy lists the committees of the projects the person owns a unit in
whose members include the person's name.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.personal import Erasure, Holding, PersonalData, rows_holding
from app.domains.property.models import CommitteeCase, Handover, RepairOrder

COMMITTEES = "property.committees"
_KEEP_COMMITTEE = ("the owners' committee's members are a public filing with the subdistrict office (Civil Code "
                   "art. 277; 业主大会和业主委员会指导规则)")


async def _customer_name(session: AsyncSession, customer_id: uuid.UUID) -> str | None:
    from app.domains.customers.models import Customer

    return await session.scalar(select(Customer.name).where(Customer.id == customer_id))


def _named(name: str, customer_id: uuid.UUID) -> Any:
    """Committees of the projects the person owns a unit in, whose members include their name."""
    from app.domains.customers.models import CustomerUnit
    from app.domains.org.models import Unit

    projects = select(Unit.project_id).join(CustomerUnit, CustomerUnit.unit_id == Unit.id) \
        .where(CustomerUnit.customer_id == customer_id)
    return CommitteeCase.node_id.in_(projects) & CommitteeCase.members.contains([{"name": name}])


async def _collect_committees(session: AsyncSession, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    name = await _customer_name(session, customer_id)
    if not name:
        return []
    cases = (await session.scalars(select(CommitteeCase).where(_named(name, customer_id))
                                   .order_by(CommitteeCase.id))).all()
    return [{"nodeId": c.node_id, "status": c.status, "formedOn": c.formed_on,
             "memberships": [m for m in c.members if m.get("name") == name]} for c in cases]


async def _erase_committees(session: AsyncSession, customer_id: uuid.UUID) -> Erasure:
    name = await _customer_name(session, customer_id)
    kept = 0 if not name else await session.scalar(
        select(func.count()).select_from(CommitteeCase).where(_named(name, customer_id))) or 0
    return Erasure(kind=COMMITTEES, kept=kept, reason=_KEEP_COMMITTEE if kept else None)


PERSONAL = PersonalData(holdings=(
    rows_holding("property.handovers", "The handover of the person's home: appointment, inspection results, "
                                       "who signed, keys.", Handover,
                 show=("number", "unit_id", "status", "appointment_at", "results", "inspected_at", "confirmation",
                       "confirmed_at", "signed_by", "keys_handed", "handed_over_on", "note"),
                 keep="the handover record proves the delivery of the home under the sales contract (the inspection "
                      "the owner confirmed, the keys handed over)"),
    rows_holding("property.repairs", "Warranty repairs the person asked for: the defect, the work, their rating "
                                     "and comment.", RepairOrder,
                 show=("number", "unit_id", "source", "category", "description", "status", "appointment_at",
                       "completed_at", "work_done", "signed_off_at", "rating", "owner_comment"),
                 blank={"owner_comment": None}),
    Holding(COMMITTEES, "Owners' committees whose members include the person's name.", _collect_committees,
            _erase_committees),
))
