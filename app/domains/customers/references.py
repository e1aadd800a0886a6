"""Where other tables point at a customer, so that a merge moves every one of them.

A domain whose table holds a customer id registers it once, at import::

    from app.domains.customers.references import register_customer_reference

    register_customer_reference(Complaint.__table__, "customer_id")

When a merge is approved, every registered column is rewritten from the merged-away
customer to the survivor in the approval's transaction; an approved deletion is refused
(409) while any registered table outside the customers domain still names the customer.

Columns of other domains that hold a customer's behaviour data (what they want, what they
object to) are registered with ``register_behaviour_data``: when the customer's last
behaviour consent is withdrawn, they are cleared in the withdrawal's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rowcount


@dataclass(frozen=True)
class CustomerReference:
    table: Table
    column: str
    # The customers domain's own tables: they go with a deleted customer (ON DELETE CASCADE).
    owned: bool = False

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column}"


CUSTOMER_REFERENCES: dict[str, CustomerReference] = {}


def register_customer_reference(table: Any, column: str, *, owned: bool = False) -> None:
    """Register ``table.column`` (a Table, or a mapped class) as holding customer ids."""
    table = getattr(table, "__table__", table)
    if not isinstance(table, Table) or column not in table.c:
        raise ValueError(f"{column!r} is not a column of {table!r}")
    ref = CustomerReference(table=table, column=column, owned=owned)
    if CUSTOMER_REFERENCES.get(ref.name, ref) != ref:
        raise ValueError(f"customer reference {ref.name} registered twice")
    CUSTOMER_REFERENCES[ref.name] = ref


async def move_references(session: AsyncSession, merged: uuid.UUID, survivor: uuid.UUID) -> dict[str, int]:
    """Point every registered reference to ``merged`` at ``survivor``; rows moved per column."""
    moved: dict[str, int] = {}
    for name, ref in sorted(CUSTOMER_REFERENCES.items()):
        column = ref.table.c[ref.column]
        result = await session.execute(update(ref.table).where(column == merged).values({ref.column: survivor})
                                        .execution_options(synchronize_session=False))
        moved[name] = rowcount(result)
    return moved


async def foreign_holders(session: AsyncSession, customer: uuid.UUID) -> dict[str, int]:
    """Rows of other domains that still name ``customer`` (they block its deletion)."""
    found: dict[str, int] = {}
    for name, ref in sorted(CUSTOMER_REFERENCES.items()):
        if ref.owned:
            continue
        count = await session.scalar(select(func.count()).select_from(ref.table)
                                     .where(ref.table.c[ref.column] == customer))
        if count:
            found[name] = count
    return found


@dataclass(frozen=True)
class BehaviourData:
    table: Table
    customer_column: str
    cleared: dict[str, Any]  # column -> its value when it holds nothing

    @property
    def name(self) -> str:
        return f"{self.table.name}.{'+'.join(sorted(self.cleared))}"


BEHAVIOUR_DATA: dict[str, BehaviourData] = {}


def register_behaviour_data(table: Any, customer_column: str, cleared: dict[str, Any]) -> None:
    """Register columns of ``table`` (a Table, or a mapped class) as behaviour data of the
    customer named in ``customer_column``: set to their ``cleared`` values on withdrawal."""
    table = getattr(table, "__table__", table)
    missing = [c for c in [customer_column, *cleared] if c not in table.c]
    if missing or not cleared:
        raise ValueError(f"{missing} are not columns of {table!r}")
    entry = BehaviourData(table=table, customer_column=customer_column, cleared=dict(cleared))
    if BEHAVIOUR_DATA.get(entry.name, entry) != entry:
        raise ValueError(f"behaviour data {entry.name} registered twice")
    BEHAVIOUR_DATA[entry.name] = entry


async def erase_behaviour_data(session: AsyncSession, customer: uuid.UUID) -> dict[str, int]:
    """Clear every registered behaviour column of ``customer``'s rows; rows changed per entry.
    A versioned row gets a new version, so that its ETag tells clients it changed."""
    erased: dict[str, int] = {}
    for name, entry in sorted(BEHAVIOUR_DATA.items()):
        t = entry.table
        values: dict[str, Any] = dict(entry.cleared)
        if "version" in t.c:
            values["version"] = t.c.version + 1
        result = await session.execute(
            update(t).where(t.c[entry.customer_column] == customer,
                            or_(*(t.c[c] != v for c, v in entry.cleared.items())))
            .values(values).execution_options(synchronize_session=False))
        if count := rowcount(result):
            erased[name] = count
    return erased
