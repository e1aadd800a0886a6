"""A consent-withdrawal request carried out (PIPL arts. 15-16; seed 001 §2 (一) 2 (5)): every
consent of the kinds it names, in effect for the person, is withdrawn through the customers'
own consent route, so what each consent covered stops the moment the request completes:

- marketing: the care scan writes to customers with a marketing consent only (its birthday
  greetings to club members among them), so nothing more is sent;
- behaviour: the behaviour data the consent allowed is erased, the customer's and what other
  domains recorded (app/domains/customers/services/consents.py);
- sharing: nothing is shared without it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.problems import ProblemError
from app.domains.access.authz import Authorizer, trusted
from app.domains.customers.models import ConsentChannel, ConsentKind, Customer, CustomerConsent
from app.domains.customers.schemas import ConsentWithdrawal
from app.domains.privacy.models import PrivacyRequest, RequestChannel, RequestKind, RequestStatus
from app.domains.privacy.schemas import AnswerIn
from app.domains.privacy.services import FLOW, WRITE, answered, require_approved, saved, snapshot

# The channel the request came by is the channel of the withdrawal.
_CHANNEL = {RequestChannel.app: ConsentChannel.app, RequestChannel.phone: ConsentChannel.phone,
            RequestChannel.in_person: ConsentChannel.in_person, RequestChannel.mail: ConsentChannel.paper,
            RequestChannel.online: ConsentChannel.online}


async def withdraw(session: AsyncSession, authz: Authorizer, r: PrivacyRequest, path: str,
                   data: AnswerIn) -> PrivacyRequest:
    from app.domains.customers.services import withdraw_consent

    authz.require(WRITE, path)
    if r.kind is not RequestKind.withdrawal:
        raise ProblemError("conflict", f"Privacy request {r.number} asks for {r.kind.value}, not a withdrawal.")
    await require_approved(session, r)
    target = FLOW.to("withdraw", r.status, RequestStatus.completed, f"Privacy request {r.number}")
    before = snapshot(r)
    customer = await session.get(Customer, r.customer_id, with_for_update=True)
    if customer is None:
        raise ProblemError("conflict", f"Privacy request {r.number}: its customer is gone.")
    now, items = clock.utcnow(), []
    for kind in r.consent_kinds or []:
        # Every consent of the kind not withdrawn yet (one granted for later too: it never takes effect).
        live = (await session.scalars(select(CustomerConsent).where(
            CustomerConsent.customer_id == customer.id, CustomerConsent.kind == ConsentKind(kind),
            CustomerConsent.withdrawn_at.is_(None)).order_by(CustomerConsent.granted_at).with_for_update())).all()
        for consent in live:
            # The privacy permission was checked above; the consent route's own check is the customers'.
            at = max(now, consent.granted_at)
            await withdraw_consent(session, trusted(), customer, path, consent,
                                   ConsentWithdrawal(channel=_CHANNEL[r.channel], withdrawn_at=at))
        items.append({"kind": f"customers.consents.{kind}", "records": len(live),
                      "reason": None if live else "no consent of this kind left to withdraw"})
    await session.refresh(r)
    r.outcome, r.status = items, target
    answered(r, session, data.answer)
    return await saved(session, r, "privacy.request.withdraw", before=before)
