"""Request ids: a caller's X-Request-Id is kept only when short and of a safe charset (a long
one used to overflow audit_log.request_id and fail every audited write, and the
unauthenticated password reset for existing accounts only); otherwise a new one. Every
response carries the id, errors included, and every log record made for the request."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.models import AccountKind, OutboxMessage
from app.core.audit import Actor, tenant_audit
from app.core.request_context import acceptable_request_id
from tests.conftest import OPERATOR, TEST_CLIENT, bearer

ODD_IDS = ["x" * 101, "a" * 5000, "abc def", "<script>", "=cmd|' /C calc'!A0", "-leading-dash", "ünïcode",
           "a\tb", "line\\nbreak", ""]


async def _branch(client: Any, auth: dict[str, str], request_id: str | None) -> Any:
    headers: dict[str, Any] = {**auth}
    if request_id is not None:
        headers["X-Request-Id"] = request_id.encode()  # as bytes: any octets a caller may send
    return await client.post("/api/v1/org/branches", headers=headers,
                             json={"code": f"R{uuid.uuid4().hex[:10]}", "name": "请求编号"})


async def _audited_request_id(db: Any, slug: str, entity_id: str) -> str | None:
    async with db.tenant_session(f"t_{slug}") as session:
        return await session.scalar(select(tenant_audit.c.request_id).where(tenant_audit.c.entity_id == entity_id))


@pytest.mark.parametrize("sent", ODD_IDS)
async def test_an_odd_request_id_is_replaced_not_stored(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                        sent: str) -> None:
    slug = await new_tenant("rqid")
    created = await _branch(client, bearer(mint(tenant=slug, subject=TEST_CLIENT)), sent)
    assert created.status_code == 201, created.text
    answered = created.headers["x-request-id"]
    assert answered != sent and acceptable_request_id(answered)
    assert await _audited_request_id(db, slug, created.json()["id"]) == answered


async def test_a_good_request_id_is_kept_and_generated_when_absent(client: Any, db: Any, new_tenant: Any,
                                                                   mint: Any) -> None:
    slug = await new_tenant("rqid")
    auth = bearer(mint(tenant=slug, subject=TEST_CLIENT))
    for sent in ["f3b1c2d4-1111-4c7a-9e55-0123456789ab", "trace.42:span-7_x", "A" * 100]:
        created = await _branch(client, auth, sent)
        assert created.status_code == 201 and created.headers["x-request-id"] == sent
        assert await _audited_request_id(db, slug, created.json()["id"]) == sent
    first, second = await _branch(client, auth, None), await _branch(client, auth, None)
    assert acceptable_request_id(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert await _audited_request_id(db, slug, first.json()["id"]) == first.headers["x-request-id"]


async def test_every_answer_carries_the_request_id(client: Any) -> None:
    answers = [
        await client.get("/health/live"),
        await client.get("/no/such/route", headers={"X-Request-Id": "lost-1"}),  # no route: 404
        await client.get("/api/v1/org/group", headers={"X-Request-Id": "lost-2"}),  # no token: 401
        await client.delete("/health/live", headers={"X-Request-Id": "lost-3"}),  # 405
        await client.post("/oauth/password-reset", json={"tenant": 7}, headers={"X-Request-Id": "lost-4"}),  # 422
        await client.get("/oauth/authorize", headers={"X-Request-Id": "lost-5"}),  # 400 page
        await client.get("/schema/openapi.json", headers={"X-Request-Id": "x" * 300}),
    ]
    assert [a.status_code for a in answers] == [200, 404, 401, 405, 422, 400, 200]
    assert [a.headers.get("x-request-id") for a in answers[1:6]] == [f"lost-{i}" for i in range(1, 6)]
    assert acceptable_request_id(answers[0].headers.get("x-request-id"))
    assert acceptable_request_id(answers[-1].headers.get("x-request-id"))


async def test_password_reset_answers_the_same_whatever_the_request_id(client: Any, db: Any,
                                                                       new_tenant: Any) -> None:
    """A 101-character id made the reset of an existing account with a mail address fail (500)
    while an unknown account got 202: a way to tell which accounts exist."""
    from app.auth.services import create_account

    slug = await new_tenant("rqid")
    username = f"u{uuid.uuid4().hex[:10]}"
    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        from app.tenants.models import Tenant

        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        await create_account(session, tenant_id=tenant_id, kind=AccountKind.staff, username=username,
                             display_name="Reset", password=None, scopes=["account:self"],
                             email=f"{username}@example.com")
    for who in (username, "nobody-at-all"):
        answer = await client.post("/oauth/password-reset", json={"tenant": slug, "username": who},
                                   headers={"X-Request-Id": "r" * 101})
        assert answer.status_code == 202, answer.text
    async with db.platform_session() as session:
        queued = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient == f"{username}@example.com"))).all()
    assert len(queued) == 1  # the mail was written


async def test_log_records_carry_the_request_id(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Including those made in the worker thread the authorization server runs in."""
    caplog.set_level(logging.DEBUG, logger="authlib")
    answer = await client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "nobody",
                                                     "client_secret": "x"}, headers={"X-Request-Id": "log-me-1"})
    assert answer.json()["error"] == "invalid_client", answer.text
    made = [r for r in caplog.records if r.name.startswith("authlib")]
    assert made, "authlib logged nothing for the failed client authentication"
    assert {getattr(r, "request_id", None) for r in made} == {"log-me-1"}


async def test_an_invalid_host_is_a_400_problem(client: Any) -> None:
    """Building the request's URL parses the Host header: a port that is no number made every
    error handler fail in turn (a 500 whose own log line raised)."""
    for host in (b"api.example:None", b"a b", b"x:99999", b'"quoted"'):
        for path in ("/api/v1/org/group", "/oauth/authorize", "/no/such/route"):
            answer = await client.get(path, headers={"Host": host})
            assert answer.status_code in (400, 404), (host, path, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    assert (await client.get("/api/v1/org/group", headers={"Host": b"x:None"})).json()["type"] == \
        "urn:cornerstone:problem:malformed-request"
    assert (await client.get("/health/live", headers={"Host": b"api.example.cn:8443"})).status_code == 200
