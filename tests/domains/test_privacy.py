"""People's privacy requests over HTTP (PIPL arts. 44-47): filed with a deadline, the
person's words sealed and shown only with a reason; a copy built by the real worker from
every domain's declaration and handed over once audited; an erasure that anonymises or
keeps per kind of record; the deadline scan; retention rules and the retention scan."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, text, update

from app.core import clock
from app.core.audit import SYSTEM, tenant_audit
from app.core.personal import Erasure, Holding, PersonalData, Retention
from app.domains.privacy import registry
from app.domains.privacy.models import PrivacyRequest
from app.domains.privacy.tasks import deadline_tenant, retention_tenant
from app.fanout.tasks import BoundTenant
from tests.domains.customers_helpers import World, create, make_world, ok, person
from tests.domains.test_approvals import as_, assign, make_account
from tests.worker.conftest import wait_for

API = "/api/v1/privacy"
REQUESTS = f"{API}/requests"
PROBLEM = "urn:cornerstone:problem:"
WORDS = "我的地址写错了 canary-words-7f3a"


async def _file(client: Any, world: World, kind: str, customer_id: str, **extra: Any) -> Any:
    return await client.post(REQUESTS, headers=world.admin, json={
        "customerId": customer_id, "kind": kind, "channel": "phone", "details": WORDS, **extra})


async def _actions(db: Any, slug: str, entity_id: str) -> list[str]:
    async with db.tenant_session(f"t_{slug}") as session:
        return list((await session.scalars(select(tenant_audit.c.action).where(
            tenant_audit.c.entity_id == entity_id).order_by(tenant_audit.c.id))).all())


async def _raw(db: Any, slug: str, sql: str) -> str:
    """Every row of a table (or the audit log) as text, to hunt a canary value in."""
    async with db.tenant_session(f"t_{slug}") as session:
        return " ".join(str(row) for row in (await session.execute(text(sql.format(s=f"t_{slug}")))).all())


async def test_a_request_is_filed_with_its_deadline_and_the_words_sealed(client: Any, db: Any, new_tenant: Any,
                                                                         mint: Any) -> None:
    world = await make_world(client, db, new_tenant, mint, units=1, prefix="pv")
    customer = await create(client, world)
    made = await _file(client, world, "correction", customer["id"])
    assert made.status_code == 201, made.text
    r = made.json()
    assert made.headers["location"] == f"{REQUESTS}/{r['id']}"
    assert r["number"].startswith("GR-") and r["status"] == "open" and r["hasDetails"] is True
    assert r["nodeId"] == customer["nodeId"] and not r["overdue"]
    today = clock.utcnow().date()
    assert today + timedelta(days=14) <= date.fromisoformat(r["dueOn"]) <= today + timedelta(days=16)
    assert WORDS not in made.text
    # The words are sealed in the table and never in the audit trail.
    assert "canary-words" not in await _raw(db, world.slug, "SELECT * FROM {s}.privacy_requests")
    assert "canary-words" not in await _raw(db, world.slug, "SELECT * FROM {s}.audit_log")
    # Shown with a reason, and the showing is audited.
    shown = await ok(await client.post(f"{REQUESTS}/{r['id']}/details", headers=world.admin,
                                       json={"reason": "answering the request"}), 200)
    assert shown == {"details": WORDS}
    assert await _actions(db, world.slug, r["id"]) == ["privacy.request.file", "privacy.request.reveal"]
    # A customer not there for the caller is named in the error.
    missing = await _file(client, world, "access", str(uuid.uuid4()))
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "customerId", missing.text
    # Completed with an answer; then it is no longer open.
    etag = (await client.get(f"{REQUESTS}/{r['id']}", headers=world.admin)).headers["etag"]
    done = await ok(await client.post(f"{REQUESTS}/{r['id']}/complete", headers={**world.admin, "If-Match": etag},
                                      json={"answer": "地址已更正"}), 200)
    assert done["status"] == "completed" and done["answer"] == "地址已更正" and done["answeredAt"]
    again = await client.post(f"{REQUESTS}/{r['id']}/refuse", json={"answer": "no"},
                              headers={**world.admin, "If-Match": f'"{done["version"]}"'})
    assert again.status_code == 409 and "needs it to be open" in again.json()["detail"], again.text
    # An access request is not completed by hand: its copy is handed over.
    access = (await _file(client, world, "access", customer["id"])).json()
    wrong = await client.post(f"{REQUESTS}/{access['id']}/complete", json={"answer": "x"},
                              headers={**world.admin, "If-Match": f'"{access["version"]}"'})
    assert wrong.status_code == 409 and "deliver its copy" in wrong.json()["detail"], wrong.text


# A domain joining later: its holding of the person is in the copy and in the erasure.
_SIDE: dict[uuid.UUID, str] = {}


async def _side_collect(session: Any, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    return [{"note": _SIDE[customer_id]}] if customer_id in _SIDE else []


async def _side_erase(session: Any, customer_id: uuid.UUID) -> Erasure:
    return Erasure(kind="test.side", anonymised=int(_SIDE.pop(customer_id, None) is not None))


async def _side_anonymise(session: Any, cutoff: Any, batch: int) -> int:
    return 0


SIDE = PersonalData(holdings=(Holding("test.side", "A later domain's notes.", _side_collect, _side_erase),),
                    retention=(Retention("test.side_notes", "Notes.", 10, _side_anonymise),))


async def test_a_copy_holds_every_domains_records_and_is_handed_over_once_audited(
        client: Any, db: Any, new_tenant: Any, mint: Any, worker: Any, monkeypatch: Any) -> None:
    world = await make_world(client, db, new_tenant, mint, units=1, prefix="pvc")
    customer = await create(client, world)
    monkeypatch.setattr(registry, "declarations", lambda: [*_declared(), SIDE])
    r = (await _file(client, world, "access", customer["id"])).json()
    # Not yet built: nothing to hand over.
    early = await client.post(f"{REQUESTS}/{r['id']}/deliver", headers=world.admin, json={"reason": "too soon"})
    assert early.status_code == 409 and "build it first" in early.json()["detail"], early.text
    started = await client.post(f"{REQUESTS}/{r['id']}/package", headers={**world.admin, "If-Match": '"1"'})
    assert started.status_code == 202, started.text
    job_url = started.headers["location"]

    async def finished() -> Any:
        job = (await client.get(job_url, headers=world.admin)).json()
        return job if job["status"] in ("succeeded", "failed") else None

    job = await wait_for(worker, finished, "the copy's job")
    assert job["status"] == "succeeded", job
    # The worker's process has no test domain: its copy holds the declared domains' records.
    assert {"kind": "privacy.requests", "records": 1} in job["result"]["items"]
    assert "canary-words" not in await _raw(db, world.slug, "SELECT * FROM {s}.privacy_requests")
    assert "canary-words" not in await _raw(db, world.slug, "SELECT * FROM {s}.jobs")
    got = (await client.get(f"{REQUESTS}/{r['id']}", headers=world.admin)).json()
    assert got["packageReady"] is True and got["status"] == "open"
    package = await ok(await client.post(f"{REQUESTS}/{r['id']}/deliver", headers=world.admin,
                                         json={"reason": "handed to the owner at the sales office"}), 200)
    assert package["customerId"] == customer["id"]
    assert [x["number"] for x in package["sections"]["privacy.requests"]] == [r["number"]]
    after = (await client.get(f"{REQUESTS}/{r['id']}", headers=world.admin)).json()
    assert after["status"] == "completed" and after["answer"].startswith("Copy handed over")
    actions = await _actions(db, world.slug, r["id"])
    assert actions == ["privacy.request.file", "privacy.package.start", "privacy.package.build",
                       "privacy.package.deliver"]
    # In this process the later domain's holding is read too (the same call the job makes).
    from app.domains.privacy import services

    _SIDE[uuid.UUID(customer["id"])] = "side note"
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        session.info["actor"] = SYSTEM
        row = await session.scalar(select(PrivacyRequest).where(PrivacyRequest.id == uuid.UUID(r["id"])))
        assert row is not None
        row.status = services.RequestStatus.open
        job2 = await services.start_package(session, _trusted(), row, "")
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        session.info["actor"] = SYSTEM
        assert await services.build_package(session, job2.id)
    package = await ok(await client.post(f"{REQUESTS}/{r['id']}/deliver", headers=world.admin,
                                         json={"reason": "again"}), 200)
    assert package["sections"]["test.side"] == [{"note": "side note"}]


def _declared() -> list[PersonalData]:
    from app.domains import domains

    return [d.personal_data() for d in domains() if d.personal]


def _trusted() -> Any:
    from app.domains.access.authz import trusted

    return trusted()


async def test_an_erasure_anonymises_or_keeps_each_kind_and_says_why(client: Any, db: Any, new_tenant: Any,
                                                                     mint: Any, monkeypatch: Any) -> None:
    world = await make_world(client, db, new_tenant, mint, units=1, prefix="pve")
    customer = await create(client, world)
    monkeypatch.setattr(registry, "declarations", lambda: [*_declared(), SIDE])
    _SIDE[uuid.UUID(customer["id"])] = "to go"
    r = (await _file(client, world, "erasure", customer["id"])).json()
    # Erasure needs privacy.erase: a clerk with read and write only is refused.
    clerk = await make_account(db, world.org, "clerk")
    role = await ok(await client.post("/api/v1/access/roles", headers=world.admin, json={
        "code": f"pc{uuid.uuid4().hex[:6]}", "name": "Privacy clerk",
        "permissions": ["privacy.read", "privacy.write"]}))
    await ok(await client.post("/api/v1/access/assignments", headers=world.admin, json={
        "accountId": str(clerk), "roleId": role["id"], "nodeId": str(world.org.root)}))
    as_clerk = as_(mint, world.org, clerk)
    refused = await client.post(f"{REQUESTS}/{r['id']}/erase", json={"answer": "x"},
                                headers={**as_clerk, "If-Match": f'"{r["version"]}"'})
    assert refused.status_code == 403 and "privacy.erase" in refused.json()["detail"], refused.text
    done = await ok(await client.post(f"{REQUESTS}/{r['id']}/erase", json={"answer": "已删除，合同依法保留"},
                                      headers={**world.admin, "If-Match": f'"{r["version"]}"'}), 200)
    assert done["status"] == "completed" and done["hasDetails"] is False
    items = {i["kind"]: i for i in done["items"]}
    assert items["test.side"]["anonymised"] == 1 and uuid.UUID(customer["id"]) not in _SIDE
    assert items["privacy.requests"]["kept"] == 1 and "proof" in items["privacy.requests"]["reason"]
    assert "canary-words" not in await _raw(db, world.slug, "SELECT * FROM {s}.privacy_requests")


async def test_the_deadline_scan_notes_late_requests_once(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    world = await make_world(client, db, new_tenant, mint, units=1, prefix="pvd")
    customer = await create(client, world)
    late = (await _file(client, world, "access", customer["id"])).json()
    on_time = (await _file(client, world, "access", customer["id"])).json()
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        await session.execute(update(PrivacyRequest).where(PrivacyRequest.id == uuid.UUID(late["id"]))
                              .values(due_on=clock.utcnow().date() - timedelta(days=1)))
    tenant = BoundTenant(db=db, slug=world.slug)
    assert await deadline_tenant(tenant) == {"overdue": 1}
    assert await deadline_tenant(tenant) == {"overdue": 0}
    listed = (await client.get(REQUESTS, headers=world.admin, params={"overdue": "true"})).json()
    assert [i["id"] for i in listed["items"]] == [late["id"]] and listed["items"][0]["overdue"] is True
    others = (await client.get(REQUESTS, headers=world.admin, params={"overdue": "false"})).json()
    assert [i["id"] for i in others["items"]] == [on_time["id"]]
    assert (await _actions(db, world.slug, late["id"]))[-1] == "privacy.request.overdue"


async def test_retention_rules_and_the_scan(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    world = await make_world(client, db, new_tenant, mint, units=1, prefix="pvr")
    customer = await create(client, world)
    url = f"{API}/retention-rules"
    got = await client.get(url, headers=world.admin)
    assert got.status_code == 200 and got.headers["etag"] == '"0"', got.text
    rule = next(x for x in got.json()["rules"] if x["kind"] == "privacy.request_contents")
    assert rule == {"kind": "privacy.request_contents", "description": rule["description"], "defaultDays": 30,
                    "days": 30, "enabled": True, "customised": False}
    body = {"rules": [{"kind": "privacy.request_contents", "days": 60}]}
    assert (await client.put(url, json=body, headers=world.admin)).status_code == 428
    stale = await client.put(url, json=body, headers={**world.admin, "If-Match": '"3"'})
    assert stale.status_code == 412, stale.text
    put = await client.put(url, json=body, headers={**world.admin, "If-Match": '"0"'})
    assert put.status_code == 200, put.text
    mine = next(x for x in put.json()["rules"] if x["kind"] == "privacy.request_contents")
    assert mine["days"] == 60 and mine["customised"] and put.json()["version"] == 1
    unknown = await client.put(url, json={"rules": [{"kind": "nothing.here", "days": 5}]},
                               headers={**world.admin, "If-Match": put.headers["etag"]})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "rules.0.kind", unknown.text
    twice = await client.put(url, json={"rules": [body["rules"][0], body["rules"][0]]},
                             headers={**world.admin, "If-Match": put.headers["etag"]})
    assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "rules.1.kind", twice.text
    bad = await client.put(url, json={"rules": [{"kind": "privacy.request_contents", "days": 0}]},
                           headers={**world.admin, "If-Match": put.headers["etag"]})
    assert bad.status_code == 422 and "days" in bad.json()["errors"][0]["field"], bad.text
    # Only the group may set periods.
    clerk = await make_account(db, world.org, "clerk2")
    await assign(db, world.org, clerk, "privacy_officer", world.org.branch)
    refused = await client.put(url, json=body, headers={**as_(mint, world.org, clerk),
                                                         "If-Match": put.headers["etag"]})
    assert refused.status_code == 403, refused.text

    old, fresh = [(await _file(client, world, "correction", customer["id"])).json() for _ in range(2)]
    for r in (old, fresh):
        await ok(await client.post(f"{REQUESTS}/{r['id']}/complete", json={"answer": "done"},
                                   headers={**world.admin, "If-Match": f'"{r["version"]}"'}), 200)
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        await session.execute(update(PrivacyRequest).where(PrivacyRequest.id == uuid.UUID(old["id"]))
                              .values(answered_at=clock.utcnow() - timedelta(days=61)))
    counts = await retention_tenant(BoundTenant(db=db, slug=world.slug))
    assert counts["anonymised"] == 1
    kept = {r["id"]: (await client.get(f"{REQUESTS}/{r['id']}", headers=world.admin)).json()
            for r in (old, fresh)}
    assert kept[old["id"]]["hasDetails"] is False and kept[old["id"]]["number"] == old["number"]
    assert kept[fresh["id"]]["hasDetails"] is True
    runs = await ok(await client.get(f"{API}/retention-runs", headers=world.admin,
                                     params={"kind": "privacy.request_contents"}), 200)
    assert runs["total"] == 1 and runs["items"][0]["anonymised"] == 1 and runs["items"][0]["days"] == 60
    # A disabled rule is skipped.
    await ok(await client.put(url, json={"rules": [{"kind": "privacy.request_contents", "days": 60,
                                                    "enabled": False}]},
                              headers={**world.admin, "If-Match": put.headers["etag"]}), 200)
    await retention_tenant(BoundTenant(db=db, slug=world.slug))
    runs = await ok(await client.get(f"{API}/retention-runs", headers=world.admin,
                                     params={"kind": "privacy.request_contents"}), 200)
    assert runs["total"] == 1


async def _everywhere(client: Any, world: World, customer: dict[str, Any]) -> dict[str, str]:
    """The customer's records in other domains, each with a canary the erasure must remove."""
    auth, project = world.admin, world.project["id"]
    inquiry = await ok(await client.post("/api/v1/inquiries", headers=auth, json={
        "channel": "hotline", "projectId": project, "customerId": customer["id"], "subject": "交付时间",
        "description": "canary-inquiry 业主问交付", "promisedReplyAt": "2999-01-01T00:00:00Z",
        "contactNote": "canary-contact 王先生"}))
    visit = await ok(await client.post("/api/v1/interactions/visits", headers=auth, json={
        "customerId": customer["id"], "purpose": "canary-visit 回访", "plannedAt": "2026-06-18T18:30:00+08:00",
        "location": "canary-place 业主家"}))
    call = await ok(await client.post("/api/v1/interactions/calls", headers=auth, json={
        "direction": "inbound", "startedAt": "2026-06-18T18:30:00+08:00", "durationSeconds": 95,
        "subject": "canary-call 咨询", "outcome": {"kind": "resolved"},
        "customerId": customer["id"], "notes": "canary-notes"}))
    return {"inquiries.inquiries": inquiry["number"], "interactions.visits": visit["number"],
            "interactions.calls": call["id"]}


async def test_every_domain_is_in_the_copy_and_in_the_erasure(client: Any, db: Any, new_tenant: Any,
                                                              mint: Any) -> None:
    from app.domains.privacy import services

    world = await make_world(client, db, new_tenant, mint, units=1, prefix="pva")
    customer = await create(client, world)
    await _everywhere(client, world, customer)
    access = (await _file(client, world, "access", customer["id"])).json()
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        session.info["actor"] = SYSTEM
        row = await session.scalar(select(PrivacyRequest).where(PrivacyRequest.id == uuid.UUID(access["id"])))
        assert row is not None
        job = await services.start_package(session, _trusted(), row, "")
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        session.info["actor"] = SYSTEM
        assert await services.build_package(session, job.id)
    package = await ok(await client.post(f"{REQUESTS}/{access['id']}/deliver", headers=world.admin,
                                         json={"reason": "mailed to the owner"}), 200)
    sections = package["sections"]
    [profile] = sections["customers.profile"]
    assert profile["email"] == "wang@example.com" and profile["name"] == "王小明" and profile["idNumber"]
    assert sections["customers.consents"] == [] and sections["customers.ownership"] == []
    assert sections["inquiries.inquiries"][0]["contactNote"] == "canary-contact 王先生"
    assert sections["interactions.visits"][0]["location"] == "canary-place 业主家"
    assert sections["interactions.calls"][0]["notes"] == "canary-notes"
    assert sections["complaints.records"] == [] and sections["archives.volumes"] == []
    # No copy left in plain text anywhere: the package is sealed, the job's result counts only.
    assert "canary-place" not in await _raw(db, world.slug, "SELECT * FROM {s}.privacy_requests")
    assert "canary-place" not in await _raw(db, world.slug, "SELECT * FROM {s}.jobs")

    erasure = (await _file(client, world, "erasure", customer["id"])).json()
    done = await ok(await client.post(f"{REQUESTS}/{erasure['id']}/erase", json={"answer": "done"},
                                      headers={**world.admin, "If-Match": f'"{erasure["version"]}"'}), 200)
    items = {i["kind"]: i for i in done["items"]}
    assert items["customers.profile"]["anonymised"] == 1
    assert "contract" in items["customers.ownership"]["reason"]
    gone = await ok(await client.get(f"/api/v1/customers/{customer['id']}", headers=world.admin), 200)
    assert gone["name"] == "(anonymised)" and gone["phone"] is None and gone["email"] is None
    assert gone["number"] == customer["number"]
    assert items["inquiries.inquiries"]["anonymised"] == 1
    assert items["interactions.visits"]["anonymised"] == 1 and items["interactions.calls"]["anonymised"] == 1
    assert items["interactions.gifts"]["anonymised"] == 0 and "accounting" in items["interactions.gifts"]["reason"]
    for table in ("inquiries", "visits", "calls"):
        rows = await _raw(db, world.slug, f"SELECT * FROM {{s}}.{table}")
        assert "canary" not in rows, f"{table} still holds {rows}"
    # Ids and statistics survive: the records are still there, counted.
    assert (await ok(await client.get("/api/v1/inquiries", headers=world.admin), 200))["total"] == 1


async def test_the_retention_scan_anonymises_aged_visits_and_calls(client: Any, db: Any, new_tenant: Any,
                                                                  mint: Any) -> None:
    from app.domains.interactions.models import Call, Visit

    world = await make_world(client, db, new_tenant, mint, units=1, prefix="pvv")
    customer = await create(client, world)
    await _everywhere(client, world, customer)
    recent = await _everywhere(client, world, customer)
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        await session.execute(update(Visit).where(Visit.number != recent["interactions.visits"])
                              .values(planned_at=clock.utcnow() - timedelta(days=1100)))
        await session.execute(update(Call).where(Call.id != uuid.UUID(recent["interactions.calls"]))
                              .values(started_at=clock.utcnow() - timedelta(days=800)))
    counts = await retention_tenant(BoundTenant(db=db, slug=world.slug))
    assert counts["anonymised"] == 2
    visits = await _raw(db, world.slug, "SELECT location, purpose FROM {s}.visits ORDER BY number")
    assert visits.count("canary-place") == 1 and "(anonymised)" in visits
    again = await retention_tenant(BoundTenant(db=db, slug=world.slug))
    assert again["anonymised"] == 0  # what is anonymised is not counted twice


async def test_lost_customers_age_out(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    from app.domains.customers.models import Customer

    world = await make_world(client, db, new_tenant, mint, units=1, prefix="pvl")
    lost, recent, active = [await create(client, world) for _ in range(3)]
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        await session.execute(update(Customer).where(Customer.id.in_([uuid.UUID(lost["id"]), uuid.UUID(recent["id"])]))
                              .values(status="lost"))
        await session.execute(update(Customer).where(Customer.id.in_([uuid.UUID(lost["id"]), uuid.UUID(active["id"])]))
                              .values(updated_at=clock.utcnow() - timedelta(days=1200)))
    counts = await retention_tenant(BoundTenant(db=db, slug=world.slug))
    assert counts["anonymised"] == 1
    names = {c["id"]: (await client.get(f"/api/v1/customers/{c['id']}", headers=world.admin)).json()
             for c in (lost, recent, active)}
    assert names[lost["id"]]["name"] == "(anonymised)" and names[lost["id"]]["phone"] is None
    assert names[recent["id"]]["name"] == "王小明" and names[active["id"]]["name"] == "王小明"


async def test_owners_file_their_own_requests_from_the_app(client: Any, db: Any, new_tenant: Any,
                                                           mint: Any) -> None:
    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from tests.conftest import OPERATOR, bearer

    world = await make_world(client, db, new_tenant, mint, units=1, prefix="pvo")
    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        account = await create_account(session, tenant_id=world.org.tenant_id, kind=AccountKind.owner,
                                       username=f"owner_{uuid.uuid4().hex[:8]}", display_name="业主",
                                       password=None, scopes=["owner:self"])
    mine = await create(client, world, person(accountId=str(account.id)))
    other = await create(client, world)
    auth = bearer(mint(tenant=world.slug, subject=str(account.id), scopes=["owner:self"]))
    # A correction: an access request from the app starts building its copy at once (a job that
    # moves the request's version), which test_privacy_domains.py follows to the owner's download.
    filed = await client.post(f"{API}/mine", headers=auth, json={"customerId": mine["id"], "kind": "correction",
                                                                  "details": "我的电话号码写错了"})
    assert filed.status_code == 201 and filed.json()["channel"] == "app", filed.text
    r = filed.json()
    assert filed.headers["location"] == f"{API}/mine/{r['id']}"
    # Not about someone else's record, nor seen by anyone else.
    refused = await client.post(f"{API}/mine", headers=auth, json={"customerId": other["id"], "kind": "erasure"})
    assert refused.status_code == 404, refused.text
    listed = await ok(await client.get(f"{API}/mine", headers=auth), 200)
    assert [x["id"] for x in listed["items"]] == [r["id"]]
    assert (await client.get(f"{REQUESTS}/{r['id']}", headers=auth)).status_code == 403  # staff routes
    # Staff see it among the open requests, with its deadline, and answer it.
    staff = await ok(await client.get(REQUESTS, headers=world.admin, params={"customerId": mine["id"]}), 200)
    assert [x["id"] for x in staff["items"]] == [r["id"]] and staff["items"][0]["filedBy"] == str(account.id)
    refusal = await ok(await client.post(f"{REQUESTS}/{r['id']}/refuse", json={"answer": "请到售楼处核验身份"},
                                         headers={**world.admin, "If-Match": f'"{r["version"]}"'}), 200)
    seen = await ok(await client.get(f"{API}/mine/{r['id']}", headers=auth), 200)
    assert seen["status"] == "refused" and seen["answer"] == refusal["answer"]


async def test_the_scans_run_through_the_worker(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                worker: Any) -> None:
    from app.domains.privacy import tasks
    from app.domains.privacy.models import RetentionRun

    world = await make_world(client, db, new_tenant, mint, units=1, prefix="pvw")
    customer = await create(client, world)
    late = (await _file(client, world, "access", customer["id"])).json()
    async with db.tenant_transaction(f"t_{world.slug}") as session:
        await session.execute(update(PrivacyRequest).where(PrivacyRequest.id == uuid.UUID(late["id"]))
                              .values(due_on=clock.utcnow().date() - timedelta(days=1)))
    tasks.deadline_scan.apply_async()
    tasks.retention_scan.apply_async()

    async def done() -> bool:
        async with db.tenant_session(f"t_{world.slug}") as session:
            noted = await session.scalar(select(PrivacyRequest.overdue_at)
                                         .where(PrivacyRequest.id == uuid.UUID(late["id"])))
            runs = (await session.scalars(select(RetentionRun.kind))).all()
        return noted is not None and "customers.lost" in runs

    await wait_for(worker, done, "the privacy scans")
