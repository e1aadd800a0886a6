"""Bodies of the certificates domain: agencies and agreements, certificate cases with their
checklist, mortgage guarantees, overdue collection. camelCase on the wire, requests closed."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from app.core.schemas import ONE_LINE_PATTERN, Input, Schema
from app.domains.certificates.models import DOCUMENT_UPLOADS
from app.storage.uploads import FileName, Sha256Hex, UploadOut

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_PATTERN)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=ONE_LINE_PATTERN)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Money = Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$", examples=["800.00"],
                                    description="Yuan, as a string with at most 2 decimals.")]
Days = Annotated[int, msgspec.Meta(ge=1, le=3650)]
Phone = Annotated[str, msgspec.Meta(min_length=3, max_length=40, pattern=r"^[0-9+() -]+$")]
LoanAccount = Annotated[str, msgspec.Meta(min_length=6, max_length=40, pattern=r"^[0-9A-Za-z-]+$",
                                          description="The loan account number at the bank; stored sealed.")]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]


class Note(Input):
    note: Text | None = None


# ------------------------------------------------------------------------------- agencies

AgencyStatus = Literal["draft", "pending", "approved", "rejected", "withdrawn", "suspended"]


class AgencyCreate(Input):
    node_id: uuid.UUID
    name: Name
    contact_name: Name
    contact_phone: Phone
    licence_number: Short | None = None
    reputation: Text | None = None
    submit: bool = True  # propose it for selection at once


class AgencyUpdate(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    contact_name: Name | msgspec.UnsetType = msgspec.UNSET
    contact_phone: Phone | msgspec.UnsetType = msgspec.UNSET
    licence_number: Short | None | msgspec.UnsetType = msgspec.UNSET
    reputation: Text | None | msgspec.UnsetType = msgspec.UNSET


class AgencyOut(Schema):
    id: uuid.UUID
    node_id: uuid.UUID
    name: str
    contact_name: str
    contact_phone: str
    licence_number: str | None
    reputation: str | None
    status: AgencyStatus
    approval_request_id: uuid.UUID | None
    created_at: datetime
    version: int


class AgreementCreate(Input):
    number: Short
    scope: Text
    fee_per_case: Money
    days_to_issue: Days
    days_to_deliver: Days
    signed_on: date
    valid_from: date
    valid_until: date


class AgreementOut(Schema):
    id: uuid.UUID
    agency_id: uuid.UUID
    node_id: uuid.UUID
    number: str
    scope: str
    fee_per_case: Decimal
    days_to_issue: int
    days_to_deliver: int
    signed_on: date
    valid_from: date
    valid_until: date
    version: int


# ------------------------------------------------------------------------ certificate cases

CaseStatus = Literal["collecting", "submitted", "accepted", "issued", "delivered", "cancelled"]
DocumentStatus = Literal["missing", "collected", "expired"]


class ChecklistItemIn(Input):
    code: Code
    name: Name
    valid_days: Days | None = None


class CaseCreate(Input):
    unit_id: uuid.UUID
    customer_id: uuid.UUID
    agreement_id: uuid.UUID
    opened_on: date | None = None
    # The staff member following the case (told of each urge to the agency); the opener when omitted.
    responsible_account_id: uuid.UUID | None = None
    # The owner's checklist; the tenant's default checklist when omitted.
    checklist: Annotated[list[ChecklistItemIn], msgspec.Meta(min_length=1, max_length=30)] | None = None


class CaseUpdate(Input):
    """A change of a case's follow-up or a correction of its record, with the reason (audited)."""

    reason: Text
    responsible_account_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    certificate_number: Short | msgspec.UnsetType = msgspec.UNSET  # once issued: a typo corrected


class DocumentCollected(Input):
    code: Code  # the checklist line
    collected_on: date
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class CaseSubmit(Input):
    submitted_on: date


class CaseAccept(Input):
    accepted_on: date


class CaseIssue(Input):
    issued_on: date
    certificate_number: Short


class CaseDeliver(Input):
    delivered_on: date


class CaseCancel(Input):
    reason: Text


class FollowUp(Input):
    note: Text
    urge: bool = False  # an urge to the agency (counts as one)


class DocumentOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    valid_days: int | None
    collected_on: date | None
    expires_on: date | None
    status: DocumentStatus
    note: str | None
    version: int


class EventOut(Schema):
    kind: str
    at: datetime
    by: str
    note: str


class CaseOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    unit_id: uuid.UUID
    customer_id: uuid.UUID
    agency_id: uuid.UUID
    agreement_id: uuid.UUID
    status: CaseStatus
    opened_on: date
    submitted_on: date | None
    accepted_on: date | None
    issued_on: date | None
    delivered_on: date | None
    due_on: date | None
    late: bool
    late_since: date | None
    urge_count: int
    last_urged_on: date | None
    certificate_number: str | None
    cancel_reason: str | None
    responsible_account_id: uuid.UUID | None
    documents: list[DocumentOut]
    events: list[EventOut]
    created_at: datetime
    version: int


class CaseSummary(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    unit_id: uuid.UUID
    customer_id: uuid.UUID
    agency_id: uuid.UUID
    status: CaseStatus
    opened_on: date
    due_on: date | None
    late: bool
    certificate_number: str | None
    version: int


class OwnDocument(Schema):
    name: str
    status: DocumentStatus
    expires_on: date | None


class OwnCaseOut(Schema):
    """What the owner sees: where the certificate is, and what is still needed from them."""

    id: uuid.UUID
    number: str
    unit_id: uuid.UUID
    unit_number: str
    status: CaseStatus
    agency_name: str
    opened_on: date
    submitted_on: date | None
    issued_on: date | None
    delivered_on: date | None
    expected_by: date | None
    still_needed: list[OwnDocument]
    documents: list[OwnDocument]
    version: int


class StatisticsRow(Schema):
    key: uuid.UUID
    name: str
    total: int
    collecting: int
    in_progress: int  # submitted or accepted
    issued: int  # issued or delivered
    late: int
    finished_on_time: int
    finished_late: int
    on_time_rate: Decimal | None  # of the cases issued, the share issued by their due date
    average_days_to_issue: Decimal | None  # from submission to issue


class Statistics(Schema):
    by: Literal["agency", "project", "branch"]
    as_of: date
    rows: list[StatisticsRow]


# ---------------------------------------------------------------------------- guarantees

GuaranteeStatus = Literal["active", "pending", "approved", "rejected", "withdrawn", "released"]


class GuaranteeCreate(Input):
    unit_id: uuid.UUID
    customer_id: uuid.UUID
    bank: Name
    loan_account: LoanAccount
    loan_amount: Money
    starts_on: date
    kind: Literal["phased", "full_term"] = "phased"
    ends_on: date | None = None


class Registration(Input):
    """The mortgage registration (抵押登记) of the owner's loan on their certificate."""

    registered_on: date
    registration_number: Short


class GuaranteeUpdate(Input):
    """A correction of a guarantee's terms, with the reason (audited). The loan itself (unit,
    owner, account) is not corrected: a wrong loan is another guarantee."""

    reason: Text
    bank: Name | msgspec.UnsetType = msgspec.UNSET
    loan_amount: Money | msgspec.UnsetType = msgspec.UNSET
    kind: Literal["phased", "full_term"] | msgspec.UnsetType = msgspec.UNSET
    starts_on: date | msgspec.UnsetType = msgspec.UNSET
    ends_on: date | None | msgspec.UnsetType = msgspec.UNSET
    registration_number: Short | msgspec.UnsetType = msgspec.UNSET


DocumentKind = Literal["loan_contract", "guarantee_contract", "release_confirmation", "other"]


class DocumentIn(Input):
    """A document of a guarantee to upload: declared size, type and SHA-256."""

    kind: DocumentKind
    filename: FileName
    content_type: Literal["application/pdf", "image/jpeg", "image/png", "image/tiff"]
    size: Annotated[int, msgspec.Meta(ge=1, le=DOCUMENT_UPLOADS.max_size, description="Bytes, at most 20 MiB.")]
    sha256: Sha256Hex


class GuaranteeDocumentOut(Schema):
    id: uuid.UUID
    guarantee_id: uuid.UUID
    kind: DocumentKind
    filename: str
    content_type: str
    size: int
    sha256: str
    status: Literal["pending", "stored"]
    uploaded_by: str
    created_at: datetime
    version: int


class DocumentUpload(Schema):
    document: GuaranteeDocumentOut
    upload: UploadOut


class ReleaseRequest(Input):
    note: Text | None = None


class Release(Input):
    released_on: date
    bank_confirmation: Short  # the bank's confirmation reference (document number)
    # The uploaded and verified confirmation (a stored document of kind release_confirmation);
    # the guarantee's newest one when omitted.
    confirmation_document_id: uuid.UUID | None = None
    note: Text | None = None


class Conditions(Schema):
    """What makes a guarantee releasable, read from the certificate case and the registration."""

    certificate_issued: bool
    certificate_case_id: uuid.UUID | None
    certificate_issued_on: date | None
    mortgage_registered: bool
    registered_on: date | None


class GuaranteeOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    unit_id: uuid.UUID
    customer_id: uuid.UUID
    bank: str
    loan_account: str  # masked: the last four digits
    loan_amount: Decimal
    kind: Literal["phased", "full_term"]
    starts_on: date
    ends_on: date | None
    registration_number: str | None
    status: GuaranteeStatus
    releasable: bool
    conditions: Conditions
    approval_request_id: uuid.UUID | None
    released_on: date | None
    bank_confirmation: str | None
    release_document_id: uuid.UUID | None
    release_note: str | None
    documents: list[GuaranteeDocumentOut]
    created_at: datetime
    version: int


class LiabilityRow(Schema):
    bank: str
    project_id: uuid.UUID
    project_name: str
    guarantees: int
    amount: Decimal


class LiabilityTotal(Schema):
    bank: str
    guarantees: int
    amount: Decimal


class Liability(Schema):
    """The company's contingent liability: the loans it still guarantees."""

    rows: list[LiabilityRow]
    by_bank: list[LiabilityTotal]
    guarantees: int
    amount: Decimal


# --------------------------------------------------------------------- overdue collection

CollectionStatus = Literal["open", "referred", "litigated", "closed"]
Channel = Literal["phone", "sms", "email", "lawyer_letter", "visit"]
ReminderOutcome = Literal["reached", "no_answer", "promised", "refused", "delivered"]


class FeedRowIn(Input):
    """One overdue loan as finance reports it."""

    building_code: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    unit_number: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    bank: Name
    loan_account: LoanAccount
    overdue_since: date
    overdue_amount: Money  # 0: repaid, the case closes
    bank_recommends_litigation: bool = False


class FeedIn(Input):
    rows: Annotated[list[FeedRowIn], msgspec.Meta(min_length=1, max_length=20000)]
    as_of: date | None = None  # the feed's date; today when absent


class FeedResult(Schema):
    as_of: date
    rows: int
    created: int
    updated: int
    unchanged: int
    closed: int
    case_ids: list[uuid.UUID]  # in the rows' order


class ReminderIn(Input):
    channel: Channel
    outcome: ReminderOutcome
    at: datetime | None = None  # when; now when absent
    promised_on: date | None = None  # a promise to pay by this date
    note: Text | None = None


class ReminderOut(Schema):
    channel: str
    outcome: str
    at: datetime
    by: str
    promised_on: date | None
    note: str | None


class LitigationOutcome(Input):
    outcome: Literal["won", "settled", "lost", "withdrawn"]
    decided_on: date
    note: Text | None = None


class CollectionOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    unit_id: uuid.UUID
    customer_id: uuid.UUID
    bank: str
    loan_account: str  # masked
    overdue_since: date
    overdue_amount: Decimal
    overdue_months: int
    bank_recommends: bool
    fed_on: date
    status: CollectionStatus
    referred_at: datetime | None
    referral_reasons: list[str]
    outcome: str | None
    outcome_on: date | None
    outcome_note: str | None
    reminders: list[ReminderOut]
    next_promise: date | None
    version: int


class TimelineEntry(Schema):
    at: datetime
    action: str
    reason: str | None


class Materials(Schema):
    """The compiled materials of a referral: the case (amounts, reasons, reminders), the owner
    and the unit, the stored documents of the loan's guarantee, and the case's timeline."""

    case: CollectionOut
    owner_name: str
    unit: str  # project, building and unit number: 深圳湾花园 3栋 1203
    documents: list[GuaranteeDocumentOut]
    timeline: list[TimelineEntry]


class LitigationRule(Schema):
    """The tenant's litigation thresholds (seed 004 §4.6.4)."""

    months: int
    amount: Decimal
