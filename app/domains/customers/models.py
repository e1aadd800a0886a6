"""The customer base: profiles, enterprise contact persons, consents, unit ownership, imports.

Personal data that identifies, reaches or locates a person (phone numbers, e-mail addresses,
resident ID numbers, addresses, bank accounts, tax numbers) is stored only sealed with the
tenant's data key (``*_sealed``); phone, e-mail, ID and bank account numbers also get a blind
index (``*_index``) for exact search and duplicate detection. The name stays plain: staff
find customers by its first characters.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.core.personal import kept_plain

# Import every valid row, or nothing unless every row is valid.
ImportMode = Literal["all_or_nothing", "valid_rows"]


class CustomerKind(str, enum.Enum):
    person = "person"
    enterprise = "enterprise"


class CustomerStatus(str, enum.Enum):
    active = "active"  # 活跃
    inactive = "inactive"  # 非活跃
    lost = "lost"  # 丢失
    merged = "merged"  # a tombstone: merged into another customer (merged_into_id)


class Gender(str, enum.Enum):
    female = "female"
    male = "male"
    unspecified = "unspecified"


class EnterpriseSize(str, enum.Enum):
    micro = "micro"
    small = "small"
    medium = "medium"
    large = "large"


class CreditRating(str, enum.Enum):
    AAA = "AAA"
    AA = "AA"
    A = "A"


class BusinessType(str, enum.Enum):
    """The archive form's 类型 (seed 002, 客户档案表)."""

    agent = "agent"  # 代理商
    factory = "factory"  # 工厂
    trading = "trading"  # 贸易公司
    other = "other"  # 其他


class ConsentKind(str, enum.Enum):
    behaviour = "behaviour"  # behaviour data (preferences, visit patterns) may be kept
    marketing = "marketing"  # promotions and care campaigns may be sent
    sharing = "sharing"  # data may be shared with the property company or partners


class ConsentChannel(str, enum.Enum):
    paper = "paper"
    online = "online"
    phone = "phone"
    in_person = "in_person"
    app = "app"


class OwnerRole(str, enum.Enum):
    primary = "primary"
    co_owner = "co_owner"


class ContractStage(str, enum.Enum):
    subscription = "subscription"  # 认购
    contract = "contract"  # 签约


class PaymentMethod(str, enum.Enum):
    full = "full"  # 一次性付款
    mortgage = "mortgage"  # 按揭
    installment = "installment"  # 分期
    provident_fund = "provident_fund"  # 公积金贷款


class Customer(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "customers"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # KH-2026-000123
    kind: Mapped[CustomerKind] = mapped_column(str_enum(CustomerKind), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, info=kept_plain(
        "staff find customers by the first characters of their name (an index range), and every list shows it"))
    status: Mapped[CustomerStatus] = mapped_column(str_enum(CustomerStatus), nullable=False)
    # Where the customer sits for the Authorizer: the project of their unit, else a branch or
    # the group (prospects).
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    # The platform account of an owner who signs in to see their own record (no foreign key:
    # accounts live in the shared schema).
    account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    source: Mapped[str] = mapped_column(String(200), nullable=False)  # where the data came from
    purpose: Mapped[str] = mapped_column(String(500), nullable=False)  # the purpose told at collection
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    valid_until: Mapped[date | None] = mapped_column(Date)
    # A level of the group's classification scale (app/domains/access/clearance.py), set by the
    # confidentiality domain; NULL: not classified, read by whoever reads customers there.
    classification: Mapped[str | None] = mapped_column(String(40))
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_index: Mapped[str | None] = mapped_column(String(40))
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[str | None] = mapped_column(String(40))
    address_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Person
    gender: Mapped[Gender | None] = mapped_column(str_enum(Gender))
    id_number_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_index: Mapped[str | None] = mapped_column(String(40))
    occupation: Mapped[str | None] = mapped_column(String(100))
    interests: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    # Enterprise
    industry: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[EnterpriseSize | None] = mapped_column(str_enum(EnterpriseSize))
    credit_rating: Mapped[CreditRating | None] = mapped_column(str_enum(CreditRating))
    bank_name: Mapped[str | None] = mapped_column(String(200))
    bank_account_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # sensitive (PIPL art. 28)
    bank_account_index: Mapped[str | None] = mapped_column(String(40))
    tax_id_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The archive form's fields (seed 002, 客户档案表). Fax and invoice phone reach a person:
    # sealed like the e-mail; the rest describes the business.
    region: Mapped[str | None] = mapped_column(String(100))  # 地区
    fax_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # 传真
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)  # 违规记录
    evaluations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)  # 客户评价
    business_type: Mapped[BusinessType | None] = mapped_column(str_enum(BusinessType))  # 类型
    company_nature: Mapped[str | None] = mapped_column(String(100))  # 公司性质
    legal_representative: Mapped[str | None] = mapped_column(String(100), info=kept_plain(
        "a company's legal representative is public in the business registration, and staff read it on the form"))
    registered_capital: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))  # 注册资本, yuan
    sales: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # 销售额 and 月购买力, yuan as strings
    competition: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # 竞争状况
    invoice_phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # 财务开票信息: 电话
    invoice_requirements: Mapped[str | None] = mapped_column(String(500))  # 开票特殊要求
    website: Mapped[str | None] = mapped_column(String(300))  # 网址
    purchase_needs: Mapped[str | None] = mapped_column(String(1000))  # 采购状况: the enterprise's purchase needs
    # Behaviour data: kept only while the customer's behaviour consent is active.
    behaviour: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # A merged-away customer stays as a tombstone pointing to the survivor.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"))
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_customers_node_id", "node_id"),
        Index("ix_customers_account_id", "account_id"),
        Index("ix_customers_phone_index", "phone_index"),
        Index("ix_customers_id_number_index", "id_number_index"),
        Index("ix_customers_email_index", "email_index"),
        Index("ix_customers_bank_account_index", "bank_account_index"),
        # Name-prefix search is one index range (text_pattern_ops: LIKE 'prefix%').
        Index("ix_customers_name", "name", postgresql_ops={"name": "text_pattern_ops"}),
        Index("ix_customers_merged_into_id", "merged_into_id"),
    )


class CustomerContact(IdMixin, TenantBase):
    """An enterprise's contact person."""

    __tablename__ = "customer_contacts"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # the order shown
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    title: Mapped[str | None] = mapped_column(String(100))
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[str | None] = mapped_column(String(40))
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_customer_contacts_customer_id", "customer_id"),)


class CustomerConsent(IdMixin, VersionMixin, TenantBase):
    """What the customer agreed to, when and through which channel; withdrawn later maybe.
    Consents are never deleted: a withdrawal is recorded on the row."""

    __tablename__ = "customer_consents"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[ConsentKind] = mapped_column(str_enum(ConsentKind), nullable=False)
    purpose: Mapped[str] = mapped_column(String(500), nullable=False)
    channel: Mapped[ConsentChannel] = mapped_column(str_enum(ConsentChannel), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawal_channel: Mapped[ConsentChannel | None] = mapped_column(str_enum(ConsentChannel))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (Index("ix_customer_consents_customer_id_kind", "customer_id", "kind"),)


class CustomerUnit(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A customer's ownership of a unit, with the deal's stage. A unit has at most one
    primary owner; co-owners are further rows."""

    __tablename__ = "customer_units"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    unit_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("units.id", ondelete="RESTRICT"),
                                               nullable=False)
    role: Mapped[OwnerRole] = mapped_column(str_enum(OwnerRole), nullable=False)
    stage: Mapped[ContractStage] = mapped_column(str_enum(ContractStage), nullable=False)
    contract_number: Mapped[str | None] = mapped_column(String(40))
    subscribed_on: Mapped[date | None] = mapped_column(Date)
    contracted_on: Mapped[date | None] = mapped_column(Date)
    payment_method: Mapped[PaymentMethod | None] = mapped_column(str_enum(PaymentMethod))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # yuan; never a float

    __table_args__ = (
        UniqueConstraint("customer_id", "unit_id"),
        Index("ix_customer_units_unit_id", "unit_id"),
        # The database's word on "one primary owner per unit", whatever races past the service.
        Index("uq_customer_units_primary_unit_id", "unit_id", unique=True,
              postgresql_where=text("role = 'primary'")),
    )


class CustomerImport(IdMixin, TenantBase):
    """An uploaded CSV waiting for (or processed by) its import job. The file holds personal
    data, so it is kept sealed, and dropped once the job has run."""

    __tablename__ = "customer_imports"

    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="CASCADE"),
                                              nullable=False, unique=True)
    mode: Mapped[ImportMode] = mapped_column(String(20), nullable=False)
    encoding: Mapped[str] = mapped_column(String(40), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    content_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Where rows without a unit (prospects) are placed.
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    # The caller who uploaded it (token subject and client): the job acts with their grants.
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    client_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
