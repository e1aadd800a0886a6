"""Request and response bodies of the privacy domain."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from app.core.schemas import Input, Schema, free_object
from app.domains.customers.models import ConsentKind
from app.domains.privacy.models import (
    PrivacyRequest,
    RequestChannel,
    RequestKind,
    RequestStatus,
    RetentionRun,
)

Text2000 = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
Days = Annotated[int, msgspec.Meta(ge=1, le=36500)]


Consents = Annotated[list[ConsentKind], msgspec.Meta(min_length=1, max_length=3)]


class RequestCreate(Input):
    customer_id: uuid.UUID
    kind: RequestKind
    channel: RequestChannel
    # What the person asks, in their words (for a correction: what is wrong and what is right).
    details: Text2000 | None = None
    consents: Consents | None = None  # a withdrawal: the kinds of consent withdrawn (only then)


class MyRequestCreate(Input):
    """A home owner's own request, from the app."""

    customer_id: uuid.UUID  # one of the caller's own customer records
    kind: RequestKind
    details: Text2000 | None = None
    consents: Consents | None = None  # a withdrawal: the kinds of consent withdrawn (only then)


class AnswerIn(Input):
    answer: Text2000  # told to the person: what was done (complete) or why not (refuse)


class DeliverIn(Input):
    reason: Reason  # why the package is opened now (handing it to the person, by which channel)


class ItemOut(Schema):
    """One kind of record: in a package, how many records; in an erasure, what was done."""

    kind: str
    records: int | None = None  # in a package; in a withdrawal, the consents withdrawn
    anonymised: int | None = None
    kept: int | None = None
    reason: str | None = None


class PrivacyRequestOut(Schema):
    id: uuid.UUID
    number: str
    kind: RequestKind
    status: RequestStatus
    channel: RequestChannel
    customer_id: uuid.UUID
    node_id: uuid.UUID
    has_details: bool
    filed_by: str
    consents: list[ConsentKind] | None
    due_on: date
    overdue: bool
    items: list[ItemOut] | None
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    approval_request_id: uuid.UUID | None  # where the tenant routes the kind through approval
    job_id: uuid.UUID | None
    package_ready: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: PrivacyRequest, today: date) -> PrivacyRequestOut:
        return cls(
            id=r.id, number=r.number, kind=r.kind, status=r.status, channel=r.channel, customer_id=r.customer_id,
            node_id=r.node_id, has_details=r.details_sealed is not None, filed_by=r.filed_by,
            consents=None if r.consent_kinds is None else [ConsentKind(k) for k in r.consent_kinds], due_on=r.due_on,
            overdue=r.status == RequestStatus.open and r.due_on < today,
            items=None if r.outcome is None else [msgspec.convert(i, ItemOut) for i in r.outcome],
            answer=r.answer, answered_by=r.answered_by, answered_at=r.answered_at,
            approval_request_id=r.approval_request_id, job_id=r.job_id,
            package_ready=r.package_sealed is not None, version=r.version, created_at=r.created_at,
            updated_at=r.updated_at)


class DetailsOut(Schema):
    details: str | None


PackageSections = Annotated[dict[str, Any], free_object(
    "Per kind of record (`customers.profile`, `interactions.visits`, ...): the person's records, in plain "
    "text.", nullable=False)]


class PackageOut(Schema):
    """The copy of everything the group holds about the person (PIPL art. 45): machine-readable."""

    request_id: uuid.UUID
    customer_id: uuid.UUID
    built_at: datetime
    sections: PackageSections


class PrivacySettingsIn(Input):
    """The group's privacy policy: the kinds of request decided through the approval engine."""

    approval_kinds: Annotated[list[RequestKind], msgspec.Meta(max_length=4)]


class PrivacySettings(Schema):
    approval_kinds: list[RequestKind]  # none by default: requests are carried out without approval


class RuleIn(Input):
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    days: Days
    enabled: bool = True


class RulesIn(Input):
    """The tenant's own periods: each kind listed gets its period; the others their default."""

    rules: Annotated[list[RuleIn], msgspec.Meta(max_length=100)]


class RuleOut(Schema):
    kind: str
    description: str
    default_days: int
    days: int
    enabled: bool
    customised: bool  # the tenant set its own period (else the default applies)


class RulesOut(Schema):
    rules: list[RuleOut]
    version: int  # 0 while every default applies


class RunOut(Schema):
    id: uuid.UUID
    kind: str
    days: int
    cutoff: datetime
    anonymised: int
    ran_at: datetime

    @classmethod
    def of(cls, r: RetentionRun) -> RunOut:
        return cls(id=r.id, kind=r.kind, days=r.days, cutoff=r.cutoff, anonymised=r.anonymised, ran_at=r.ran_at)
