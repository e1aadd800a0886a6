"""Wire shapes of the confidentiality register."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from app.core.schemas import ONE_LINE_PATTERN, Input, Schema
from app.domains.confidentiality.models import BreachStatus

LevelCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["secret"],
                                        description="A classification level code of the group (GET "
                                                    "/api/v1/archives/settings).")]
Line500 = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=ONE_LINE_PATTERN)]
Text2000 = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500)]


class ClassificationIn(Input):
    classification: LevelCode | None  # null: no longer classified
    reason: Reason


class ClassificationOut(Schema):
    customer_id: uuid.UUID
    classification: str | None
    version: int


class TransferCreate(Input):
    customer_id: uuid.UUID
    material: Line500
    recipient_account_id: uuid.UUID
    purpose: Line500
    classification: LevelCode | None = None  # the customer's level (or the policy default) when absent


class TransferOut(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    material: str
    classification: str
    sent_by: str
    recipient_account_id: uuid.UUID
    purpose: str
    sent_at: datetime
    returned_at: datetime | None
    returned_to: str | None
    version: int


class BreachCreate(Input):
    customer_id: uuid.UUID
    description: Text2000
    transfer_id: uuid.UUID | None = None


class ActionIn(Input):
    action: Text2000


class CloseIn(Input):
    report: Text2000


class BreachAction(Schema):
    action: str
    by: str
    at: datetime


class BreachOut(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    transfer_id: uuid.UUID | None
    status: BreachStatus
    description: str
    reported_by: str
    actions: list[BreachAction]
    report: str | None
    closed_by: str | None
    closed_at: datetime | None
    created_at: datetime
    version: int
