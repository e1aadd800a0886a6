"""The outbox's channels beyond mail and the in-app inbox: SMS to a phone number, and app push
to an owner account's devices. Domains reach them through the one interface,
``app.core.notify.queue_messages(channel=SMS | PUSH)``; the outbox's delivery task hands each
message to its channel's adapter here:

- a gateway configured (``CORNERSTONE_SMS_GATEWAY_URL``, ``CORNERSTONE_PUSH_GATEWAY_URL``): a
  JSON ``POST`` of ``{"id", "channel", "to", "subject", "body"}`` with the message id as
  ``Idempotency-Key`` (a resend is the same message); a 2xx answer is delivery, anything else
  a failed attempt the outbox retries;
- none (development, tests): the adapter logs that the message was not sent — its id, channel
  and length only, never the recipient (a phone number, an account) nor the text (which names
  the customer).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

import httpx

log = logging.getLogger(__name__)

SMS = "sms"  # to a phone number (E.164 or a mainland mobile number)
PUSH = "push"  # to an owner account id: the app's devices signed in to it
GATEWAY_TIMEOUT = 15.0


class Outgoing(Protocol):
    """What an adapter reads of an outbox message."""

    @property
    def id(self) -> object: ...
    @property
    def recipient(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def body(self) -> str: ...


class GatewayRefused(Exception):
    """The gateway answered, but not with a 2xx: the attempt failed."""


async def send(channel: str, message: Outgoing, gateways: Mapping[str, str | None]) -> None:
    """Deliver ``message`` on ``channel`` (SMS or PUSH) through its gateway, or log it."""
    url = gateways.get(channel)
    if not url:
        log.info("outbox %s: %s message of %d characters not sent: no %s gateway configured",
                 message.id, channel, len(message.body), channel)
        return
    payload = {"id": str(message.id), "channel": channel, "to": message.recipient, "subject": message.subject,
               "body": message.body}
    async with httpx.AsyncClient(timeout=GATEWAY_TIMEOUT) as client:
        response = await client.post(url, json=payload, headers={"Idempotency-Key": str(message.id)})
    if not response.is_success:
        raise GatewayRefused(f"the {channel} gateway answered {response.status_code}")
