"""Personal information: people's privacy requests and the retention scan's record
(app/domains/privacy); customers' e-mail addresses, bank accounts and tax numbers (and
contact persons' e-mail addresses) sealed with the tenant's data key, with blind indexes for
e-mail and bank account.

Revision ID: 0014_personal
Revises: 0010_uploads
Create Date: 2026-12-07

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.

The new tables are additive. The customers' plain columns are sealed in place and dropped
in this same migration: plaintext personal data must not outlive the upgrade, so this step is
not expand-then-contract, and API processes of the previous release must be stopped before
it runs (they read the dropped columns).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.core import crypto
from app.core.keystore import master_key
from app.tenants.migrations import tenant_schema

revision = "0014_personal"
down_revision = "0013_club"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.Enum("access", "correction", "erasure", name="requestkind", native_enum=False,
                                  length=20, schema="tenant"), nullable=False),
        sa.Column("status", sa.Enum("open", "completed", "refused", name="requeststatus", native_enum=False,
                                    length=20, schema="tenant"), nullable=False),
        sa.Column("channel", sa.Enum("app", "phone", "in_person", "mail", "online", name="requestchannel",
                                     native_enum=False, length=20, schema="tenant"), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("details_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("filed_by", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("answer", sa.String(length=2000), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.UUID(), nullable=True),
        sa.Column("package_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f("fk_privacy_requests_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_privacy_requests_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["job_id"], ["tenant.jobs.id"], name=op.f("fk_privacy_requests_job_id_jobs"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
        sa.UniqueConstraint("number", name=op.f("uq_privacy_requests_number")),
        schema="tenant",
    )
    op.create_index("ix_privacy_requests_customer_id", "privacy_requests", ["customer_id"], unique=False,
                    schema="tenant")
    op.create_index("ix_privacy_requests_node_id", "privacy_requests", ["node_id"], unique=False, schema="tenant")
    op.create_index("ix_privacy_requests_status_due_on", "privacy_requests", ["status", "due_on"], unique=False,
                    schema="tenant")
    op.create_table(
        "retention_runs",
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anonymised", sa.Integer(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
        schema="tenant",
    )
    op.create_index("ix_retention_runs_kind_ran_at", "retention_runs", ["kind", "ran_at"], unique=False,
                    schema="tenant")

    _seal_customer_fields()


# The sealed-field names and blind-index namespaces of app/domains/customers/services/common.py,
# as they were when this migration was written (a ciphertext names its field for good).
EMAIL, BANK_ACCOUNT, TAX_ID, CONTACT_EMAIL = "customers.email", "customers.bank_account", "customers.tax_id", \
    "customer_contacts.email"
IX_EMAIL, IX_BANK_ACCOUNT = "email", "bank_account"


def _keys(bind: sa.Connection, schema: str) -> crypto.TenantKeys:
    """The tenant's keys (app/core/keystore.py), made here when the tenant never had any."""
    row = bind.execute(sa.text(f'SELECT wrapped_data_key, wrapped_index_key FROM "{schema}".data_keys '
                               "ORDER BY created_at, id LIMIT 1")).first()
    master = master_key()
    if row is None:
        keys = crypto.new_tenant_keys(schema)
        bind.execute(sa.text(f'INSERT INTO "{schema}".data_keys (id, wrapped_data_key, wrapped_index_key) '
                             "VALUES (gen_random_uuid(), :data, :index)"),
                     {"data": crypto.wrap(master, keys.data_key, f"{schema}:data"),
                      "index": crypto.wrap(master, keys.index_key, f"{schema}:index")})
        return keys
    return crypto.TenantKeys(tenant=schema, data_key=crypto.unwrap(master, row[0], f"{schema}:data"),
                             index_key=crypto.unwrap(master, row[1], f"{schema}:index"))


def _seal_customer_fields() -> None:
    c = "customers"
    for name, type_ in (("email_sealed", sa.LargeBinary()), ("email_index", sa.String(length=40)),
                        ("bank_account_sealed", sa.LargeBinary()), ("bank_account_index", sa.String(length=40)),
                        ("tax_id_sealed", sa.LargeBinary())):
        op.add_column(c, sa.Column(name, type_, nullable=True), schema="tenant")
    op.add_column("customer_contacts", sa.Column("email_sealed", sa.LargeBinary(), nullable=True), schema="tenant")

    schema, bind = tenant_schema(), op.get_bind()
    customers = bind.execute(sa.text(
        f'SELECT id, email, bank_account, tax_id FROM "{schema}".customers '
        "WHERE email IS NOT NULL OR bank_account IS NOT NULL OR tax_id IS NOT NULL")).all()
    contacts = bind.execute(sa.text(
        f'SELECT id, email FROM "{schema}".customer_contacts WHERE email IS NOT NULL')).all()
    if customers or contacts:
        keys = _keys(bind, schema)
        sealed = []
        for id_, email, account, tax in customers:
            email = email.strip().lower() if email else None
            account = account.replace(" ", "") if account else None
            tax = tax.strip().upper() if tax else None
            sealed.append({
                "id": id_, "es": keys.seal(EMAIL, email) if email else None,
                "ei": keys.blind_index(IX_EMAIL, email) if email else None,
                "bs": keys.seal(BANK_ACCOUNT, account) if account else None,
                "bi": keys.blind_index(IX_BANK_ACCOUNT, account) if account else None,
                "ts": keys.seal(TAX_ID, tax) if tax else None})
        if sealed:
            bind.execute(sa.text(
                f'UPDATE "{schema}".customers SET email_sealed = :es, email_index = :ei, bank_account_sealed = :bs, '
                "bank_account_index = :bi, tax_id_sealed = :ts WHERE id = :id"), sealed)
        if contacts:
            bind.execute(sa.text(f'UPDATE "{schema}".customer_contacts SET email_sealed = :es WHERE id = :id'),
                         [{"id": id_, "es": keys.seal(CONTACT_EMAIL, email)} for id_, email in contacts])

    for name in ("email", "bank_account", "tax_id"):
        op.drop_column(c, name, schema="tenant")
    op.drop_column("customer_contacts", "email", schema="tenant")
    op.create_index("ix_customers_email_index", c, ["email_index"], unique=False, schema="tenant")
    op.create_index("ix_customers_bank_account_index", c, ["bank_account_index"], unique=False, schema="tenant")
