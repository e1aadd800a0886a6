"""The migration that seals customers' e-mail, bank account and tax number (0014_personal):
a tenant left at the revision before, with those values in plain text, comes out with them
sealed under its own key, findable through their blind indexes, and with no plaintext left
anywhere in its schema."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from app.core.keystore import tenant_keys
from app.domains.customers.models import Customer, CustomerContact
from app.domains.customers.services.common import BANK_ACCOUNT, CONTACT_EMAIL, EMAIL, IX_BANK_ACCOUNT, IX_EMAIL, TAX_ID
from app.tenants.migrations import tenant_head, upgrade_tenants
from app.tenants.models import Tenant, TenantStatus, schema_name
from tests.tenants.conftest import scripts_until

BEFORE = "0010_uploads"


async def test_plain_values_are_sealed_in_place(db: Any, scratch: list[str], tmp_path: Path) -> None:
    slug = f"seal_{uuid.uuid4().hex[:10]}"
    scratch.append(slug)
    schema = schema_name(slug)
    async with db.platform_transaction() as session:
        session.add(Tenant(slug=slug, display_name="Sealed Group", time_zone="Asia/Shanghai", locale="zh-CN",
                           status=TenantStatus.active, schema_revision=None))
        await session.execute(text(f'CREATE SCHEMA "{schema}"'))
    report = await upgrade_tenants(db, scripts=scripts_until(tmp_path, BEFORE), only=[slug])
    assert [(r.slug, r.to_revision) for r in report.migrated] == [(slug, BEFORE)], report.failed

    customer, other = uuid.uuid4(), uuid.uuid4()
    async with db.platform_transaction() as session:
        root = await session.scalar(text(f"""SELECT id FROM "{schema}".org_nodes WHERE kind = 'group'"""))
        for cid, number, email, account, tax in (
                (customer, "KH-2026-000001", " Old.Mail.7F3A@Example.com", "6222 0202 0011 2233", "91440300old7f3a"),
                (other, "KH-2026-000002", None, None, None)):
            await session.execute(text(
                f'INSERT INTO "{schema}".customers (id, number, kind, name, status, node_id, source, purpose, '
                "interests, version, email, bank_account, tax_id) VALUES (:id, :number, 'enterprise', '老客户', "
                "'active', :node, '旧系统', '旧系统', '[]', 1, :email, :account, :tax)"),
                {"id": cid, "number": number, "node": root, "email": email, "account": account, "tax": tax})
        await session.execute(text(
            f'INSERT INTO "{schema}".customer_contacts (id, customer_id, position, name, email) '
            "VALUES (:id, :customer, 0, '联系人', 'contact.old.7f3a@example.com')"),
            {"id": uuid.uuid4(), "customer": customer})

    report = await upgrade_tenants(db, only=[slug])
    assert [(r.slug, r.to_revision) for r in report.migrated] == [(slug, tenant_head())], report.failed
    async with db.tenant_session(schema) as session:
        keys = await tenant_keys(session)
        row = await session.scalar(select(Customer).where(Customer.id == customer))
        assert row is not None and row.email_sealed and row.bank_account_sealed and row.tax_id_sealed
        assert keys.open(EMAIL, row.email_sealed) == "old.mail.7f3a@example.com"
        assert keys.open(BANK_ACCOUNT, row.bank_account_sealed) == "6222020200112233"
        assert keys.open(TAX_ID, row.tax_id_sealed) == "91440300OLD7F3A"
        assert row.email_index == keys.blind_index(IX_EMAIL, "old.mail.7f3a@example.com")
        assert row.bank_account_index == keys.blind_index(IX_BANK_ACCOUNT, "6222020200112233")
        empty = await session.scalar(select(Customer).where(Customer.id == other))
        assert empty is not None and empty.email_sealed is None and empty.bank_account_index is None
        contact = await session.scalar(select(CustomerContact).where(CustomerContact.customer_id == customer))
        assert contact is not None and contact.email_sealed is not None
        assert keys.open(CONTACT_EMAIL, contact.email_sealed) == "contact.old.7f3a@example.com"
        dump = " ".join((await session.execute(text(
            f'SELECT t::text FROM "{schema}".customers t UNION ALL SELECT t::text FROM "{schema}".customer_contacts t'
        ))).scalars().all())
    assert "7f3a" not in dump.lower()
