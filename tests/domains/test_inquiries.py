"""Inquiries over HTTP: the first responder owns one, transfers carry a need and are counted,
a transfer past the tenant's limit needs a supervisor, answers end the overdue clock, and
open inquiries move to customer affairs on their project's handover date."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.auth.models import AccountKind
from app.core import clock
from app.core.audit import SYSTEM, Actor, tenant_audit
from app.domains.inquiries import services, tasks
from app.domains.inquiries.models import Inquiry
from tests.conftest import OPERATOR, bearer, subject_of
from tests.grants import grant
from tests.worker.conftest import Worker, wait_for

BASE = "/api/v1/inquiries"
PROBLEM = "urn:cornerstone:problem:"


async def _post(client: Any, url: str, auth: dict[str, str], body: dict[str, Any], status: int = 201) -> Any:
    response = await client.post(url, json=body, headers=auth)
    assert response.status_code == status, response.text
    return response


async def _project(client: Any, auth: dict[str, str], handover: str | None = "2030-01-01") -> dict[str, Any]:
    branch = (await _post(client, "/api/v1/org/branches", auth,
                          {"code": f"B{uuid.uuid4().hex[:8]}", "name": "分公司"})).json()
    return (await _post(client, "/api/v1/org/projects", auth, {
        "branchId": branch["id"], "code": f"P{uuid.uuid4().hex[:8]}", "name": "项目",
        "handoverDate": handover})).json()


def _later(hours: float = 4) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _inquiry(project: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"channel": "hotline", "projectId": project["id"], "subject": "车位什么时候交付",
            "description": "Caller asks when the parking spaces are handed over.", "promisedReplyAt": _later(),
            "contactNote": "李先生 138 0000 0000", **extra}


async def _audit(db: Any, slug: str, inquiry_id: str) -> list[str]:
    async with db.tenant_transaction(f"t_{slug}") as session:
        return list((await session.scalars(select(tenant_audit.c.action).where(
            tenant_audit.c.entity_id == inquiry_id).order_by(tenant_audit.c.id))).all())


async def _colleague(db: Any, slug: str, project: dict[str, Any] | None,
                     permissions: tuple[str, ...] = ("inquiries.read", "inquiries.write"), *,
                     kind: AccountKind = AccountKind.staff) -> str:
    """An account of the tenant holding ``permissions`` at the project (none when None)."""
    from app.auth.services import create_account
    from app.tenants.models import Tenant

    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        tenant = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        account = await create_account(session, tenant_id=tenant, kind=kind, username=f"c{uuid.uuid4().hex[:10]}",
                                       display_name="Colleague", password=None, scopes=["inquiries:write"])
    if project is not None:
        await grant(db, slug, account.id, permissions, uuid.UUID(project["id"]))
    return str(account.id)


async def test_create_transfer_answer(client: Any, new_tenant: Any, mint: Any, db: Any) -> None:
    slug = await new_tenant("inq")
    auth = bearer(mint(tenant=slug))
    project = await _project(client, auth)
    missing = await _post(client, BASE, auth, _inquiry(project, contactNote=None), 422)
    assert [e["field"] for e in missing.json()["errors"]] == ["contactNote"]
    unknown = await _post(client, BASE, auth, _inquiry(project, customerId=str(uuid.uuid4())), 404)
    assert [e["field"] for e in unknown.json()["errors"]] == ["customerId"]

    body = _inquiry(project)
    created = await _post(client, BASE, {**auth, "Idempotency-Key": "inq-1"}, body)
    again = await _post(client, BASE, {**auth, "Idempotency-Key": "inq-1"}, body)
    inquiry = created.json()
    assert again.json()["id"] == inquiry["id"]
    assert inquiry["number"].startswith("ZX-") and inquiry["status"] == "open"
    assert inquiry["ownerId"] == subject_of(auth) and inquiry["department"] == "project_department"
    assert inquiry["transferCount"] == 0 and inquiry["overdue"] is False
    url = created.headers["location"]

    colleague = await _colleague(db, slug, project)
    body = {"toOwnerId": colleague, "need": "Ask engineering for the parking handover schedule."}
    assert (await _post(client, f"{url}/transfer", auth, body, 428)).json()["type"] == PROBLEM + "precondition-required"
    moved = await _post(client, f"{url}/transfer", {**auth, "If-Match": created.headers["etag"]}, body, 200)
    assert moved.json()["ownerId"] == colleague and moved.json()["transferCount"] == 1
    assert [(t["fromOwnerId"], t["toOwnerId"], t["need"]) for t in moved.json()["transfers"]] == [
        (subject_of(auth), colleague, body["need"])]
    stale = await _post(client, f"{url}/transfer", {**auth, "If-Match": created.headers["etag"]}, body, 412)
    assert stale.json()["type"] == PROBLEM + "precondition-failed"

    answered = await _post(client, f"{url}/answer", {**auth, "If-Match": moved.headers["etag"]},
                           {"answer": "Parking spaces are handed over with the flats in June."}, 200)
    assert answered.json()["status"] == "answered" and answered.json()["answeredAt"]
    closed = await _post(client, f"{url}/answer", {**auth, "If-Match": answered.headers["etag"]},
                         {"answer": "again"}, 409)
    assert closed.json()["type"] == PROBLEM + "conflict"
    assert await _audit(db, slug, inquiry["id"]) == ["inquiries.create", "inquiries.transfer", "inquiries.answer"]


async def test_transfer_limit_needs_a_supervisor(client: Any, new_tenant: Any, mint: Any, db: Any) -> None:
    slug = await new_tenant("inqlim")
    admin = bearer(mint(tenant=slug))
    project = await _project(client, admin)
    clerk_id, supervisor_id = str(uuid.uuid4()), str(uuid.uuid4())
    await grant(db, slug, clerk_id, ["inquiries.read", "inquiries.write"], uuid.UUID(project["id"]))
    await grant(db, slug, supervisor_id, ["inquiries.read", "inquiries.write", "inquiries.supervise"],
                uuid.UUID(project["id"]))
    clerk = bearer(mint(tenant=slug, subject=clerk_id))
    supervisor = bearer(mint(tenant=slug, subject=supervisor_id))
    created = await _post(client, BASE, clerk, _inquiry(project))
    url, tag = created.headers["location"], created.headers["etag"]
    for n in range(2):  # the default limit: two transfers
        moved = await _post(client, f"{url}/transfer", {**clerk, "If-Match": tag},
                            {"toOwnerId": await _colleague(db, slug, project), "need": f"step {n}"}, 200)
        tag = moved.headers["etag"]
    third = {"toOwnerId": await _colleague(db, slug, project), "need": "Nobody so far could answer."}
    refused = await _post(client, f"{url}/transfer", {**clerk, "If-Match": tag}, third, 403)
    assert "inquiries.supervise" in refused.json()["detail"]
    allowed = await _post(client, f"{url}/transfer", {**supervisor, "If-Match": tag}, third, 200)
    assert allowed.json()["transferCount"] == 3


async def test_the_next_owner_must_be_a_colleague_who_can_handle_it(client: Any, new_tenant: Any, mint: Any,
                                                                    db: Any) -> None:
    """Any UUID used to be accepted as the next owner: another group's staff, an owner account,
    nobody at all; the inquiry then sat with someone who could not even see it."""
    slug, elsewhere = await new_tenant("inqto"), await new_tenant("inqto")
    auth = bearer(mint(tenant=slug))
    project = await _project(client, auth)
    created = await _post(client, BASE, auth, _inquiry(project))
    url, tag = created.headers["location"], created.headers["etag"]

    async def disabled() -> str:
        from app.auth.models import Account, AccountStatus

        account_id = await _colleague(db, slug, project)
        async with db.platform_transaction() as session:
            row = await session.get(Account, uuid.UUID(account_id))
            assert row is not None
            row.status = AccountStatus.disabled
        return account_id

    for to_owner, status in [(str(uuid.uuid4()), 404),  # nobody
                             (await _colleague(db, elsewhere, None), 404),  # another group's staff
                             (await _colleague(db, slug, project, kind=AccountKind.owner), 422),  # a home owner
                             (await disabled(), 422),
                             (await _colleague(db, slug, None), 422),  # no role at the project
                             (await _colleague(db, slug, project, ("inquiries.read",)), 422)]:
        refused = await _post(client, f"{url}/transfer", {**auth, "If-Match": tag},
                              {"toOwnerId": to_owner, "need": "over to you"}, status)
        assert [e["field"] for e in refused.json()["errors"]] == ["toOwnerId"], refused.text
    got = await client.get(url, headers=auth)
    assert got.json()["transferCount"] == 0 and got.json()["ownerId"] == subject_of(auth)


async def test_no_permission_is_forbidden_or_unseen(client: Any, new_tenant: Any, mint: Any, db: Any) -> None:
    slug = await new_tenant("inqperm")
    admin = bearer(mint(tenant=slug))
    project, other = await _project(client, admin), await _project(client, admin)
    created = await _post(client, BASE, admin, _inquiry(project))
    reader_id = str(uuid.uuid4())
    await grant(db, slug, reader_id, ["inquiries.read"], uuid.UUID(project["id"]))
    reader = bearer(mint(tenant=slug, subject=reader_id))
    assert (await _post(client, BASE, reader, _inquiry(project), 403)).json()["type"] == PROBLEM + "forbidden"
    # A project outside one's subtree is no project at all.
    assert (await _post(client, BASE, reader, _inquiry(other), 404)).json()["errors"][0]["field"] == "projectId"
    got = await client.get(created.headers["location"], headers=reader)
    assert got.status_code == 200
    await _post(client, f"{created.headers['location']}/answer",
                {**reader, "If-Match": got.headers["etag"]}, {"answer": "x"}, 403)
    nobody = bearer(mint(tenant=slug, subject=str(uuid.uuid4())))
    assert (await client.get(created.headers["location"], headers=nobody)).status_code == 404
    assert (await client.get(BASE, headers=nobody)).json()["total"] == 0
    no_scope = bearer(mint(tenant=slug, scopes=["org:read"]))
    assert (await client.get(BASE, headers=no_scope)).status_code == 403


async def test_overdue_and_mine(client: Any, new_tenant: Any, mint: Any, monkeypatch: Any) -> None:
    slug = await new_tenant("inqdue")
    auth = bearer(mint(tenant=slug))
    project = await _project(client, auth)
    soon = await _post(client, BASE, auth, _inquiry(project, promisedReplyAt=_later(1)))
    later = await _post(client, BASE, auth, _inquiry(project, promisedReplyAt=_later(10)))
    answered = await _post(client, BASE, auth, _inquiry(project, promisedReplyAt=_later(1)))
    await _post(client, f"{answered.headers['location']}/answer", {**auth, "If-Match": answered.headers["etag"]},
                {"answer": "Done."}, 200)
    mine = await client.get(f"{BASE}?mine=true", headers=auth)
    assert mine.json()["total"] == 3
    assert (await client.get(f"{BASE}?overdue=true", headers=auth)).json()["total"] == 0

    # Two hours on: the first inquiry's promised time has passed, the answered one is never late.
    now = datetime.now(UTC) + timedelta(hours=2)
    monkeypatch.setattr(clock, "utcnow", lambda: now)
    overdue = (await client.get(f"{BASE}?overdue=true&mine=true", headers=auth)).json()
    assert [i["id"] for i in overdue["items"]] == [soon.json()["id"]] and overdue["items"][0]["overdue"] is True
    on_time = (await client.get(f"{BASE}?overdue=false", headers=auth)).json()
    assert {i["id"] for i in on_time["items"]} == {later.json()["id"], answered.json()["id"]}
    assert (await client.get(f"{BASE}?overdue=true&mine=false", headers=auth)).json()["total"] == 0


async def test_handover_switch_on_the_date(client: Any, new_tenant: Any, mint: Any, db: Any,
                                           monkeypatch: Any) -> None:
    slug = await new_tenant("inqho", time_zone="Asia/Shanghai")
    auth = bearer(mint(tenant=slug))
    handover = date(2031, 6, 1)
    project = await _project(client, auth, handover.isoformat())
    open_one = (await _post(client, BASE, auth, _inquiry(project))).json()
    answered = await _post(client, BASE, auth, _inquiry(project))
    await _post(client, f"{answered.headers['location']}/answer", {**auth, "If-Match": answered.headers["etag"]},
                {"answer": "Done."}, 200)

    async def switch(at: datetime) -> int:
        monkeypatch.setattr(clock, "utcnow", lambda: at)
        async with db.tenant_transaction(f"t_{slug}") as session:
            session.info["actor"] = SYSTEM
            return await services.switch_at_handover(session)

    # 16:01 UTC on the eve is already the handover day in Shanghai (UTC+8).
    assert await switch(datetime(2031, 5, 31, 15, 59, tzinfo=UTC)) == 0
    assert await switch(datetime(2031, 5, 31, 16, 1, tzinfo=UTC)) == 1
    assert await switch(datetime(2031, 6, 2, tzinfo=UTC)) == 0  # nothing left to move
    got = (await client.get(f"{BASE}/{open_one['id']}", headers=auth)).json()
    assert got["department"] == "customer_affairs" and got["version"] == open_one["version"] + 1
    still = (await client.get(answered.headers["location"], headers=auth)).json()
    assert still["department"] == "project_department"
    assert await _audit(db, slug, open_one["id"]) == ["inquiries.create", "inquiries.handover"]
    # From the handover date on, a new inquiry belongs to customer affairs at once.
    assert (await _post(client, BASE, auth, _inquiry(project, promisedReplyAt=(
        datetime(2031, 6, 2, 4, tzinfo=UTC)).isoformat()))).json()["department"] == "customer_affairs"


async def test_the_beat_task_switches_through_the_worker(client: Any, worker: Worker, new_tenant: Any, mint: Any,
                                                         db: Any) -> None:
    slug = await new_tenant("inqbeat")
    auth = bearer(mint(tenant=slug))
    project = await _project(client, auth)
    inquiry = (await _post(client, BASE, auth, _inquiry(project))).json()
    got = await client.get(f"/api/v1/org/projects/{project['id']}", headers=auth)
    # The handover date is brought forward to a past day: the next run moves the inquiry.
    changed = await client.patch(f"/api/v1/org/projects/{project['id']}", json={"handoverDate": "2020-01-01"},
                                 headers={**auth, "If-Match": got.headers["etag"]})
    assert changed.status_code == 200, changed.text
    tasks.handover_switch.apply_async()

    async def moved() -> bool:
        async with db.tenant_transaction(f"t_{slug}") as session:
            row = await session.get(Inquiry, uuid.UUID(inquiry["id"]))
            return row is not None and row.department.value == "customer_affairs"

    assert await wait_for(worker, moved, "the handover switch")
