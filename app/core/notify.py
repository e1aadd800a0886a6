"""Telling people something: one message per recipient written to the outbox in the caller's
transaction, delivered by a background task once that transaction commits
(app/auth/outbox.py: at-least-once, retried by the beat task ``outbox.resend``).

Written with the change that calls for it, a message exists exactly when the change does:
a rolled-back change tells nobody, and a committed one is told even if the broker is down at
commit (the resend task picks the message up). Every domain notifies through
:func:`queue_messages`::

    from app.core.notify import INBOX, queue_messages

    await queue_messages(session, [str(account_id)], tenant_id=tid, channel=INBOX,
                         subject="…", body="…", data={"event": "customer.updated", …})
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import outbox
from app.auth.models import OutboxMessage
from app.worker import enqueue_after_commit

EMAIL = outbox.EMAIL  # to an address, through the SMTP relay
INBOX = outbox.INBOX  # in-app, to an account id
SMS = outbox.SMS  # to a phone number, through the SMS gateway (app/core/channels.py)
PUSH = outbox.PUSH  # app push, to an account id, through the push gateway
WECHAT = outbox.WECHAT  # a WeChat template message, to an openid; its fields in data["wechat"] (channels.wechat_data)

SUBJECT_MAX = 300  # the outbox column's length


async def queue_messages(session: AsyncSession, recipients: Iterable[str], *, tenant_id: uuid.UUID | None,
                         subject: str, body: str, data: Mapping[str, Any], channel: str = EMAIL,
                         secret: str | None = None) -> list[OutboxMessage]:
    """Queue one message to each distinct recipient (in their first order); the messages.

    ``tenant_id`` names the tenant whose people these are (None: platform operators); the
    delivery is audited in that tenant's log. A ``secret`` in the body (a one-time code) is
    blanked out of the stored copy once the message is sent.
    """
    if channel not in outbox.CHANNELS:
        raise ValueError(f"unknown outbox channel {channel!r}")
    stored = dict(data)
    if secret:
        stored[outbox.REDACTED_BODY] = body.replace(secret, "[sent]")
    messages = [OutboxMessage(tenant_id=tenant_id, channel=channel, recipient=r,
                              subject=subject[:SUBJECT_MAX], body=body, data=dict(stored))
                for r in dict.fromkeys(recipients)]
    if not messages:
        return []
    session.add_all(messages)
    await session.flush()
    for message in messages:
        # A broker down at commit is logged, not raised: the committed message is resent.
        enqueue_after_commit(session, outbox.deliver_after_commit, message_id=str(message.id))
    return messages
