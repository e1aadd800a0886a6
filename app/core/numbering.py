"""Human numbers per tenant for registers: ``KH-2026-000123`` (customers), ``TS-2026-000045``
(complaints), ... One counter row per (series, year) in the tenant table ``number_series``.

A number is taken with one atomic statement (``INSERT … ON CONFLICT DO UPDATE … RETURNING``,
i.e. an UPDATE … RETURNING once the year's row exists): concurrent takers serialise on the
row, each gets its own value, and no two numbers repeat. The row lock is held until the
taker's transaction ends, so a rolled-back request leaves no gap behind; the price is that
numbers of one series are handed out one transaction at a time.
"""

from __future__ import annotations

import re

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import TenantBase

SERIES_RE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
DIGITS = 6


class NumberSeries(TenantBase):
    __tablename__ = "number_series"

    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The value the next taker gets.
    next_value: Mapped[int] = mapped_column(BigInteger, nullable=False)


def format_number(series: str, year: int, value: int) -> str:
    return f"{series}-{year}-{value:0{DIGITS}d}"


async def take(session: AsyncSession, series: str, year: int, count: int = 1) -> int:
    """Reserve ``count`` consecutive values of ``series`` in ``year``; returns the first."""
    if not SERIES_RE.match(series):
        raise ValueError(f"series {series!r}: 1 to 10 upper-case letters and digits, starting with a letter")
    if count < 1:
        raise ValueError("count must be positive")
    table = NumberSeries.__table__
    stmt = (
        insert(table)
        .values(series=series, year=year, next_value=1 + count)
        .on_conflict_do_update(index_elements=[table.c.series, table.c.year],
                               set_={"next_value": table.c.next_value + count})
        .returning(table.c.next_value)
    )
    after = await session.scalar(stmt)
    assert after is not None
    return int(after) - count


async def next_number(session: AsyncSession, series: str, year: int) -> str:
    """The next human number of ``series`` in ``year``, e.g. ``KH-2026-000123``."""
    return format_number(series, year, await take(session, series, year))
