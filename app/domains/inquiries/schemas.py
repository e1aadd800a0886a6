"""Request and response bodies of inquiries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from app.core.schemas import Input, Instant, Schema
from app.domains.inquiries.models import Channel, Inquiry, InquiryStatus, InquiryTransfer
from app.domains.org.schemas import Department

# No whitespace pattern: JSON Schema's and Python's notions of whitespace differ (\x1c-\x1f).
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text500 = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Text1000 = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]


class InquiryCreate(Input):
    channel: Channel
    project_id: uuid.UUID
    subject: Text200
    description: LongText
    promised_reply_at: Instant
    # Who contacted us and how to reach them for the reply (an unknown caller has no customer).
    contact_note: Text500
    customer_id: uuid.UUID | None = None


class TransferIn(Input):
    to_owner_id: uuid.UUID  # the staff account of the next owner
    need: Text1000  # what the next owner must find out or do


class AnswerIn(Input):
    answer: LongText


class TransferOut(Schema):
    from_owner_id: str
    to_owner_id: str
    need: str
    at: datetime

    @classmethod
    def of(cls, t: InquiryTransfer) -> TransferOut:
        return cls(from_owner_id=t.from_owner, to_owner_id=t.to_owner, need=t.need, at=t.at)


class InquiryOut(Schema):
    id: uuid.UUID
    number: str
    channel: Channel
    customer_id: uuid.UUID | None
    contact_note: str | None
    project_id: uuid.UUID
    subject: str
    description: str
    owner_id: str
    department: Department
    promised_reply_at: datetime
    overdue: bool
    status: InquiryStatus
    answer: str | None
    answered_at: datetime | None
    transfer_count: int
    transfers: list[TransferOut]
    created_at: datetime
    version: int

    @classmethod
    def of(cls, i: Inquiry, transfers: list[InquiryTransfer], now: datetime) -> InquiryOut:
        return cls(id=i.id, number=i.number, channel=i.channel, customer_id=i.customer_id,
                   contact_note=i.contact_note, project_id=i.node_id, subject=i.subject, description=i.description,
                   owner_id=i.owner_id, department=i.department, promised_reply_at=i.promised_reply_at,
                   overdue=is_overdue(i, now), status=i.status, answer=i.answer, answered_at=i.answered_at,
                   transfer_count=i.transfer_count, transfers=[TransferOut.of(t) for t in transfers],
                   created_at=i.created_at, version=i.version)


class InquirySummary(Schema):
    id: uuid.UUID
    number: str
    channel: Channel
    project_id: uuid.UUID
    subject: str
    owner_id: str
    department: Department
    promised_reply_at: datetime
    overdue: bool
    status: InquiryStatus
    transfer_count: int

    @classmethod
    def of(cls, i: Inquiry, now: datetime) -> InquirySummary:
        return cls(id=i.id, number=i.number, channel=i.channel, project_id=i.node_id, subject=i.subject,
                   owner_id=i.owner_id, department=i.department, promised_reply_at=i.promised_reply_at,
                   overdue=is_overdue(i, now), status=i.status, transfer_count=i.transfer_count)


def is_overdue(i: Inquiry, now: datetime) -> bool:
    """Open past its promised reply time (an answered or closed inquiry is never overdue)."""
    return i.status == InquiryStatus.open and i.promised_reply_at < now
