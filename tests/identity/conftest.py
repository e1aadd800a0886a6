"""Helpers for the identity tests: people with passwords, refresh tokens to revoke, and
reads of the tenant's audit log and the outbox."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.models import AccountKind, OutboxMessage, RefreshToken
from app.core.audit import Actor, platform_audit, tenant_audit
from app.core.clock import utcnow
from app.tenants.models import Tenant
from tests.conftest import OPERATOR, QUEUE, bearer

PROBLEM = "urn:cornerstone:problem:"
# Never in any answer of the identity API.
SECRET_KEYS = {"passwordHash", "totpSecret", "recoveryCodeHashes", "secretHash", "password_hash", "totp_secret",
               "recovery_code_hashes", "secret_hash"}


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    tenant: str | None
    username: str
    password: str
    email: str | None

    def auth(self, mint: Any, scopes: list[str] | None = None) -> dict[str, str]:
        """A user token of this person (as the token endpoint would issue it)."""
        return bearer(mint(tenant=self.tenant, subject=str(self.id), scopes=scopes or ["account:self"]))


HELD = f"{QUEUE}-held"  # a queue no worker consumes


class _HeldDelivery:
    """``outbox.deliver_after_commit`` sending to the held queue: the real broker gets the
    task, but no worker runs it."""

    def apply_async(self, kwargs: dict[str, Any]) -> None:
        from app.auth.outbox import deliver

        deliver.apply_async(kwargs=kwargs, queue=HELD)


@pytest.fixture(autouse=True)
def held_mail(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Mail stays in the outbox as written while a test reads its code: once a worker (the
    session's, when another directory started it) sends a message, the code is blanked."""
    from app.auth import outbox
    from app.worker import celery_app

    monkeypatch.setattr(outbox, "deliver_after_commit", _HeldDelivery())
    yield
    with celery_app.connection_for_write() as conn:
        bound = celery_app.amqp.queues[HELD].bind(conn.default_channel)
        bound.declare()
        bound.delete()


def strong_password() -> str:
    return f"Pw-{secrets.token_urlsafe(9)}-9a"  # upper, lower, digit, symbol


async def tenant_id(db: Any, slug: str) -> uuid.UUID:
    async with db.platform_session() as session:
        found = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    assert found is not None
    return found


@pytest.fixture
def person(db: Any) -> Callable[..., Awaitable[Person]]:
    """A person with a password in tenant ``slug`` (the platform when None)."""
    from app.auth.services import create_account

    async def _new(slug: str | None, *, kind: AccountKind = AccountKind.staff, email: bool = True,
                   scopes: list[str] | None = None) -> Person:
        tid = await tenant_id(db, slug) if slug else None
        username = f"p{uuid.uuid4().hex[:10]}"
        password = strong_password()
        address = f"{username}@example.com" if email else None
        if scopes is None:
            scopes = ["platform:admin"] if slug is None else ["account:self", "org:read"]
        async with db.platform_transaction() as session:
            session.info["actor"] = Actor(kind="operator", id=OPERATOR)
            account = await create_account(
                session, tenant_id=tid, kind=AccountKind.operator if slug is None else kind, username=username,
                display_name=f"Person {username}", password=password, scopes=scopes, email=address)
        return Person(account.id, slug, username, password, address)

    return _new


async def add_refresh_tokens(db: Any, account_id: uuid.UUID, client_id: str = "test-client",
                             count: int = 2) -> list[uuid.UUID]:
    """Live refresh tokens of the account (as sign-ins through an app would leave)."""
    now = utcnow()
    rows = [RefreshToken(token_hash=secrets.token_hex(32), family_id=uuid.uuid4(), client_id=client_id,
                         account_id=account_id, scope="org:read", issued_at=now,
                         expires_at=now + timedelta(days=30)) for _ in range(count)]
    async with db.platform_transaction() as session:
        session.add_all(rows)
    return [r.id for r in rows]


async def live_refresh_tokens(db: Any, *, account_id: uuid.UUID | None = None, client_id: str | None = None) -> int:
    stmt = select(RefreshToken.id).where(RefreshToken.revoked_at.is_(None))
    if account_id is not None:
        stmt = stmt.where(RefreshToken.account_id == account_id)
    if client_id is not None:
        stmt = stmt.where(RefreshToken.client_id == client_id)
    async with db.platform_session() as session:
        return len((await session.scalars(stmt)).all())


async def audit_rows(db: Any, slug: str | None, entity_id: Any) -> list[Any]:
    """The audit records of one entity in the tenant's log (the platform's when None)."""
    table = tenant_audit if slug else platform_audit
    stmt = select(table).where(table.c.entity_id == str(entity_id)).order_by(table.c.occurred_at, table.c.id)
    factory = db.tenant_session(f"t_{slug}") if slug else db.platform_session()
    async with factory as session:
        return list((await session.execute(stmt)).all())


async def outbox_for(db: Any, recipient: str) -> list[OutboxMessage]:
    async with db.platform_session() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                           .order_by(OutboxMessage.created_at))).all())


CODE_RE = re.compile(r"one-time code to set a password: (\S+)")


def code_in(message: OutboxMessage) -> str:
    found = CODE_RE.search(message.body)
    assert found, message.body
    return found.group(1)


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["type"] == PROBLEM + slug, body
    return body


def assert_no_secrets(body: Any) -> None:
    """No hash, TOTP secret or client secret field anywhere in an answer."""
    if isinstance(body, dict):
        leaked = SECRET_KEYS & set(body)
        assert not leaked, f"secret fields in an answer: {leaked}"
        for value in body.values():
            assert_no_secrets(value)
    elif isinstance(body, list):
        for item in body:
            assert_no_secrets(item)
