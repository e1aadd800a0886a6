"""Query-string values that need more than the framework's parsing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.params import Parameter

from app.core.problems import ProblemError, field_error
from app.core.schemas import INSTANT_PATTERN, on_edge_day


def instant_param(name: str, description: str) -> Any:
    """A query-string instant, taken as text: a number is not a time, and a time without its
    offset is ambiguous (lenient datetime parsing would accept both)."""
    return Parameter(query=name, default=None,
                     description=f"{description} RFC 3339 with an offset (not on 0001-01-01 or 9999-12-31).",
                     schema_extra={"format": "date-time", "pattern": INSTANT_PATTERN})


def instant(value: str | None, field: str) -> datetime | None:
    """A query-string instant (see ``instant_param``), or 422 naming the parameter."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ProblemError("validation", f"{field}: not an RFC 3339 date-time.",
                           errors=[field_error(field, "not an RFC 3339 date-time", "query")]) from None
    if parsed.tzinfo is None:
        raise ProblemError("validation", f"{field}: give the offset, e.g. 2026-05-01T00:00:00+08:00.",
                           errors=[field_error(field, "needs an offset", "query")])
    if on_edge_day(parsed):
        raise ProblemError("validation", f"{field}: a time on 0001-01-01 or 9999-12-31 cannot be stored.",
                           errors=[field_error(field, "on the first or last day of the calendar", "query")])
    return parsed
