"""Password reset without a token, and the outbox that delivers its mail: no user
enumeration, a digest-only code that works once, lock-out cleared, sessions revoked."""

from __future__ import annotations

import socketserver
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import select, update

from app.auth import accounts
from app.auth.models import Account, OutboxMessage, OutboxStatus, PasswordReset
from app.auth.outbox import DELIVER, RESEND, deliver, deliver_message, resend_pending
from app.auth.server import digest
from app.core.clock import utcnow
from app.worker import _Runtime, celery_app
from tests.identity.conftest import (
    add_refresh_tokens,
    assert_problem,
    audit_rows,
    code_in,
    live_refresh_tokens,
    outbox_for,
    strong_password,
    tenant_id,
)

RESET = "/oauth/password-reset"


async def _account(db: Any, account_id: uuid.UUID) -> Account:
    async with db.platform_session() as session:
        row = await session.get(Account, account_id)
    assert row is not None
    return row


async def test_reset_answers_the_same_for_everyone(client: Any, db: Any, new_tenant: Any, person: Any) -> None:
    slug = await new_tenant("idrst")
    no_mail = await person(slug, email=False)
    for body in ({"tenant": slug, "username": "nobody-here"}, {"tenant": "no_such_group", "username": "x"},
                 {"username": "nobody-here"}, {"tenant": slug, "username": no_mail.username}):
        answer = await client.post(RESET, json=body)
        assert answer.status_code == 202, (body, answer.text)
        assert answer.json() == {"detail": "If the account exists and has an email address, a code is on its way."}
    async with db.platform_session() as session:
        resets = (await session.scalars(select(PasswordReset).where(PasswordReset.account_id == no_mail.id))).all()
    assert resets == []
    assert_problem(await client.post(RESET, json={"tenant": slug}), 422, "validation")
    assert_problem(await client.post(RESET, json={"tenant": slug, "username": "x", "extra": 1}), 422, "validation")


async def test_reset_works_once(client: Any, db: Any, new_tenant: Any, person: Any) -> None:
    slug = await new_tenant("idrs1")
    me = await person(slug)
    await add_refresh_tokens(db, me.id)
    async with db.platform_transaction() as session:  # locked out by a password guesser
        row = await session.get(Account, me.id)
        assert row is not None
        row.failed_sign_ins, row.locked_until = 7, utcnow() + timedelta(minutes=30)

    requested = await client.post(RESET, json={"tenant": slug, "username": me.username.upper()})
    assert requested.status_code == 202, requested.text
    [mail] = await outbox_for(db, me.email)
    assert mail.tenant_id == await tenant_id(db, slug) and mail.status is OutboxStatus.pending
    assert mail.data["kind"] == "password_reset" and mail.data["accountId"] == str(me.id)
    code = code_in(mail)
    assert code not in str(mail.data)
    async with db.platform_session() as session:
        [reset] = (await session.scalars(select(PasswordReset).where(PasswordReset.account_id == me.id))).all()
    assert reset.token_hash == digest(code) and reset.used_at is None  # only the digest at rest
    assert timedelta(minutes=29) < reset.expires_at - reset.created_at <= timedelta(minutes=30)

    # A weak password is refused field by field, and leaves the code usable.
    weak = await client.post(RESET + "/confirm", json={"token": code, "newPassword": "password12"})
    body = assert_problem(weak, 422, "validation")
    assert body["errors"] and all(e["field"] == "newPassword" for e in body["errors"])
    assert_problem(await client.post(RESET + "/confirm", json={"token": "made-up", "newPassword": strong_password()}),
                   403, "forbidden")

    new = strong_password()
    done = await client.post(RESET + "/confirm", json={"token": code, "newPassword": new})
    assert done.status_code == 204, done.text
    row = await _account(db, me.id)
    assert await accounts.verify_password(row.password_hash, new)
    assert row.failed_sign_ins == 0 and row.locked_until is None
    assert await live_refresh_tokens(db, account_id=me.id) == 0

    again = await client.post(RESET + "/confirm", json={"token": code, "newPassword": strong_password()})
    assert assert_problem(again, 403, "forbidden")["errors"][0]["field"] == "token"

    # Once sent, the outbox keeps no readable copy of the code.
    assert await deliver_message(db, mail.id, None) == "sent"
    [sent] = await outbox_for(db, me.email)
    assert code not in sent.body and "[sent]" in sent.body and "redactedBody" not in sent.data

    rows = await audit_rows(db, slug, me.id)
    assert [r.action for r in rows] == ["account.password_reset.request", "account.password_reset"]
    assert rows[0].actor_kind == "anonymous" and rows[1].actor_id == str(me.id)
    assert all(code not in str(r) for r in rows)


async def test_a_new_request_supersedes_the_old_code(client: Any, db: Any, new_tenant: Any, person: Any) -> None:
    slug = await new_tenant("idrs2")
    me = await person(slug)
    for _ in range(2):
        assert (await client.post(RESET, json={"tenant": slug, "username": me.username})).status_code == 202
    first, second = await outbox_for(db, me.email)
    stale = await client.post(RESET + "/confirm", json={"token": code_in(first), "newPassword": strong_password()})
    assert_problem(stale, 403, "forbidden")
    fresh = await client.post(RESET + "/confirm", json={"token": code_in(second), "newPassword": strong_password()})
    assert fresh.status_code == 204


async def test_expired_code_is_refused(client: Any, db: Any, new_tenant: Any, person: Any) -> None:
    slug = await new_tenant("idrs3")
    me = await person(slug)
    assert (await client.post(RESET, json={"tenant": slug, "username": me.username})).status_code == 202
    async with db.platform_transaction() as session:
        await session.execute(update(PasswordReset).where(PasswordReset.account_id == me.id)
                              .values(expires_at=utcnow() - timedelta(seconds=1)))
    [mail] = await outbox_for(db, me.email)
    late = await client.post(RESET + "/confirm", json={"token": code_in(mail), "newPassword": strong_password()})
    assert_problem(late, 403, "forbidden")


async def test_operators_reset_without_a_tenant(client: Any, db: Any, person: Any) -> None:
    operator = await person(None)
    assert (await client.post(RESET, json={"username": operator.username})).status_code == 202
    [mail] = await outbox_for(db, operator.email)
    assert mail.tenant_id is None
    done = await client.post(RESET + "/confirm", json={"token": code_in(mail), "newPassword": strong_password()})
    assert done.status_code == 204
    assert [r.action for r in await audit_rows(db, None, operator.id)][-2:] == [
        "account.password_reset.request", "account.password_reset"]


# ------------------------------------------------------------------------------ outbox


async def _pending_message(db: Any, **fields: Any) -> OutboxMessage:
    message = OutboxMessage(recipient=f"{uuid.uuid4().hex[:8]}@example.com", subject="Hello", body="Body text",
                            data={"kind": "test"}, **fields)
    async with db.platform_transaction() as session:
        session.add(message)
    return message


async def _message(db: Any, message_id: uuid.UUID) -> OutboxMessage:
    async with db.platform_session() as session:
        row = await session.get(OutboxMessage, message_id)
    assert row is not None
    return row


async def test_delivery_marks_sent_once(db: Any, new_tenant: Any) -> None:
    slug = await new_tenant("idout")
    message = await _pending_message(db, tenant_id=await tenant_id(db, slug))
    assert await deliver_message(db, message.id, None) == "sent"
    sent = await _message(db, message.id)
    assert sent.status is OutboxStatus.sent and sent.sent_at is not None and sent.attempts == 1
    # A redelivered task finds it sent: nothing changes.
    assert await deliver_message(db, message.id, None) == "sent"
    assert (await _message(db, message.id)).attempts == 1
    assert [r.action for r in await audit_rows(db, slug, message.id)] == ["outbox.sent"]
    assert await deliver_message(db, uuid.uuid4(), None) == "busy-or-missing"


async def test_the_celery_task_delivers(db: Any) -> None:
    # The registered task itself, run in-process (in a thread: it runs its own event loop).
    assert {DELIVER, RESEND} <= set(celery_app.tasks)
    message = await _pending_message(db)

    def run() -> str:
        try:
            return str(deliver.run(str(message.id)))
        finally:
            _Runtime.close()  # the task's pool belongs to that thread's loop

    assert await anyio.to_thread.run_sync(run) == "sent"
    assert (await _message(db, message.id)).status is OutboxStatus.sent


async def test_resend_picks_up_stale_pending_messages(db: Any) -> None:
    stale = await _pending_message(db)
    fresh = await _pending_message(db)
    async with db.platform_transaction() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == stale.id)
                              .values(created_at=utcnow() - timedelta(minutes=5),
                                      updated_at=utcnow() - timedelta(minutes=5)))
    # Enqueued for real (to this run's queue); a worker, when one runs, delivers them.
    sent = await resend_pending(db)
    assert str(stale.id) in sent and str(fresh.id) not in sent


class _SmtpSink(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message (RFC 5321's happy path)."""

    received: list[bytes] = []

    def handle(self) -> None:
        self.wfile.write(b"220 sink\r\n")
        data = False
        lines: list[bytes] = []
        while line := self.rfile.readline():
            if data:
                if line == b".\r\n":
                    data = False
                    self.received.append(b"".join(lines))
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250 sink\r\n")
            elif verb == b"DATA":
                data = True
                self.wfile.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_sink() -> Iterator[tuple[str, list[bytes]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpSink)
    received: list[bytes] = []
    _SmtpSink.received = received
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"smtp://127.0.0.1:{server.server_address[1]}?from=no-reply@example.com", received
    finally:
        server.shutdown()
        server.server_close()


async def test_smtp_delivery(db: Any, smtp_sink: tuple[str, list[bytes]]) -> None:
    url, received = smtp_sink
    message = await _pending_message(db)
    assert await deliver_message(db, message.id, url) == "sent"
    [mail] = received
    assert f"To: {message.recipient}".encode() in mail and b"From: no-reply@example.com" in mail
    assert b"Body text" in mail and f"<{message.id}@cornerstone>".encode() in mail


async def test_failed_delivery_stays_pending(db: Any) -> None:
    message = await _pending_message(db)
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as closed:
        port = closed.server_address[1]
    assert await deliver_message(db, message.id, f"smtp://127.0.0.1:{port}") == "pending"
    row = await _message(db, message.id)
    assert row.status is OutboxStatus.pending and row.attempts == 1 and row.last_error
