"""Request and response bodies of the customers API.

Phone and ID numbers are checked by their pattern here (so the document says what is well
formed) and by the services for what a pattern cannot say (the ID number's region, birth
date and check character): ``format`` names the rule for generators and readers.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from app.core.schemas import ONE_LINE_PATTERN, Email, Input, Instant, Schema
from app.domains.customers.models import (
    BusinessType,
    ConsentChannel,
    ConsentKind,
    ContractStage,
    CreditRating,
    CustomerKind,
    CustomerStatus,
    EnterpriseSize,
    Gender,
    ImportMode,
    OwnerRole,
    PaymentMethod,
)
from app.domains.org.schemas import Responsibility

PHONE_FORMAT = "cn-mobile"
ID_FORMAT = "cn-resident-id"

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_PATTERN, examples=["王小明"])]
Phone = Annotated[str, msgspec.Meta(
    pattern=r"^(\+86)?1[3-9][0-9]{9}$", examples=["13800138000"],
    extra_json_schema={"extra": {"format": PHONE_FORMAT}},
    description="A mainland China mobile number, 11 digits, optionally with +86; stored encrypted.")]
IdNumber = Annotated[str, msgspec.Meta(
    pattern=r"^[1-8][0-9]{16}[0-9Xx]$", examples=["11010519491231002X"],
    extra_json_schema={"extra": {"format": ID_FORMAT}},
    description="A resident ID number: 18 characters; region, birth date and the ISO 7064 MOD 11-2 check "
                "character are verified; stored encrypted.")]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern=ONE_LINE_PATTERN,
                                      description="Stored encrypted.", examples=["广东省深圳市南山区科技园路1号"])]
Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Source = Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["售楼处来访 Sales office visit"],
                                     description="Where the data came from.")]
Purpose = Annotated[str, msgspec.Meta(min_length=1, max_length=500, examples=["购房服务与交付通知"],
                                      description="The purpose the customer was told at collection.")]
Interests = Annotated[list[str], msgspec.Meta(max_length=20, examples=[["高尔夫", "摄影"]])]
TaxId = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Z]{15,20}$", examples=["91440300MA5ABCDE1X"],
                                    description="Unified social credit code or tax number.")]
BankAccount = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8,30}$", examples=["6222020200112233445"])]
# Exact, never a float: a string of at most 12 integer digits and 2 decimals (Numeric(14, 2)).
Amount = Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$", examples=["2350000.00"],
                                     description="Yuan, as a string with at most 2 decimals.")]
ContractNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
# Behaviour data: named facts (``visits: 3``, ``prefers: "周末"``, ``channels: ["WeChat"]``).
BehaviourValue = str | int | bool | list[str] | None
Behaviour = Annotated[dict[str, BehaviourValue], msgspec.Meta(
    max_length=50, extra_json_schema={"extra": {"max_properties": 50}},
    description="Behaviour data (preferences, visit patterns, ...): kept only with an active behaviour consent.")]
LiveStatus = Literal["active", "inactive", "lost"]  # "merged" is reached by merging only
# The archive form's fields (seed 002, 客户档案表).
Region = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE_PATTERN, examples=["华南"])]
Fax = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9][0-9 -]{5,24}$", examples=["0755-86001234"],
                                  description="A fax or landline number; stored encrypted.")]
Text500 = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Text1000 = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Website = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s]{1,290}$", examples=["https://www.example.cn"])]


class SalesIn(Input):
    """销售额 and 月购买力: yearly sales, off- and peak-season sales, and the monthly purchasing
    power (what the customer buys from every supplier in a month), in yuan."""

    annual: Amount | None = None
    off_season: Amount | None = None
    peak_season: Amount | None = None
    monthly_purchasing: Amount | None = None
    off_season_monthly_purchasing: Amount | None = None
    peak_season_monthly_purchasing: Amount | None = None


class CompetitionIn(Input):
    """竞争状况: competitors' products at the customer, the customer's satisfaction with them,
    the competitor's sales representative and their relation to the customer."""

    competitor_products: Text500 | None = None
    satisfaction: Text500 | None = None
    competitor_representative: Text500 | None = None
    representative_relation: Text500 | None = None


class ViolationIn(Input):
    """违规记录: when, what kind, what happened."""

    on: date
    kind: Text100
    description: Text1000


class EvaluationIn(Input):
    """客户评价: who evaluated the customer and what they said."""

    evaluator: Text100
    evaluation: Text1000


Violations = Annotated[list[ViolationIn], msgspec.Meta(max_length=100)]
Evaluations = Annotated[list[EvaluationIn], msgspec.Meta(max_length=100)]


# ------------------------------------------------------------------------------ input


class ContactIn(Input):
    """An enterprise's contact person."""

    name: Text100
    title: Text100 | None = None
    phone: Phone | None = None
    email: Email | None = None


class OwnershipIn(Input):
    """A unit the customer subscribed to or bought."""

    unit_id: uuid.UUID
    role: OwnerRole = OwnerRole.primary
    stage: ContractStage = ContractStage.subscription
    contract_number: ContractNumber | None = None
    subscribed_on: date | None = None
    contracted_on: date | None = None
    payment_method: PaymentMethod | None = None
    amount: Amount | None = None


class ConsentIn(Input):
    kind: ConsentKind
    purpose: Purpose
    channel: ConsentChannel
    # When the consent takes effect (the day the customer signed); now when absent.
    granted_at: Instant | None = None


class _Common(Input, kw_only=True):
    name: Name
    status: LiveStatus = "active"
    # For a customer without units (a prospect): the group, branch or project they belong to (the
    # group when absent). A customer with units belongs to the first unit's project.
    node_id: uuid.UUID | None = None
    source: Source
    purpose: Purpose
    valid_until: date | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    account_id: uuid.UUID | None = None  # the owner's platform account, for self-service
    units: Annotated[list[OwnershipIn], msgspec.Meta(max_length=20)] = []
    consents: Annotated[list[ConsentIn], msgspec.Meta(max_length=10)] = []
    region: Region | None = None
    fax: Fax | None = None
    violations: Violations = []
    evaluations: Evaluations = []


class PersonCreate(_Common, tag="person", tag_field="kind"):
    gender: Gender | None = None
    id_number: IdNumber | None = None
    occupation: Text100 | None = None
    interests: Interests = []


class EnterpriseCreate(_Common, tag="enterprise", tag_field="kind"):
    industry: Text100 | None = None
    size: EnterpriseSize | None = None
    credit_rating: CreditRating | None = None
    bank_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    bank_account: BankAccount | None = None
    tax_id: TaxId | None = None
    contacts: Annotated[list[ContactIn], msgspec.Meta(max_length=20)] = []
    business_type: BusinessType | None = None
    company_nature: Text100 | None = None
    legal_representative: Text100 | None = None
    registered_capital: Amount | None = None
    sales: SalesIn | None = None
    competition: CompetitionIn | None = None
    invoice_phone: Fax | None = None
    invoice_requirements: Text500 | None = None
    website: Website | None = None
    purchase_needs: Text1000 | None = None


CustomerCreate = PersonCreate | EnterpriseCreate


class CustomerUpdate(Input):
    """Fields that change without approval; ``null`` clears an optional one. Name, phone, ID
    number, address and ownership are protected: ask with ``POST …/change-requests``."""

    status: LiveStatus | msgspec.UnsetType = msgspec.UNSET
    source: Source | msgspec.UnsetType = msgspec.UNSET
    purpose: Purpose | msgspec.UnsetType = msgspec.UNSET
    valid_until: date | None | msgspec.UnsetType = msgspec.UNSET
    email: Email | None | msgspec.UnsetType = msgspec.UNSET
    account_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    gender: Gender | None | msgspec.UnsetType = msgspec.UNSET
    occupation: Text100 | None | msgspec.UnsetType = msgspec.UNSET
    interests: Interests | msgspec.UnsetType = msgspec.UNSET
    industry: Text100 | None | msgspec.UnsetType = msgspec.UNSET
    size: EnterpriseSize | None | msgspec.UnsetType = msgspec.UNSET
    credit_rating: CreditRating | None | msgspec.UnsetType = msgspec.UNSET
    bank_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None | msgspec.UnsetType = msgspec.UNSET
    bank_account: BankAccount | None | msgspec.UnsetType = msgspec.UNSET
    tax_id: TaxId | None | msgspec.UnsetType = msgspec.UNSET
    contacts: Annotated[list[ContactIn], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    region: Region | None | msgspec.UnsetType = msgspec.UNSET
    fax: Fax | None | msgspec.UnsetType = msgspec.UNSET
    violations: Violations | msgspec.UnsetType = msgspec.UNSET
    evaluations: Evaluations | msgspec.UnsetType = msgspec.UNSET
    business_type: BusinessType | None | msgspec.UnsetType = msgspec.UNSET
    company_nature: Text100 | None | msgspec.UnsetType = msgspec.UNSET
    legal_representative: Text100 | None | msgspec.UnsetType = msgspec.UNSET
    registered_capital: Amount | None | msgspec.UnsetType = msgspec.UNSET
    sales: SalesIn | None | msgspec.UnsetType = msgspec.UNSET
    competition: CompetitionIn | None | msgspec.UnsetType = msgspec.UNSET
    invoice_phone: Fax | None | msgspec.UnsetType = msgspec.UNSET
    invoice_requirements: Text500 | None | msgspec.UnsetType = msgspec.UNSET
    website: Website | None | msgspec.UnsetType = msgspec.UNSET
    purchase_needs: Text1000 | None | msgspec.UnsetType = msgspec.UNSET


class ProtectedChanges(Input):
    """New values of protected fields; ``null`` clears phone, ID number or address."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | None | msgspec.UnsetType = msgspec.UNSET
    id_number: IdNumber | None | msgspec.UnsetType = msgspec.UNSET
    address: Address | None | msgspec.UnsetType = msgspec.UNSET


class OwnershipChanges(Input):
    role: OwnerRole | msgspec.UnsetType = msgspec.UNSET
    stage: ContractStage | msgspec.UnsetType = msgspec.UNSET
    contract_number: ContractNumber | None | msgspec.UnsetType = msgspec.UNSET
    subscribed_on: date | None | msgspec.UnsetType = msgspec.UNSET
    contracted_on: date | None | msgspec.UnsetType = msgspec.UNSET
    payment_method: PaymentMethod | None | msgspec.UnsetType = msgspec.UNSET
    amount: Amount | None | msgspec.UnsetType = msgspec.UNSET


NonEmpty = msgspec.Meta(extra_json_schema={"extra": {"min_properties": 1}})


class ChangeCustomer(Input, tag="change", tag_field="action"):
    """Ask for new values of protected fields (name, phone, ID number, address), with a reason."""

    reason: Reason
    changes: Annotated[ProtectedChanges, NonEmpty]


class DeleteCustomer(Input, tag="delete", tag_field="action"):
    """Ask for the customer's deletion, with a reason."""

    reason: Reason


class ChangeOwnership(Input, tag="change_ownership", tag_field="action"):
    """Ask for a change of one of the customer's unit ownerships, with a reason."""

    reason: Reason
    ownership_id: uuid.UUID
    changes: Annotated[OwnershipChanges, NonEmpty]


class DeleteOwnership(Input, tag="delete_ownership", tag_field="action"):
    """Ask for one of the customer's unit ownerships to end, with a reason."""

    reason: Reason
    ownership_id: uuid.UUID


# Applied only when the ``change_control`` approval chain approves it.
ChangeRequestIn = ChangeCustomer | DeleteCustomer | ChangeOwnership | DeleteOwnership


class MergeIn(Input):
    """Merge the customer ``mergedId`` into this one (the survivor), once approved."""

    merged_id: uuid.UUID
    reason: Reason


RevealField = Literal["phone", "idNumber", "address", "email", "bankAccount", "taxId", "contactPhones",
                      "contactEmails", "fax", "invoicePhone"]


class RevealIn(Input):
    fields: Annotated[list[RevealField], msgspec.Meta(min_length=1, max_length=10)]
    reason: Reason  # why the plaintext is needed: kept with the audit record of the reveal


class SearchIn(Input):
    """Exact phone, ID number, e-mail or bank account (through the blind index), name prefix,
    number; all given criteria must hold. They go in a body so they stay out of URLs and logs."""

    phone: Phone | None = None
    id_number: IdNumber | None = None
    email: Email | None = None
    bank_account: BankAccount | None = None
    name_prefix: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=30)] | None = None
    include_merged: bool = False


class BehaviourIn(Input):
    data: Behaviour


class ConsentWithdrawal(Input):
    channel: ConsentChannel
    # When the withdrawal takes effect; now when absent. Not before the consent took effect.
    withdrawn_at: Instant | None = None


class OwnContactUpdate(Input):
    """An owner's own contact details. Phone and address may need approval (tenant policy)."""

    email: Email | None | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | None | msgspec.UnsetType = msgspec.UNSET
    address: Address | None | msgspec.UnsetType = msgspec.UNSET


class CustomerSettings(Schema):
    """The tenant's customer policies."""

    # Owners' own phone and address changes go through the change_control approval chain.
    owner_contact_changes_need_approval: bool


class CustomerSettingsIn(Input):
    owner_contact_changes_need_approval: bool


# ----------------------------------------------------------------------------- output


class ContactOut(Schema):
    name: str
    title: str | None
    phone: str | None  # masked
    email: str | None  # masked


class OwnershipOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    unit_id: uuid.UUID
    unit_number: str
    building_id: uuid.UUID
    project_id: uuid.UUID
    role: OwnerRole
    stage: ContractStage
    contract_number: str | None
    subscribed_on: date | None
    contracted_on: date | None
    payment_method: PaymentMethod | None
    amount: Decimal | None  # a string on the wire: exact
    # Who serves this unit's customer today: the project department before the project's
    # handover date, customer affairs from it on (the org domain's rule).
    responsibility: Responsibility
    version: int
    created_at: datetime


class ConsentOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    kind: ConsentKind
    purpose: str
    channel: ConsentChannel
    granted_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None
    withdrawal_channel: ConsentChannel | None
    active: bool  # in effect now: granted, and not (yet) withdrawn
    version: int


class CustomerSummary(Schema):
    id: uuid.UUID
    number: str
    kind: CustomerKind
    name: str
    status: CustomerStatus
    node_id: uuid.UUID
    phone: str | None  # masked
    id_number: str | None  # masked
    merged_into_id: uuid.UUID | None
    version: int
    created_at: datetime


class SalesOut(Schema):
    annual: Decimal | None = None
    off_season: Decimal | None = None
    peak_season: Decimal | None = None
    monthly_purchasing: Decimal | None = None
    off_season_monthly_purchasing: Decimal | None = None
    peak_season_monthly_purchasing: Decimal | None = None


class CompetitionOut(Schema):
    competitor_products: str | None = None
    satisfaction: str | None = None
    competitor_representative: str | None = None
    representative_relation: str | None = None


class ViolationOut(Schema):
    on: date
    kind: str
    description: str


class EvaluationOut(Schema):
    evaluator: str
    evaluation: str


class CustomerOut(Schema):
    """A customer as staff see it: phone, ID number, address, e-mail, bank account and tax
    number masked (reveal them with ``POST /api/v1/customers/{id}/reveal``, which is audited)."""

    id: uuid.UUID
    number: str
    kind: CustomerKind
    name: str
    status: CustomerStatus
    node_id: uuid.UUID
    account_id: uuid.UUID | None
    source: str
    purpose: str
    entered_at: datetime
    valid_until: date | None
    # The record's classification level (see GET /archives/settings); null: not classified.
    classification: str | None
    phone: str | None
    email: str | None
    address: str | None
    gender: Gender | None
    id_number: str | None
    occupation: str | None
    interests: list[str]
    industry: str | None
    size: EnterpriseSize | None
    credit_rating: CreditRating | None
    bank_name: str | None
    bank_account: str | None
    tax_id: str | None
    contacts: list[ContactOut]
    # The archive form's fields (seed 002); fax and invoice phone masked.
    region: str | None
    fax: str | None
    violations: list[ViolationOut]
    evaluations: list[EvaluationOut]
    business_type: BusinessType | None
    company_nature: str | None
    legal_representative: str | None
    registered_capital: Decimal | None
    sales: SalesOut | None
    competition: CompetitionOut | None
    invoice_phone: str | None
    invoice_requirements: str | None
    website: str | None
    purchase_needs: str | None
    units: list[OwnershipOut]
    # The department responsible for the customer today (from their primary unit's project);
    # None for a prospect without units.
    responsibility: Responsibility | None
    behaviour: dict[str, BehaviourValue] | None
    merged_into_id: uuid.UUID | None
    merged_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class Revealed(Schema):
    """Plaintext of the fields asked for (absent fields were not asked for or are empty)."""

    id: uuid.UUID
    phone: str | None = None
    id_number: str | None = None
    address: str | None = None
    email: str | None = None
    bank_account: str | None = None
    tax_id: str | None = None
    contact_phones: list[str | None] | None = None
    contact_emails: list[str | None] | None = None
    fax: str | None = None
    invoice_phone: str | None = None


class OwnCustomerOut(Schema):
    """An owner's own record: their contact details in full, their units."""

    id: uuid.UUID
    number: str
    name: str
    phone: str | None
    email: str | None
    address: str | None
    id_number: str | None  # masked even to its owner: it never needs re-typing here
    units: list[OwnershipOut]
    version: int


class OwnContactResult(Schema):
    customer: OwnCustomerOut
    # Set when the phone or address change awaits approval (tenant policy); applied then.
    approval_request_id: uuid.UUID | None


class Duplicate(Schema):
    id: uuid.UUID
    number: str


class ImportRejection(Schema):
    row: int  # 1-based line of the file, the header being line 1
    field: str
    message: str


class ImportResult(Schema):
    """The result of a customer import job."""

    mode: ImportMode
    encoding: str
    rows: int
    imported: int
    rejected: int
    units: int  # ownerships recorded
    rejections: list[ImportRejection]
