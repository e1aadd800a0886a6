"""Limit/offset pagination, explicit sorting and the query helpers every list uses."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from app.core.problems import ProblemError, field_error
from app.core.schemas import Page

T = TypeVar("T")
C = TypeVar("C")

# A column to sort or filter by: a Core expression, or a mapped attribute (``Model.field``).
ColumnLike = ColumnElement[C] | QueryableAttribute[C]

MAX_LIMIT = 200


class PageParams(msgspec.Struct, frozen=True):
    limit: int
    offset: int
    sort: str | None


async def provide_page_params(
    limit: int = Parameter(query="limit", ge=1, le=MAX_LIMIT, default=50, description="Items per page."),
    offset: int = Parameter(query="offset", ge=0, le=10_000_000, default=0, description="Items to skip."),
    sort: str | None = Parameter(
        query="sort", default=None, max_length=200,
        description="Comma-separated fields; a leading '-' sorts descending, e.g. `-createdAt,name`.",
    ),
) -> PageParams:
    return PageParams(limit=limit, offset=offset, sort=sort)


def sort_pattern(fields: Sequence[str]) -> str:
    """``sort`` as a regular expression: comma-separated fields of ``fields``, each optionally signed."""
    term = "[+-]?(?:" + "|".join(re.escape(f) for f in sorted(fields)) + ")"
    return f"^{term}(?:,{term})*$"


def page_params(*sortable: str) -> Provide:
    """The ``page`` dependency of a list sortable by ``sortable`` (the fields its service's
    ``order_by`` allows): the document lists them, and any other ``sort`` is refused (422)
    before the handler runs, as the schema says."""
    pattern = sort_pattern(sortable)
    described = ", ".join(f"`{f}`" for f in sorted(sortable))

    async def provide(
        limit: int = Parameter(query="limit", ge=1, le=MAX_LIMIT, default=50, description="Items per page."),
        offset: int = Parameter(query="offset", ge=0, le=10_000_000, default=0, description="Items to skip."),
        sort: str | None = Parameter(
            query="sort", default=None, max_length=200, pattern=pattern,
            description=f"Comma-separated fields of {described}; a leading '-' sorts descending.",
        ),
    ) -> PageParams:
        return PageParams(limit=limit, offset=offset, sort=sort)

    return Provide(provide)


def order_by(sort: str | None, allowed: Mapping[str, ColumnLike[Any]], default: Sequence[str]) -> list[Any]:
    """Translate ``-createdAt,name`` into ORDER BY clauses over the allowed fields only."""
    terms = [t.strip() for t in (sort.split(",") if sort else default) if t.strip()]
    clauses: list[Any] = []
    for term in terms:
        name = term.lstrip("+-")
        column = allowed.get(name)
        if column is None:
            raise ProblemError(
                "validation",
                f"cannot sort by {name!r}",
                errors=[field_error("sort", f"allowed: {', '.join(sorted(allowed))}", "query")],
            )
        clauses.append(column.desc() if term.startswith("-") else column.asc())
    return clauses


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    *,
    sortable: Mapping[str, ColumnLike[Any]],
    default_sort: Sequence[str],
    tiebreak: ColumnLike[Any],
    to_schema: Callable[[Any], T],
) -> Page[T]:
    """Run a filtered SELECT as one page plus the total count of matching rows."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    ordered = stmt.order_by(*order_by(params.sort, sortable, default_sort), tiebreak)
    rows = (await session.scalars(ordered.limit(params.limit).offset(params.offset))).all()
    return Page(items=[to_schema(r) for r in rows], total=total or 0, limit=params.limit, offset=params.offset)
