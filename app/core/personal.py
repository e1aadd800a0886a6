"""What a domain holds about a person, declared once, so that a person's rights (see, copy,
correct, delete: PIPL arts. 44-47) and the retention rules reach every domain.

A domain declares ``personal="app.domains.x.personal:PERSONAL"`` in its ``Domain``; the
attribute is a :class:`PersonalData`:

- ``holdings``: each kind of record it keeps about a person (a customer), with ``collect``
  (the person's records of that kind, plaintext, for their copy) and ``erase`` (anonymise
  them in place, or keep them and say why: a contract, a complaint under litigation, an
  archive under legal hold);
- ``retention``: each kind of record that ages out, with its default period and
  ``anonymise`` (records last touched before a cutoff, in one batch);
- ``sealed``: each sealed column with the field its values are bound to, and ``reseal`` for
  sealed values kept inside JSON, so that a key rotation seals every value again.

Columns: a column named or marked as personal data (:data:`PERSONAL_NAME`, or ``info``
from :func:`personal`) is stored sealed (``*_sealed``, ``LargeBinary``) with an optional
blind index (``*_index``), or carries a written reason to be kept plain
(:func:`kept_plain`). ``tests/quality/test_personal_data.py`` checks every table.

This module knows no domain: the privacy domain reads the declarations from the domain list.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rowcount

# Column names that hold personal data by their name (PIPL art. 4; art. 28 for the sensitive ones).
PERSONAL_NAME = re.compile(
    r"(^|_)(e?mail|phone|mobile|telephone|fax|wechat|id_number|id_card|passport|bank_account|account_number|"
    r"iban|tax_id|address|birth_?date|birthday)(_|$)")


def personal(**extra: Any) -> dict[str, Any]:
    """``info`` of a column that holds personal data whatever its name (so the gate checks it)."""
    return {"personal": True, **extra}


def kept_plain(reason: str) -> dict[str, Any]:
    """``info`` of a personal column stored in plain text on purpose, with the reason written."""
    if len(reason.strip()) < 20:
        raise ValueError("say why this personal data is kept in plain text")
    return {"personal": True, "unsealed": reason}


@dataclass(frozen=True)
class Erasure:
    """What an erasure did with one kind of record: rows anonymised, rows kept and why."""

    kind: str
    anonymised: int = 0
    kept: int = 0
    reason: str | None = None  # why the kept rows stay (law, contract, litigation, hold)


# (session, customer id) -> the person's records of one kind, as JSON-ready objects.
Collect = Callable[[AsyncSession, uuid.UUID], Awaitable[list[dict[str, Any]]]]
# (session, customer id) -> what was anonymised and what kept.
Erase = Callable[[AsyncSession, uuid.UUID], Awaitable[Erasure]]
# (session, cutoff, batch size) -> rows anonymised: records of the kind last touched before cutoff.
Anonymise = Callable[[AsyncSession, datetime, int], Awaitable[int]]


@dataclass(frozen=True)
class Holding:
    kind: str  # "customers.profile": domain-qualified, stable (it names the package's sections)
    description: str
    collect: Collect
    erase: Erase


@dataclass(frozen=True)
class Retention:
    kind: str  # "customers.lost": a retention rule's key
    description: str
    default_days: int
    anonymise: Anonymise


@dataclass(frozen=True)
class SealedColumn:
    """A column of sealed values and the field name each is bound to (its associated data):
    what a key rotation needs to open and seal them again."""

    table: Table
    column: str
    field: str

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column}"


def sealed_column(model: Any, column: str, field_name: str) -> SealedColumn:
    table = _table(model)
    if column not in table.c or not column.endswith("_sealed"):
        raise ValueError(f"{table.name}.{column} is not a sealed column")
    return SealedColumn(table, column, field_name)


# (session, batch size) -> values sealed again with the newest key: for sealed values a domain
# keeps inside a JSON document rather than a column of their own. Called until it returns 0.
Reseal = Callable[[AsyncSession, int], Awaitable[int]]


@dataclass(frozen=True)
class PersonalData:
    holdings: tuple[Holding, ...] = ()
    retention: tuple[Retention, ...] = field(default_factory=tuple)
    sealed: tuple[SealedColumn, ...] = ()  # every ``*_sealed`` column of the domain (the gate checks)
    reseal: tuple[Reseal, ...] = ()


ANONYMISED = "(anonymised)"


def json_ready(value: Any) -> Any:
    """A value as JSON writes it: ids and instants as text, structures walked."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return json_ready(value.value)
    return str(value)


# ------------------------------------------------------------------ declarations over one table


def _table(model: Any) -> Table:
    table = getattr(model, "__table__", model)
    if not isinstance(table, Table):
        raise TypeError(f"{model!r} is not a table or a mapped class")
    return table


def _changed(table: Table, blank: Mapping[str, Any]) -> ColumnElement[bool]:
    """Rows where some column still differs from its blank value (not anonymised yet)."""
    return or_(*(table.c[c].is_not(None) if v is None else table.c[c] != v for c, v in blank.items()))


def _blanked(table: Table, blank: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(blank)
    if "version" in table.c:  # a versioned row gets a new version: its ETag tells clients it changed
        values["version"] = table.c.version + 1
    return values


def rows_holding(kind: str, description: str, model: Any, *, show: Sequence[str], person: str = "customer_id",
                 sealed: Mapping[str, str] | None = None, blank: Mapping[str, Any] | None = None,
                 keep: str | None = None) -> Holding:
    """A holding of one table's rows naming the person in ``person``.

    The copy shows the columns ``show`` and the ``sealed`` ones (column -> its sealed-field
    name, opened with the tenant's key). An erasure sets the ``blank`` values (ids, dates and
    amounts stay), or, with ``keep``, keeps every row and gives that reason.
    """
    table = _table(model)
    sealed = dict(sealed or {})
    missing = [c for c in [person, *show, *sealed, *(blank or {})] if c not in table.c]
    if missing or (blank is None) == (keep is None):
        raise ValueError(f"{kind}: columns {missing} of {table.name}; give blank values or a reason to keep")

    async def collect(session: AsyncSession, person_id: uuid.UUID) -> list[dict[str, Any]]:
        from app.core.keystore import tenant_keys

        keys = await tenant_keys(session) if sealed else None
        order = [table.c[c] for c in ("created_at", "id") if c in table.c]
        rows = (await session.execute(select(table).where(table.c[person] == person_id).order_by(*order))).all()
        out = []
        for row in rows:
            item = {_camel(c): getattr(row, c) for c in show}
            for column, field_name in sealed.items():
                value = getattr(row, column)
                item[_camel(column.removesuffix("_sealed"))] = None if value is None or keys is None \
                    else keys.open(field_name, value)
            out.append(item)
        return out

    async def erase(session: AsyncSession, person_id: uuid.UUID) -> Erasure:
        mine = table.c[person] == person_id
        if keep is not None:
            count = await session.scalar(select(func.count()).select_from(table).where(mine))
            return Erasure(kind=kind, kept=count or 0, reason=keep)
        assert blank is not None
        result = await session.execute(update(table).where(mine, _changed(table, blank))
                                       .values(_blanked(table, blank)).execution_options(synchronize_session=False))
        return Erasure(kind=kind, anonymised=rowcount(result))

    return Holding(kind, description, collect, erase)


def aged_rows(kind: str, description: str, default_days: int, model: Any, *, at: str,
              blank: Mapping[str, Any], where: Callable[[Table], ColumnElement[bool]] | None = None) -> Retention:
    """A retention kind over one table: rows whose ``at`` is older than the cutoff (and that
    ``where`` keeps) get the ``blank`` values, one batch at a time."""
    table = _table(model)
    missing = [c for c in [at, *blank] if c not in table.c]
    if missing or not blank:
        raise ValueError(f"{kind}: columns {missing} of {table.name}")

    async def anonymise(session: AsyncSession, cutoff: datetime, batch: int) -> int:
        chosen = select(table.c.id).where(table.c[at] < cutoff, _changed(table, blank))
        if where is not None:
            chosen = chosen.where(where(table))
        ids = chosen.limit(batch).with_for_update(skip_locked=True).scalar_subquery()
        result = await session.execute(update(table).where(table.c.id.in_(ids)).values(_blanked(table, blank))
                                       .execution_options(synchronize_session=False))
        return rowcount(result)

    return Retention(kind, description, default_days, anonymise)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
