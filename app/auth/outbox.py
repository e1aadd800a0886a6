"""Delivering the outbox: messages written in the same transaction as the change that needs
them (a password reset, an invitation, an approval awaiting a decision), through
``app.core.notify.queue``, and delivered by a task enqueued after that commit.

The outbox is a platform table, so these tasks are plain Celery tasks that take a message id
(no tenant binding). Delivery is at-least-once: a message is locked while it is sent and
marked sent in the same transaction, so a redelivered task finds it sent and does nothing,
and two deliveries of one message never run at once. A message whose task was lost (the
broker down at commit, a worker killed) is picked up by the beat task ``outbox.resend``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from collections.abc import Mapping
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import anyio.to_thread
import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import OutboxMessage, OutboxStatus
from app.config import get_settings
from app.core import audit, channels
from app.core.audit import SYSTEM
from app.core.clock import utcnow
from app.core.db import Database
from app.tenants.models import Tenant, schema_name
from app.worker import celery_app, run_in_worker

log = logging.getLogger(__name__)

DELIVER = "outbox.deliver"
RESEND = "outbox.resend"
RESEND_AFTER = timedelta(minutes=1)  # a message untouched this long lost its task
MAX_ATTEMPTS = 10  # then it is marked failed and left for an operator
RESEND_BATCH = 500
SMTP_TIMEOUT = 30.0
# In a message's data: its body without the one-time code, which replaces the body once sent.
REDACTED_BODY = "redactedBody"
# Channels: mail to an address, sent through the SMTP relay; an in-app message to an account
# id, delivered by being stored (nothing leaves the database).
EMAIL = "email"
INBOX = "inbox"
# Through a gateway, or logged where none is configured (app/core/channels.py).
SMS = channels.SMS
PUSH = channels.PUSH
WECHAT = channels.WECHAT
CHANNELS = (EMAIL, INBOX, SMS, PUSH, WECHAT)


def send_smtp(url: str, message: OutboxMessage) -> None:
    """Send one message through the relay ``smtp[s]://user:pass@host:port?from=…&starttls=1``
    (blocking: run it in a thread)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    sender = query.get("from", [f"no-reply@{parts.hostname}"])[0]
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Message-ID"] = f"<{message.id}@cornerstone>"  # the same id on a resend: receivers may dedupe
    mail.set_content(message.body)
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(parts.hostname or "localhost", parts.port or 465, timeout=SMTP_TIMEOUT,
                                context=context)
    else:
        smtp = smtplib.SMTP(parts.hostname or "localhost", parts.port or 25, timeout=SMTP_TIMEOUT)
    with smtp:
        if parts.scheme == "smtp" and query.get("starttls", ["0"])[0] in ("1", "true", "yes"):
            smtp.starttls(context=context)
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(mail)


async def _audit(session: AsyncSession, message: OutboxMessage, action: str, after: dict[str, Any]) -> None:
    # Into the tenant's own log (the platform's for operators' mail), like every auth event.
    slug = await session.scalar(select(Tenant.slug).where(Tenant.id == message.tenant_id)) \
        if message.tenant_id else None
    await audit.append(session, schema=schema_name(slug) if slug else None, actor=SYSTEM, action=action,
                       entity_type="outbox_message", entity_id=message.id, after=after)


async def deliver_message(db: Database, message_id: uuid.UUID, smtp_url: str | None,
                          gateways: Mapping[str, str | None] | None = None) -> str:
    """Send one pending message and mark it sent; returns what became of it. ``gateways``:
    the URL of the SMS and push gateways and of the WeChat account by channel (none: those
    messages are logged)."""
    async with db.platform_transaction() as session:
        # SKIP LOCKED: a concurrent delivery of the same message is already sending it.
        message = await session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id)
                                       .with_for_update(skip_locked=True))
        if message is None:
            return "busy-or-missing"
        if message.status is not OutboxStatus.pending:
            return str(message.status.value)  # a redelivered task: nothing left to do
        message.attempts += 1
        try:
            if message.channel == INBOX:
                pass  # an account id is no mail address: the stored message is the notification
            elif message.channel in (SMS, PUSH, WECHAT):
                await channels.send(message.channel, message, gateways or {})
            elif smtp_url:
                await anyio.to_thread.run_sync(send_smtp, smtp_url, message)
            else:
                # No relay configured (development, tests): the log is the mailbox.
                log.info("outbox %s to %s: %s\n%s", message.id, message.recipient, message.subject, message.body)
        except (OSError, smtplib.SMTPException, httpx.HTTPError, channels.GatewayRefused,
                channels.Undeliverable) as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            # Refused for good (an openid that unfollowed): no retry can deliver it.
            if message.attempts >= MAX_ATTEMPTS or isinstance(exc, channels.Undeliverable):
                message.status = OutboxStatus.failed
                await _audit(session, message, "outbox.failed", {"attempts": message.attempts,
                                                                 "error": message.last_error})
            log.warning("outbox %s: attempt %d failed: %s", message.id, message.attempts, message.last_error)
            return message.status.value
        message.status = OutboxStatus.sent
        message.sent_at = utcnow()
        message.last_error = None
        # A one-time code in the body has done its job once sent: keep no readable copy.
        data = dict(message.data)
        redacted = data.pop(REDACTED_BODY, None)
        if redacted is not None:
            message.body, message.data = redacted, data
        await _audit(session, message, "outbox.sent", {"attempts": message.attempts, "channel": message.channel})
        return "sent"


async def resend_pending(db: Database) -> list[str]:
    """Enqueue a delivery for every pending message untouched for RESEND_AFTER; their ids."""
    cutoff = utcnow() - RESEND_AFTER
    async with db.platform_session() as session:
        ids = (await session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == OutboxStatus.pending, OutboxMessage.updated_at < cutoff)
            .order_by(OutboxMessage.created_at).limit(RESEND_BATCH)
        )).all()
    sent = [str(i) for i in ids]
    for message_id in sent:
        deliver.apply_async(kwargs={"message_id": message_id})
    return sent


@celery_app.task(name=DELIVER)
def deliver(message_id: str) -> str:
    settings = get_settings()
    gateways = {SMS: settings.sms_gateway_url, PUSH: settings.push_gateway_url, WECHAT: settings.wechat_url}
    return run_in_worker(lambda db: deliver_message(db, uuid.UUID(message_id), settings.smtp_url, gateways))


class _SendOrLeave:
    """``deliver`` for enqueue_after_commit, swallowing a broker failure: the message is
    committed and the beat task resends it, whereas an error escaping the commit would fail
    a request that succeeded (and, for a password reset, tell that the account exists)."""

    def apply_async(self, kwargs: dict[str, Any]) -> None:
        try:
            deliver.apply_async(kwargs=kwargs)
        except Exception:  # noqa: BLE001 - logged; outbox.resend retries within a minute or two
            log.exception("outbox: could not enqueue delivery of %s; the resend task will", kwargs)


deliver_after_commit = _SendOrLeave()


@celery_app.task(name=RESEND)
def resend() -> list[str]:
    return run_in_worker(resend_pending)
