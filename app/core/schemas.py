"""Base types for request and response bodies.

Every body is a msgspec Struct with camelCase names on the wire; request bodies refuse
unknown fields so that a typo is an error, not a silently ignored value.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

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


def free_object(description: str, *, nullable: bool = True) -> Any:
    """``dict[str, Any] | None`` (``dict[str, Any]`` when not ``nullable``) for a field whose
    members are free-form on purpose (a job's result, an audit record's before/after, an
    approval request's payload), documented as an object with any members (or null): said
    explicitly (``additionalProperties: true``) rather than left an untyped ``{}``."""
    anything = {"type": "object", "additionalProperties": True}
    if not nullable:
        return Annotated[dict[str, Any], msgspec.Meta(description=description, extra_json_schema={"extra": anything})]
    return Annotated[dict[str, Any] | None, msgspec.Meta(description=description, extra_json_schema={
        "extra": {"oneOf": [anything, {"type": "null"}]}})]


class Schema(msgspec.Struct, rename="camel", kw_only=True):
    """A response body."""


class Input(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """A request body."""


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
