"""Customers over the API: profiles with personal data sealed at rest and masked in answers,
exact search through the blind index, audited reveals, validation of phone and ID numbers,
duplicates, consents, ownership and who is responsible, owners' self-service."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, text

from app.auth.models import AccountKind
from app.auth.services import create_account
from app.core.audit import Actor, tenant_audit
from app.domains.customers.models import Customer
from tests.conftest import OPERATOR, bearer, subject_of
from tests.domains.customers_helpers import (
    API,
    PROBLEM,
    World,
    approve_all,
    create,
    id_number,
    make_world,
    ok,
    person,
    phone,
)
from tests.grants import grant


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=8)


async def _audit(db: Any, slug: str, entity_id: str, action: str) -> list[Any]:
    async with db.tenant_session(f"t_{slug}") as session:
        return list((await session.execute(select(tenant_audit).where(
            tenant_audit.c.entity_id == entity_id, tenant_audit.c.action == action)
            .order_by(tenant_audit.c.occurred_at))).all())


# ------------------------------------------------------------------ personal data at rest


async def test_raw_table_holds_no_plaintext_and_phone_search_still_finds(client: Any, db: Any,
                                                                          world: World) -> None:
    number, id_no, address = phone(), id_number(), "广东省深圳市南山区科技园路88号"
    created = await create(client, world, person(phone=f"+86{number}", idNumber=id_no,
                                                 address=address))
    assert created["number"].startswith("KH-") and len(created["number"]) == len("KH-2026-000001")
    assert created["phone"] == number[:3] + "****" + number[-4:]
    assert created["idNumber"] == id_no[:6] + "********" + id_no[-4:]
    assert created["address"] == address[:6] + "****"

    # Every column of the row, and every row the audit trail holds about it, as PostgreSQL stores them.
    async with db.engine.connect() as conn:
        row = (await conn.execute(text(f'SELECT * FROM "t_{world.slug}".customers WHERE id = :id'),
                                  {"id": created["id"]})).mappings().one()
        trail = (await conn.execute(text(f'SELECT before::text, after::text FROM "t_{world.slug}".audit_log '
                                         "WHERE entity_id = :id"), {"id": created["id"]})).all()
    dump = " ".join(str(v) for v in row.values()) + " ".join(str(t) for t in trail)
    raw = b"".join(v for v in row.values() if isinstance(v, (bytes, memoryview)))
    for secret in (number, id_no, address, number[3:]):
        assert secret not in dump
        assert secret.encode() not in bytes(raw)
    assert row["phone_sealed"] and row["id_number_sealed"] and row["address_sealed"]

    found = await ok(await client.post(f"{API}/search", headers=world.admin, json={"phone": number}), 200)
    assert [c["id"] for c in found["items"]] == [created["id"]]
    by_id = await ok(await client.post(f"{API}/search", headers=world.admin, json={"idNumber": id_no.lower()}), 200)
    assert [c["id"] for c in by_id["items"]] == [created["id"]]
    by_name = await ok(await client.get(API, headers=world.admin, params={"q": "王小"}), 200)
    assert created["id"] in {c["id"] for c in by_name["items"]}


async def test_invalid_phone_and_id_numbers_are_field_errors(client: Any, world: World) -> None:
    bad_checksum = id_number()[:17] + ("0" if id_number()[17] != "0" else "1")
    valid = id_number()
    wrong = valid[:17] + ("1" if valid[17] != "1" else "2")
    for body, field in ((person(phone="12345678901"), "phone"), (person(phone="1380013800"), "phone"),
                        (person(idNumber=wrong), "idNumber"), (person(idNumber="990305198506120011"), "idNumber"),
                        (person(idNumber="440305198513320011"), "idNumber")):
        answer = await client.post(API, headers=world.admin, json=body)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["type"] == PROBLEM + "validation"
        assert [e["field"] for e in problem["errors"]] == [field], problem
    checksum = await client.post(API, headers=world.admin, json=person(idNumber=wrong))
    assert "check character" in checksum.json()["errors"][0]["message"]
    assert bad_checksum  # (two ways of getting a wrong check character)


async def test_duplicates_by_phone_or_id_number_are_refused_naming_visible_ones(client: Any, db: Any, mint: Any,
                                                                                 world: World) -> None:
    first = await create(client, world)
    same_phone = await client.post(API, headers=world.admin, json=person(phone=(await _revealed(
        client, world, first["id"]))["phone"]))
    assert same_phone.status_code == 409, same_phone.text
    assert same_phone.json()["type"] == PROBLEM + "duplicate"
    assert first["id"] in same_phone.json()["errors"][0]["message"]

    # Someone whose subtree does not hold the first customer learns only that one exists.
    other_branch = await ok(await client.post("/api/v1/org/branches", headers=world.admin,
                                              json={"code": f"X{uuid.uuid4().hex[:6]}", "name": "广州分公司"}))
    clerk = str(uuid.uuid4())
    await grant(db, world.slug, clerk, ["customers.read", "customers.write"], uuid.UUID(other_branch["id"]))
    auth = bearer(mint(tenant=world.slug, subject=clerk, scopes=["customers:read", "customers:write"]))
    revealed = await _revealed(client, world, first["id"])
    hidden = await client.post(API, headers=auth, json=person(idNumber=revealed["idNumber"],
                                                              nodeId=other_branch["id"]))
    assert hidden.status_code == 409, hidden.text
    assert first["id"] not in hidden.text and first["number"] not in hidden.text
    assert "outside your subtree" in hidden.json()["errors"][0]["message"]


async def _revealed(client: Any, world: World, customer_id: str) -> dict[str, Any]:
    return await ok(await client.post(f"{API}/{customer_id}/reveal", headers=world.admin,
                                      json={"fields": ["phone", "idNumber", "address"],
                                            "reason": "核对"}), 200)  # type: ignore


async def test_masked_unless_revealed_and_every_reveal_is_audited(client: Any, db: Any, mint: Any,
                                                                   world: World) -> None:
    number, id_no = phone(), id_number()
    created = await create(client, world, person(phone=number, idNumber=id_no))
    reader = str(uuid.uuid4())
    await grant(db, world.slug, reader, ["customers.read"])
    auth = bearer(mint(tenant=world.slug, subject=reader, scopes=["customers:read"]))
    shown = await ok(await client.get(f"{API}/{created['id']}", headers=auth), 200)
    assert shown["phone"] == f"{number[:3]}****{number[-4:]}" and number not in str(shown)
    refused = await client.post(f"{API}/{created['id']}/reveal", headers=auth,
                                json={"fields": ["phone"], "reason": "核对"})
    assert refused.status_code == 403, refused.text
    assert not await _audit(db, world.slug, created["id"], "customers.reveal")

    revealed = await ok(await client.post(f"{API}/{created['id']}/reveal", headers=world.admin, json={
        "fields": ["phone", "idNumber"], "reason": "回访需要核对"}), 200)
    assert (revealed["phone"], revealed["idNumber"]) == (number, id_no)
    assert revealed.get("address") is None
    [record] = await _audit(db, world.slug, created["id"], "customers.reveal")
    assert record.actor_id == subject_of(world.admin)
    assert record.after["fields"] == ["idNumber", "phone"] and record.reason == "回访需要核对"
    assert number not in str(record.after)


# ------------------------------------------------------------------------- consents


async def test_behaviour_data_needs_an_active_consent(client: Any, db: Any, world: World) -> None:
    created = await create(client, world)
    url = f"{API}/{created['id']}"
    refused = await client.put(f"{url}/behaviour", headers={**world.admin, "If-Match": f'"{created["version"]}"'},
                               json={"data": {"visits": 3}})
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == PROBLEM + "consent-required"
    consent = await ok(await client.post(f"{url}/consents", headers=world.admin, json={
        "kind": "behaviour", "purpose": "改善服务", "channel": "paper"}))
    assert consent["active"] and consent["recordedBy"] == subject_of(world.admin)
    current = await ok(await client.get(url, headers=world.admin), 200)
    stored = await ok(await client.put(f"{url}/behaviour", headers={**world.admin,
                                                                     "If-Match": f'"{current["version"]}"'},
                                       json={"data": {"visits": 3, "prefers": "周末"}}), 200)
    assert stored["behaviour"] == {"visits": 3, "prefers": "周末"}

    withdrawn = await ok(await client.post(f"{API}/consents/{consent['id']}/withdraw", headers=world.admin,
                                           json={"channel": "phone"}), 200)
    assert not withdrawn["active"] and withdrawn["withdrawalChannel"] == "phone"
    after = await ok(await client.get(url, headers=world.admin), 200)
    assert after["behaviour"] is None  # withdrawing the last behaviour consent erases the data
    again = await client.post(f"{API}/consents/{consent['id']}/withdraw", headers=world.admin,
                              json={"channel": "phone"})
    assert again.status_code == 409
    listed = await ok(await client.get(f"{url}/consents", headers=world.admin), 200)
    assert [c["id"] for c in listed["items"]] == [consent["id"]]
    one = await client.get(f"{API}/consents/{consent['id']}", headers=world.admin)
    assert one.status_code == 200 and one.json()["withdrawnAt"] and one.headers["etag"] == '"2"'
    assert await _audit(db, world.slug, created["id"], "customers.behaviour.erase")


# ------------------------------------------------------------------------ ownership


async def test_units_ownership_and_responsibility(client: Any, world: World) -> None:
    unit = world.units[0]
    owner = await create(client, world, person(units=[{
        "unitId": unit["id"], "stage": "contract", "paymentMethod": "mortgage", "amount": "2350000.50",
        "contractNumber": "HT-2026-001", "contractedOn": "2025-03-01"}]))
    assert owner["nodeId"] == world.project["id"]
    [held] = owner["units"]
    assert held["amount"] == "2350000.50" and held["role"] == "primary" and held["projectId"] == world.project["id"]
    # The project was handed over (2020): customer affairs serves its customers now.
    assert held["responsibility"]["department"] == "customer_affairs"
    assert owner["responsibility"]["department"] == "customer_affairs"

    taken = await client.post(API, headers=world.admin, json=person(units=[{"unitId": unit["id"]}]))
    assert taken.status_code == 409, taken.text
    assert taken.json()["type"] == PROBLEM + "conflict" and owner["id"] in taken.text
    co_owner = await create(client, world, person(units=[{"unitId": unit["id"], "role": "co_owner"}]))
    assert co_owner["units"][0]["role"] == "co_owner"

    # A prospect placed at the branch moves to the project of their first unit.
    prospect = await create(client, world, person(nodeId=world.branch["id"]))
    assert prospect["nodeId"] == world.branch["id"] and prospect["responsibility"] is None
    added = await ok(await client.post(f"{API}/{prospect['id']}/units", headers=world.admin, json={
        "unitId": world.units[1]["id"], "amount": "1800000"}))
    assert added["amount"] == "1800000.00"
    again = await client.post(f"{API}/{prospect['id']}/units", headers=world.admin,
                              json={"unitId": world.units[0]["id"]})
    assert again.status_code == 409
    moved = await ok(await client.get(f"{API}/{prospect['id']}", headers=world.admin), 200)
    assert moved["nodeId"] == world.project["id"]
    listed = await ok(await client.get(f"{API}/{prospect['id']}/units", headers=world.admin), 200)
    assert [u["unitId"] for u in listed["items"]] == [world.units[1]["id"]] and listed["total"] == 1


# -------------------------------------------------------------------- self-service


async def test_owners_read_and_update_their_own_contacts(client: Any, db: Any, mint: Any, world: World) -> None:
    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        account = await create_account(session, tenant_id=world.org.tenant_id, kind=AccountKind.owner,
                                       username=f"owner_{uuid.uuid4().hex[:8]}", display_name="业主",
                                       password=None, scopes=["owner:self"])
    number = phone()
    mine = await create(client, world, person(accountId=str(account.id), phone=number,
                                              units=[{"unitId": world.units[2]["id"]}]))
    other = await create(client, world)
    auth = bearer(mint(tenant=world.slug, subject=str(account.id), scopes=["owner:self"]))
    listed = await ok(await client.get(f"{API}/mine", headers=auth), 200)
    assert [c["id"] for c in listed["items"]] == [mine["id"]]
    assert listed["items"][0]["phone"] == number and listed["items"][0]["units"][0]["unitId"] == world.units[2]["id"]
    assert (await client.get(f"{API}/{mine['id']}", headers=auth)).status_code == 403  # staff routes: no scope

    new_phone = phone()
    changed = await ok(await client.patch(f"{API}/mine/{mine['id']}", headers={
        **auth, "If-Match": f'"{mine["version"]}"'}, json={"phone": new_phone, "email": "me@example.com"}), 200)
    assert changed["approvalRequestId"] is None
    assert changed["customer"]["phone"] == new_phone and changed["customer"]["email"] == "me@example.com"
    foreign = await client.patch(f"{API}/mine/{other['id']}", headers={**auth, "If-Match": '"1"'},
                                 json={"email": "x@example.com"})
    assert foreign.status_code == 404

    # The group's policy: owners' phone and address changes go through approval.
    settings = await client.get(f"{API}/settings", headers=world.admin)
    await ok(await client.put(f"{API}/settings", headers={**world.admin, "If-Match": settings.headers["etag"]},
                              json={"ownerContactChangesNeedApproval": True}), 200)
    try:
        later = phone()
        pending = await ok(await client.patch(f"{API}/mine/{mine['id']}", headers={
            **auth, "If-Match": f'"{changed["customer"]["version"]}"'}, json={"phone": later}), 200)
        assert pending["approvalRequestId"] and pending["customer"]["phone"] == new_phone
        await approve_all(client, world, pending["approvalRequestId"])
        listed = await ok(await client.get(f"{API}/mine", headers=auth), 200)
        assert listed["items"][0]["phone"] == later
    finally:
        current = await client.get(f"{API}/settings", headers=world.admin)
        await ok(await client.put(f"{API}/settings", headers={**world.admin, "If-Match": current.headers["etag"]},
                                  json={"ownerContactChangesNeedApproval": False}), 200)


# --------------------------------------------------------------------- conventions


async def test_updates_need_if_match_and_protected_fields_are_refused(client: Any, db: Any, world: World) -> None:
    created = await create(client, world)
    url = f"{API}/{created['id']}"
    assert (await client.patch(url, headers=world.admin, json={"status": "inactive"})).status_code == 428
    stale = await client.patch(url, headers={**world.admin, "If-Match": '"99"'}, json={"status": "inactive"})
    assert stale.status_code == 412
    changed = await ok(await client.patch(url, headers={**world.admin, "If-Match": f'"{created["version"]}"'},
                                          json={"status": "lost", "occupation": "教师"}), 200)
    assert changed["status"] == "lost" and changed["version"] == created["version"] + 1
    protected = await client.patch(url, headers={**world.admin, "If-Match": f'"{changed["version"]}"'},
                                   json={"phone": phone()})
    assert protected.status_code == 422 and protected.json()["errors"][0]["field"] == "phone"
    enterprise_field = await client.patch(url, headers={**world.admin, "If-Match": f'"{changed["version"]}"'},
                                          json={"taxId": "91440300MA5ABCDE1X"})
    assert enterprise_field.status_code == 409 and enterprise_field.json()["errors"][0]["field"] == "taxId"
    [record] = await _audit(db, world.slug, created["id"], "customers.update")
    assert record.before["status"] == "active" and record.after["status"] == "lost"


async def test_enterprise_customers_with_contact_persons(client: Any, world: World) -> None:
    contact_phone = phone()
    body = {"kind": "enterprise", "name": "深圳前海星河科技有限公司", "source": "商铺招商会",
            "purpose": "商铺销售与发票",
            "nodeId": world.branch["id"], "industry": "软件", "size": "medium", "creditRating": "AA",
            "bankName": "招商银行深圳分行", "bankAccount": "755912345610101", "taxId": "91440300MA5ABCDE1X",
            "contacts": [{"name": "李娜", "title": "财务总监", "phone": contact_phone}]}
    created = await create(client, world, body)
    assert created["kind"] == "enterprise" and created["creditRating"] == "AA"
    assert created["contacts"] == [{"name": "李娜", "title": "财务总监", "phone": contact_phone[:3] + "****"
                                    + contact_phone[-4:], "email": None}]
    revealed = await ok(await client.post(f"{API}/{created['id']}/reveal", headers=world.admin,
                                          json={"fields": ["contactPhones"], "reason": "开票核对"}), 200)
    assert revealed["contactPhones"] == [contact_phone]
    person_field = await client.post(API, headers=world.admin, json={**body, "idNumber": id_number()})
    assert person_field.status_code == 422


async def test_idempotent_create(client: Any, world: World) -> None:
    body = person()
    headers = {**world.admin, "Idempotency-Key": uuid.uuid4().hex}
    first = await client.post(API, headers=headers, json=body)
    second = await client.post(API, headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and second.headers["idempotent-replayed"] == "true"


async def test_stored_row_matches_the_answer(db: Any, client: Any, world: World) -> None:
    created = await create(client, world)
    async with db.tenant_session(f"t_{world.slug}") as session:
        row = await session.get(Customer, uuid.UUID(created["id"]))
    assert row is not None and row.number == created["number"] and row.version == created["version"]


async def test_demo_customers_are_believable_and_valid(client: Any, db: Any, mint: Any, demo: Any) -> None:
    from app.auth.models import Account
    from app.demo import OWNER

    slug = demo.slug
    listed = await ok(await client.get(API, headers=bearer(mint(tenant=slug))), 200)
    assert {c["name"] for c in listed["items"]} == {"李建国", "陈静", "王芳", "张伟", "深圳前海云帆科技有限公司"}
    assert all(c["phone"].startswith("139****") for c in listed["items"])
    from app.tenants.models import Tenant

    async with db.platform_session() as session:
        owner = await session.scalar(select(Account.id).join(Tenant, Tenant.id == Account.tenant_id)
                                     .where(Account.username == OWNER[0], Tenant.slug == slug))
    mine = await ok(await client.get(f"{API}/mine", headers=bearer(mint(tenant=slug, subject=str(owner),
                                                                        scopes=["owner:self"]))), 200)
    assert [c["name"] for c in mine["items"]] == ["李建国"]
    assert mine["items"][0]["units"][0]["responsibility"]["department"] == "customer_affairs"
