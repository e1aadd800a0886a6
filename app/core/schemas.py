"""Base types for request and response bodies.

Every body is a msgspec Struct with camelCase names on the wire; request bodies refuse
unknown fields so that a typo is an error, not a silently ignored value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

import msgspec

T = TypeVar("T")

# Patterns use explicit ranges, never \s, \S or `.`: Python's regular expressions (the
# server) and JSON Schema's (ECMA 262, the clients and the fuzzer) disagree on what those
# match (\x1c-\x1f, \x85, \ufeff, \u2028), and the document must say exactly what is accepted.
_EMAIL_PART = r"[^@\x00-\x20\x7f]+"  # no spaces or control characters
EMAIL_PATTERN = rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$"
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=EMAIL_PATTERN, examples=["wang.li@example.com"])]
# One line of text: no control characters, no blank at either end.
ONE_LINE_PATTERN = r"^[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$"


def free_object(description: str, *, nullable: bool = True) -> msgspec.Meta:
    """The metadata of a field whose members are free-form on purpose (a job's result, an
    audit record's before/after, an approval request's payload): ``Annotated[dict[str, Any]
    | None, free_object(...)]`` (``dict[str, Any]`` and ``nullable=False`` when it is never
    null), documented as an object with any members (or null): said explicitly
    (``additionalProperties: true``) rather than left an untyped ``{}``."""
    anything = {"type": "object", "additionalProperties": True}
    if not nullable:
        return msgspec.Meta(description=description, extra_json_schema={"extra": anything})
    return msgspec.Meta(description=description, extra_json_schema={"extra": {"oneOf": [anything, {"type": "null"}]}})


class Schema(msgspec.Struct, rename="camel", kw_only=True):
    """A response body."""


# A point in time given by a client. The offset is required: a time without one names no
# instant. Times are stored in UTC, and in some offsets a time on the calendar's first or last
# day falls outside it there (0001-01-01T00:30+01:00 is a time of year 0): those days are
# refused wherever a body carries a time (``Input.__post_init__``), as the pattern documents.
EDGE_DAYS = ("0001-01-01", "9999-12-31")
INSTANT_PATTERN = f"^(?!{'|'.join(EDGE_DAYS)})"
Instant = Annotated[datetime, msgspec.Meta(
    tz=True, description="RFC 3339 with an offset (not on 0001-01-01 or 9999-12-31).",
    extra_json_schema={"extra": {"pattern": INSTANT_PATTERN}})]


def on_edge_day(value: datetime) -> bool:
    return value.date().isoformat() in EDGE_DAYS


class Input(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """A request body."""

    def __post_init__(self) -> None:
        for name, wire in zip(self.__struct_fields__, self.__struct_encode_fields__, strict=True):
            value = getattr(self, name)
            if isinstance(value, datetime) and on_edge_day(value):
                # msgspec reports it as a validation error at this struct's place in the body.
                raise ValueError(f"a time on 0001-01-01 or 9999-12-31 cannot be stored - at `$.{wire}`")


class Page(Schema, Generic[T]):
    """One page of a list, with the total number of matching items."""

    items: list[T]
    total: int
    limit: int
    offset: int


def provided(data: msgspec.Struct) -> dict[str, object]:
    """The fields a PATCH body actually carried (absent ones are ``UNSET``)."""
    return {
        name: value
        for name in data.__struct_fields__
        if (value := getattr(data, name)) is not msgspec.UNSET
    }
