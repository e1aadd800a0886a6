"""A customer's whole history in one place (seed 001 §2.1.2): one paged list, newest first,
of what every domain recorded about them, each entry shown only to a caller who may read it
where it sits.

A domain contributes by declaring its parts (``timeline="app.domains.x.models:TIMELINE"``)::

    TIMELINE = [TimelineSource(
        "inquiry", "inquiries.read", "inquiries:read",
        lambda customer_id: select(Inquiry.id, Inquiry.created_at, Inquiry.subject, Inquiry.status,
                                   Inquiry.node_id).where(Inquiry.customer_id == customer_id))]

The select names, in this order: the record's id, when it happened, a one-line title, its
status (or None) and the org node it sits at; ``permission`` is what reading it needs there,
and ``scope`` what the caller's token needs (a token limited to customers sees no complaints).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams
from app.core.schemas import Page, Schema
from app.domains.access.authz import Authorizer


@dataclass(frozen=True)
class TimelineSource:
    kind: str  # what the entries are: "inquiry", "visit", "complaint"…
    permission: str  # needed at the record's node to see the entry
    scope: str  # needed in the caller's token
    # (id, at, title, status, node id) of one customer's records
    entries: Callable[[uuid.UUID], Select[*tuple[Any, ...]]]


class TimelineEntry(Schema):
    kind: str
    id: uuid.UUID
    at: datetime
    title: str
    status: str | None
    node_id: uuid.UUID


_SOURCES: dict[str, TimelineSource] = {}


def sources() -> dict[str, TimelineSource]:
    """Every part of the history the domains declare, by kind."""
    if not _SOURCES:
        from app.domains import domains

        for domain in domains():
            for source in domain.timeline_sources():
                if _SOURCES.setdefault(source.kind, source) is not source:
                    raise ValueError(f"timeline kind {source.kind!r} declared twice")
    return _SOURCES


async def customer_timeline(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, params: PageParams,
                            *, kinds: list[str] | None = None) -> Page[TimelineEntry]:
    """The customer's history (the caller may read the customer: the caller checks), newest
    first; only the entries the caller may read where they sit."""
    parts = []
    for kind, source in sorted(sources().items()):
        if kinds and kind not in kinds:
            continue
        if source.scope not in authz.principal.scopes:
            continue
        paths = authz.paths(source.permission)
        if paths is not None and not paths:
            continue  # not readable anywhere: no query at all
        part = source.entries(customer_id).subquery()
        cols = [part.c[i] for i in range(5)]
        parts.append(select(literal(kind, String).label("kind"), cols[0].label("id"), cols[1].label("at"),
                            cast(cols[2], String).label("title"), cast(cols[3], String).label("status"),
                            cols[4].label("node_id")).where(authz.visible(source.permission, cols[4])))
    if not parts:
        return Page(items=[], total=0, limit=params.limit, offset=params.offset)
    every = union_all(*parts).subquery()
    total = await session.scalar(select(func.count()).select_from(every)) or 0
    found = (await session.execute(select(every).order_by(every.c.at.desc(), every.c.kind, every.c.id)
                                   .limit(params.limit).offset(params.offset))).all()
    items = [TimelineEntry(kind=r.kind, id=r.id, at=r.at, title=r.title, status=r.status, node_id=r.node_id)
             for r in found]
    return Page(items=items, total=total, limit=params.limit, offset=params.offset)
