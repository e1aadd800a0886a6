"""What the interactions package's aggregates share: permissions, entity names, the audit
snapshot without behaviour data, the consent that behaviour data needs, and the org hook.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.problems import ProblemError, field_error
from app.domains.access.authz import register_permissions
from app.domains.customers.models import ConsentKind
from app.domains.customers.services import has_consent
from app.domains.interactions.models import Call, GiftApplication, GiftPlan, Reception, Visit
from app.domains.org import services as org
from app.domains.org.models import NodeKind
from app.domains.org.services import records_at

READ, WRITE, REIMBURSE = "interactions.read", "interactions.write", "interactions.reimburse"
T = TypeVar("T")

register_permissions({
    READ: "See visits, receptions, gift plans and applications, and calls in one's subtree.",
    WRITE: "Plan, record and report visits; apply for and report receptions; plan gifts and apply for them; "
           "log calls, in one's subtree.",
    REIMBURSE: "Reimburse a reception's costs once its report was reviewed, and a visit's reported expenses "
               "(finance), in one's subtree.",
})

VISIT, RECEPTION, GIFT_PLAN, GIFT_APPLICATION, CALL = "visit", "reception", "gift_plan", "gift_application", "call"
RECEPTION_TYPE, GIFT_TYPE, REPORT_TYPE = "reception_application", "gift_application", "reception_report"
VISIT_TYPE = "visit_application"
PHONE = "calls.phone"  # the sealed column's associated data
IX_PHONE = "phone"  # the customers domain's blind-index namespace: a call's number finds the customer's
ZERO = Decimal("0.00")
# Where approvals are needed, the record's node must lie under a branch (the chains' level).
UNDER_BRANCH = (NodeKind.project, NodeKind.branch)

# Behaviour data stays out of the trail: its size is recorded, not its content.
_BEHAVIOUR = frozenset({"needs", "objections", "interests"})


def trail_snapshot(obj: Any, **extra: Any) -> dict[str, Any]:
    snap = audit.snapshot(obj, exclude=_BEHAVIOUR | {"phone_sealed", "phone_index"})
    for name in _BEHAVIOUR:
        if hasattr(obj, name):
            snap[f"{name}Count"] = len(getattr(obj, name) or [])
    return {**snap, **extra}


async def require_consent(session: AsyncSession, customer_id: uuid.UUID | None, fields: dict[str, list[str]]) -> None:
    """Behaviour data only with the customer's active behaviour consent."""
    given = [name for name, values in fields.items() if values]
    if not given:
        return
    if customer_id is None or not await has_consent(session, customer_id, ConsentKind.behaviour):
        who = "the customer has" if customer_id else "an unknown caller has"
        raise ProblemError("consent-required", f"{', '.join(given)} describe what a customer wants: behaviour data, "
                                               f"kept only with their active behaviour consent, which {who} not "
                                               "given. Record the consent first, or leave them out.",
                           errors=[field_error(name, "needs an active behaviour consent") for name in given])


async def named(lookup: Awaitable[T], field: str) -> T:
    """A record a body names: its 404 names the field."""
    try:
        return await lookup
    except ProblemError as exc:
        if exc.slug != "not-found":
            raise
        raise ProblemError("not-found", str(exc.detail), errors=[field_error(field, "not found")]) from None


def conflict(what: str, state: str, hint: str = "") -> ProblemError:
    return ProblemError("conflict", f"The {what} is {state}{': ' + hint if hint else '.'}")


# ---------------------------------------------------------------------------- org hooks


@org.live_records("interactions")
async def _interactions_at(session: AsyncSession, holder: org.Holder) -> str | None:
    return await records_at(session, holder, [(Visit, "visits"), (Reception, "receptions"), (GiftPlan, "gift plans"),
                                              (GiftApplication, "gift applications"), (Call, "calls")])
