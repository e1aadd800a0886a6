"""Every sensitive field of a customer sealed (PIPL arts. 28-29, 51; seed 001 §2 (三) 1 (2)):
e-mail, bank account and tax number as phone, ID number and address are. Canary values go in
through every way in (create, update, owner self-service, reveal, search, erasure's copy) and
are hunted afterwards in the whole tenant schema (every table, the audit trail and the jobs'
results included) and in every log line the app wrote: only masks and ciphertext may remain."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import text

from tests.domains.customers_helpers import API, World, create, make_world, ok, person

EMAIL = "canary.mail.7f3a@example.com"
BANK = "6222020200112233445"
TAX = "91440300CANARY7F3A"
CONTACT_EMAIL = "canary.contact.7f3a@example.com"
CANARIES = ("canary.mail.7f3a", BANK, "CANARY7F3A", "canary.contact.7f3a")


async def _dump(db: Any, slug: str) -> str:
    """Every row of every table of the tenant's schema, as text."""
    schema = f"t_{slug}"
    async with db.tenant_session(schema) as session:
        tables = (await session.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s AND table_type = 'BASE TABLE'"),
            {"s": schema})).scalars().all()
        parts = []
        for table in tables:
            rows = (await session.execute(text(f'SELECT t::text FROM "{schema}"."{table}" t'))).scalars().all()
            parts.append(f"{table}: {' '.join(rows)}")
    return "\n".join(parts)


def _leaks(where: str) -> list[str]:
    return [c for c in CANARIES if c.lower() in where.lower()]


async def test_no_plaintext_of_a_sealed_field_anywhere(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                       caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    world = await make_world(client, db, new_tenant, mint, units=1, prefix="cs")
    c = await create(client, world, person(email=EMAIL))
    assert c["email"] == "c***@example.com"
    enterprise = await create(client, world, {
        "kind": "enterprise", "name": "深圳金丝雀科技有限公司", "source": "招商会", "purpose": "商铺销售",
        "nodeId": world.branch["id"], "bankName": "招商银行", "bankAccount": BANK, "taxId": TAX,
        "contacts": [{"name": "李娜", "title": "财务", "email": CONTACT_EMAIL}]})
    assert enterprise["bankAccount"] == "****" + BANK[-4:] and enterprise["taxId"] == "****" + TAX[-4:]
    assert enterprise["contacts"][0]["email"] == "c***@example.com"
    # Changed, searched and revealed: each with its audit record, none holding the values.
    url = f"{API}/{enterprise['id']}"
    changed = await client.patch(url, json={"bankAccount": BANK[:-1] + "9"},
                                 headers={**world.admin, "If-Match": f'"{enterprise["version"]}"'})
    assert changed.status_code == 200 and changed.json()["bankAccount"] == "****" + BANK[-4:-1] + "9", changed.text
    changed = await client.patch(url, json={"bankAccount": BANK},
                                 headers={**world.admin, "If-Match": changed.headers["etag"]})
    assert changed.status_code == 200, changed.text
    found = await ok(await client.post(f"{API}/search", headers=world.admin, json={"bankAccount": BANK}), 200)
    assert [x["id"] for x in found["items"]] == [enterprise["id"]]
    found = await ok(await client.post(f"{API}/search", headers=world.admin, json={"email": EMAIL.upper()}), 200)
    assert [x["id"] for x in found["items"]] == [c["id"]]
    shown = await ok(await client.post(f"{url}/reveal", headers=world.admin, json={
        "fields": ["bankAccount", "taxId", "contactEmails"], "reason": "开票核对"}), 200)
    assert shown["bankAccount"] == BANK and shown["taxId"] == TAX and shown["contactEmails"] == [CONTACT_EMAIL]
    shown = await ok(await client.post(f"{API}/{c['id']}/reveal", headers=world.admin,
                                       json={"fields": ["email"], "reason": "发送合同"}), 200)
    assert shown["email"] == EMAIL
    # Whatever the answers showed, the database and the logs hold no plaintext.
    assert _leaks(await _dump(db, world.slug)) == []
    assert _leaks("\n".join(r.getMessage() for r in caplog.records)) == []


async def test_a_customer_without_any_sealed_field_is_fine(client: Any, db: Any, new_tenant: Any,
                                                           mint: Any) -> None:
    world: World = await make_world(client, db, new_tenant, mint, units=1, prefix="cs0")
    body = person()
    body.pop("email")
    c = await create(client, world, body)
    assert c["email"] is None
    shown = await ok(await client.post(f"{API}/{c['id']}/reveal", headers=world.admin,
                                       json={"fields": ["email", "bankAccount"], "reason": "核对"}), 200)
    # No plaintext without a reason to keep with the audit record.
    bare = await client.post(f"{API}/{c['id']}/reveal", headers=world.admin, json={"fields": ["email"]})
    assert bare.status_code == 422 and bare.json()["errors"][0]["field"] == "reason", bare.text
    assert shown["email"] is None and shown["bankAccount"] is None
    assert (await client.post(f"{API}/search", headers=world.admin,
                              json={"email": f"x{uuid.uuid4().hex[:6]}@example.com"})).json()["total"] == 0
