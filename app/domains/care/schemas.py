"""Request and response bodies of care campaigns."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Literal

import msgspec

from app.core.schemas import Input, Schema
from app.domains.care.models import Occasion

Channel = Literal["app", "push", "sms", "email", "wechat"]
Channels = Annotated[list[Channel], msgspec.Meta(min_length=1, max_length=5)]
Month = Annotated[int, msgspec.Meta(ge=1, le=12)]
Day = Annotated[int, msgspec.Meta(ge=1, le=31)]


class RuleIn(Input):
    """A care campaign. A holiday names its month and day; ``{name}`` in the subject or body
    is the customer's name."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    occasion: Occasion
    channels: Channels
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    month: Month | None = None
    day: Day | None = None
    active: bool = True


class RuleUpdate(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | msgspec.UnsetType = msgspec.UNSET
    channels: Channels | msgspec.UnsetType = msgspec.UNSET
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | msgspec.UnsetType = msgspec.UNSET
    month: Month | None | msgspec.UnsetType = msgspec.UNSET
    day: Day | None | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class RuleOut(Schema):
    id: uuid.UUID
    name: str
    occasion: Occasion
    month: int | None
    day: int | None
    channels: list[str]
    subject: str
    body: str
    active: bool
    created_at: datetime
    version: int


# A time of day as HH:MM:SS (a string: OpenAPI has no format for a time without a date).
Clock = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$",
                                    description="HH:MM:SS, in the group's time zone.", examples=["21:00:00"])]


class QuietHours(Input):
    """When no care message goes out, in the group's time zone (``start`` to ``end``, across
    midnight when ``end`` is earlier; equal times: none). Messages due meanwhile are held until
    they end."""

    start: Clock
    end: Clock

    def times(self) -> tuple[time, time]:
        return time.fromisoformat(self.start), time.fromisoformat(self.end)


class QuietHoursOut(Schema):
    start: str
    end: str
    time_zone: str  # the group's, which the times are in


class PreferenceIn(Input):
    """The customer's channels in order of preference; empty: the rules' own order."""

    channels: Annotated[list[Channel], msgspec.Meta(max_length=5)]


class PreferenceOut(Schema):
    customer_id: uuid.UUID
    channels: list[str]
    # The owner's own quiet hours (set from the app), on top of the group's; None: the group's only.
    quiet_hours: QuietHoursOut | None
    wechat_bound: bool  # the owner bound their WeChat in the app (the openid is never shown)
    updated_at: datetime | None
    version: int


class OwnPreferenceIn(Input):
    """How the owner wants to hear from the group's care campaigns: only these channels, in this
    order, among a campaign's (empty: the campaign's order); and, optionally, their own quiet
    hours on top of the group's."""

    channels: Annotated[list[Channel], msgspec.Meta(max_length=5)]
    quiet_hours: QuietHours | None = None


class WechatBindIn(Input):
    """The owner's openid for the group's official account, as the app obtained it from WeChat."""

    openid: Annotated[str, msgspec.Meta(min_length=6, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                        examples=["oQ7Jx5Ab3cDeFgHiJkLmNoPqRsTu"])]


class WechatBindingOut(Schema):
    """Whether the owner's WeChat is bound (the openid is personal data: never shown back)."""

    bound: bool
    bound_at: datetime | None
    version: int


class OwnPreferenceOut(Schema):
    channels: list[str]
    quiet_hours: QuietHoursOut | None
    wechat: WechatBindingOut
    updated_at: datetime | None
    version: int


class CareMessageOut(Schema):
    id: uuid.UUID
    rule_id: uuid.UUID
    customer_id: uuid.UUID
    occasion: str
    channel: str
    skipped: list[dict[str, str]]  # the customer's channels passed over before this one, and why
    sent_at: datetime
