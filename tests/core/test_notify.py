"""The one way to tell people something (app/core/notify.py): messages written with the change,
delivered by the real worker once it commits, never for a change rolled back; each tenant's
messages carry that tenant and are audited in its log only; in-app messages never go to the
mail relay."""

from __future__ import annotations

import socketserver
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.models import OutboxMessage, OutboxStatus
from app.auth.outbox import deliver_message
from app.core.audit import tenant_audit
from app.core.notify import EMAIL, INBOX, SUBJECT_MAX, queue_messages
from app.tenants.models import schema_name
from tests.identity.conftest import tenant_id
from tests.worker.conftest import Worker, wait_for


class _RolledBack(Exception):
    pass


async def _queue(db: Any, slug: str, recipients: list[str], **fields: Any) -> list[OutboxMessage]:
    """Queue through the helper in a transaction of the tenant's own, committed."""
    async with db.tenant_session(schema_name(slug)) as session:
        async with session.begin():
            fields = {"subject": "Hello", "body": "Body", "data": {"event": "test"}, **fields}
            return await queue_messages(session, recipients, tenant_id=await tenant_id(db, slug), **fields)


async def _messages(db: Any, ids: list[uuid.UUID]) -> list[OutboxMessage]:
    async with db.platform_session() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                           .order_by(OutboxMessage.created_at, OutboxMessage.id))).all())


async def _all_sent(db: Any, worker: Worker, ids: list[uuid.UUID]) -> list[OutboxMessage]:
    async def probe() -> list[OutboxMessage] | None:
        rows = await _messages(db, ids)
        return rows if len(rows) == len(ids) and all(r.status is OutboxStatus.sent for r in rows) else None

    rows: list[OutboxMessage] = await wait_for(worker, probe, f"delivery of {len(ids)} outbox messages")
    return rows


async def _sent_records(db: Any, slug: str) -> set[str]:
    """The ids of the outbox messages whose delivery is audited in the tenant's log."""
    async with db.tenant_session(schema_name(slug)) as session:
        return set((await session.scalars(select(tenant_audit.c.entity_id).where(
            tenant_audit.c.action == "outbox.sent", tenant_audit.c.entity_type == "outbox_message"))).all())


async def test_queued_messages_are_delivered_by_the_worker(db: Any, worker: Worker, new_tenant: Any) -> None:
    slug = await new_tenant("ntf")
    account = str(uuid.uuid4())
    inbox = await _queue(db, slug, [account, account], channel=INBOX, subject="x" * 400)
    mail = await _queue(db, slug, ["someone@example.com"], body="Your code: 123456", secret="123456",
                        data={"kind": "test"})
    # One message per distinct recipient, the subject cut to the column's length.
    assert [(m.channel, m.recipient, len(m.subject)) for m in inbox] == [(INBOX, account, SUBJECT_MAX)]
    assert [(m.channel, m.recipient, m.status) for m in mail] == [(EMAIL, "someone@example.com",
                                                                   OutboxStatus.pending)]
    assert mail[0].body == "Your code: 123456" and mail[0].data["kind"] == "test"

    ids = [m.id for m in inbox + mail]
    delivered = await _all_sent(db, worker, ids)
    assert all(m.attempts == 1 and m.sent_at is not None for m in delivered)
    # The one-time code is not kept once the mail has gone.
    [sent_mail] = [m for m in delivered if m.channel == EMAIL]
    assert sent_mail.body == "Your code: [sent]" and sent_mail.data == {"kind": "test"}
    assert {str(i) for i in ids} <= await _sent_records(db, slug)


async def test_a_rolled_back_change_tells_nobody(db: Any, new_tenant: Any) -> None:
    slug = await new_tenant("ntf")
    recipient = f"{uuid.uuid4().hex[:8]}@example.com"
    with pytest.raises(_RolledBack):
        async with db.tenant_session(schema_name(slug)) as session:
            async with session.begin():
                [message] = await queue_messages(session, [recipient], tenant_id=await tenant_id(db, slug),
                                                 subject="Never", body="Never", data={})
                assert message.id is not None  # written in the transaction...
                raise _RolledBack
    async with db.platform_session() as session:  # ...and gone with it
        left = (await session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.recipient == recipient))).all()
    assert left == []


async def test_each_tenant_s_messages_stay_its_own(db: Any, worker: Worker, new_tenant: Any) -> None:
    a, b = await new_tenant("ntf_a"), await new_tenant("ntf_b")
    # The same person (one address) is a customer of both groups.
    address = f"{uuid.uuid4().hex[:8]}@example.com"
    [to_a] = await _queue(db, a, [address], subject="From A")
    [to_b] = await _queue(db, b, [address], subject="From B")
    assert (to_a.tenant_id, to_b.tenant_id) == (await tenant_id(db, a), await tenant_id(db, b))

    await _all_sent(db, worker, [to_a.id, to_b.id])
    in_a, in_b = await _sent_records(db, a), await _sent_records(db, b)
    assert str(to_a.id) in in_a and str(to_a.id) not in in_b
    assert str(to_b.id) in in_b and str(to_b.id) not in in_a


async def test_in_app_messages_never_go_to_the_mail_relay(db: Any, new_tenant: Any) -> None:
    slug = await new_tenant("ntf")
    tid = await tenant_id(db, slug)
    # Written directly (not through the helper), so that no worker delivers them first.
    async with db.platform_transaction() as session:
        inbox = OutboxMessage(tenant_id=tid, channel=INBOX, recipient=str(uuid.uuid4()), subject="In app",
                              body="B", data={})
        mail = OutboxMessage(tenant_id=tid, channel=EMAIL, recipient="a@example.com", subject="Mail",
                             body="B", data={})
        session.add_all([inbox, mail])
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as closed:
        relay = f"smtp://127.0.0.1:{closed.server_address[1]}"
    # The relay is down: the mail waits for it, the in-app message needs none.
    assert await deliver_message(db, mail.id, relay) == "pending"
    assert await deliver_message(db, inbox.id, relay) == "sent"
    rows = {m.channel: m for m in await _messages(db, [inbox.id, mail.id])}
    assert rows[EMAIL].last_error and rows[INBOX].last_error is None


async def test_an_unknown_channel_is_refused(db: Any, new_tenant: Any) -> None:
    slug = await new_tenant("ntf")
    with pytest.raises(ValueError, match="carrier-pigeon"):  # a name the outbox has no adapter for
        await _queue(db, slug, ["loft 3"], channel="carrier-pigeon")
