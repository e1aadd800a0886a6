"""Audit completeness: every write the API accepts leaves an audit record, in its own
transaction.

The write routes (POST, PUT, PATCH, DELETE under /api and /platform) are read from the app;
each gets a valid request from the route catalogue (tests/routes.py), and must answer 2xx
and append at least one record to the audit log of the right schema (the tenant's for /api,
the platform's for /platform). Records are told apart by the request's X-Request-Id, which
the audit log stores, so nothing else writing at the same time can make a route pass.

A route the document says honours Idempotency-Key gets one: the same request sent again with
that key must be answered from the first (``Idempotent-Replayed``, same status) and write
nothing, so a client's retry never makes a second record.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, text

from app.core.audit import platform_audit, tenant_audit
from app.core.idempotency import accepts_key
from tests.conftest import bearer
from tests.routes import (
    BODY_METHODS,
    CLIENT,
    FACTORIES,
    WRITE_METHODS,
    Ctx,
    missing_factory,
    operations,
    reads_if_match,
    takes_body,
    url,
)


async def audit_records(db: Any, schema: str | None, request_id: str) -> int:
    """Audit records of one request in ``schema`` (the platform's when None)."""
    if schema is None:
        async with db.platform_session() as session:
            return await session.scalar(
                select(func.count()).select_from(platform_audit).where(platform_audit.c.request_id == request_id))
    async with db.tenant_session(schema) as session:
        return await session.scalar(
            select(func.count()).select_from(tenant_audit).where(tenant_audit.c.request_id == request_id))


def _request_id() -> str:
    return f"audit-gate-{uuid.uuid4().hex}"


async def test_every_successful_write_is_audited(client: Any, app: Any, db: Any, new_tenant: Any,
                                                 mint: Any) -> None:
    tenant = await new_tenant("audit_gate")
    ctx = Ctx(client=client, db=db, tenant=tenant, subject=CLIENT, mark=uuid.uuid4().hex[:8],
              auth=bearer(mint(tenant=tenant, subject=CLIENT)), operator=bearer(mint()), shared={})
    writes = [(r, m, h) for r, m, h in operations(app) if m in WRITE_METHODS]
    assert writes, "expected write routes under /api and /platform"
    missing = sorted({r.path for r, _, _ in writes if r.path not in FACTORIES})
    assert not missing, missing_factory(missing)

    unaudited: list[str] = []
    not_replayed: list[str] = []
    for route, method, handler in writes:
        where = f"{method} {route.path}"
        made = await FACTORIES[route.path](ctx)
        platform = route.path.startswith("/platform/")
        request_id = _request_id()
        headers = {**(made.auth or (ctx.operator if platform else ctx.auth)), "X-Request-Id": request_id}
        if reads_if_match(handler):
            assert made.url, f"{where} reads If-Match: its factory must give the URL that shows the ETag"
            current = await client.get(made.url, headers=headers)
            assert current.status_code == 200, f"{where}: GET {made.url}: {current.text}"
            headers["If-Match"] = current.headers["etag"]
        body = made.bodies.get(method)
        if method in BODY_METHODS and takes_body(handler):
            assert body is not None, f"{where}: its factory in tests/routes.py must give a valid {method} body"
        if accepts_key(method, handler.status_code or 0, handler.opt):
            headers["Idempotency-Key"] = uuid.uuid4().hex

        target = url(route, made.params)
        if isinstance(body, bytes):  # a file upload (e.g. CSV), sent as is
            request = client.build_request(method, target, content=body,
                                           headers={**headers, "Content-Type": made.content_type or ""})
        else:
            request = client.build_request(method, target, headers=headers, json=body)
        response = await client.send(request)
        assert 200 <= response.status_code < 300, (
            f"{where} with the catalogue's request: {response.status_code} {response.text}; "
            "fix the factory in tests/routes.py or the route")
        schema = None if platform else f"t_{tenant}"
        audited = await audit_records(db, schema, request_id)
        if not audited:
            unaudited.append(where)
        if "Idempotency-Key" in headers:
            again = await client.send(request)
            if (again.status_code, again.headers.get("idempotent-replayed")) != (response.status_code, "true") \
                    or await audit_records(db, schema, request_id) != audited:
                not_replayed.append(f"{where}: {again.status_code} {again.text[:200]}")
    assert not unaudited, f"these writes succeeded without an audit record (audit.record in the service): {unaudited}"
    assert not not_replayed, ("these routes are documented as honouring Idempotency-Key, but a retry with the key "
                              f"was not answered from the first request (wrap the handler in idempotent()): "
                              f"{not_replayed}")


async def test_a_refused_write_leaves_no_audit_record(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    tenant = await new_tenant("audit_dup")
    auth = bearer(mint(tenant=tenant, subject=CLIENT))
    body = {"code": f"D{uuid.uuid4().hex[:8]}", "name": "Twice"}
    first = _request_id()
    created = await client.post("/api/v1/org/branches", json=body, headers={**auth, "X-Request-Id": first})
    assert created.status_code == 201, created.text
    assert await audit_records(db, f"t_{tenant}", first) >= 1
    again = _request_id()
    duplicate = await client.post("/api/v1/org/branches", json=body, headers={**auth, "X-Request-Id": again})
    assert duplicate.status_code == 409, duplicate.text
    assert await audit_records(db, f"t_{tenant}", again) == 0


async def test_a_write_failing_after_its_audit_record_leaves_neither(client: Any, db: Any, new_tenant: Any,
                                                                    mint: Any) -> None:
    # "Same transaction", proven end to end: a constraint trigger on this tenant's audit log
    # fails at COMMIT for one request's records, i.e. after the branch and its record were
    # written. Neither may remain, and the client must not be told it succeeded.
    tenant = await new_tenant("audit_tx")
    schema = f"t_{tenant}"
    doomed = f"doomed-{uuid.uuid4().hex}"
    async with db.platform_transaction() as session:
        await session.execute(text(
            f'CREATE FUNCTION "{schema}".fail_doomed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
            f"IF NEW.request_id = '{doomed}' THEN RAISE EXCEPTION 'failing at commit, after the audit record'; "
            "END IF; RETURN NULL; END $$"))
        await session.execute(text(
            f'CREATE CONSTRAINT TRIGGER fail_doomed AFTER INSERT ON "{schema}".audit_log '
            f'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "{schema}".fail_doomed()'))

    auth = bearer(mint(tenant=tenant, subject=CLIENT))
    code = f"X{uuid.uuid4().hex[:8]}"
    failed = await client.post("/api/v1/org/branches", json={"code": code, "name": "Doomed"},
                               headers={**auth, "X-Request-Id": doomed})
    assert failed.status_code == 500, failed.text
    assert await audit_records(db, schema, doomed) == 0
    listed = await client.get("/api/v1/org/branches", params={"code": code}, headers=auth)
    assert listed.status_code == 200 and listed.json()["total"] == 0, listed.text

    # The same request under another id commits: the trigger, not the request, failed it.
    ok = _request_id()
    created = await client.post("/api/v1/org/branches", json={"code": code, "name": "Fine"},
                                headers={**auth, "X-Request-Id": ok})
    assert created.status_code == 201, created.text
    assert await audit_records(db, schema, ok) >= 1
