"""The gate over every table: a column named or marked as personal data (PIPL art. 4; art. 28
for the sensitive kinds such as bank accounts and ID numbers) is stored sealed with the
tenant's data key (``*_sealed``, bytes), or is a blind index of a sealed value (``*_index``),
or carries a written reason to be kept in plain text (``kept_plain``, app/core/personal.py).

A domain that adds ``contact_phone = String(...)`` fails here, naming the column, the day
it is written."""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, String, Table

from app.core.models import PlatformBase, TenantBase
from app.core.personal import PERSONAL_NAME, kept_plain
from app.models import load_all


def _personal(column: Column) -> bool:  # type: ignore[type-arg]
    return bool(PERSONAL_NAME.search(column.name)) or bool(column.info.get("personal"))


def _problem(table: Table, column: Column) -> str | None:  # type: ignore[type-arg]
    name = f"{table.name}.{column.name}"
    if column.name.endswith("_sealed"):
        return None if isinstance(column.type, LargeBinary) else f"{name}: sealed values are bytes (LargeBinary)"
    if column.name.endswith("_index"):
        stem = column.name.removesuffix("_index")
        if isinstance(column.type, String) and f"{stem}_sealed" in table.c:
            return None
        return f"{name}: a blind index goes with its sealed column {stem}_sealed"
    reason = column.info.get("unsealed")
    if isinstance(reason, str) and len(reason.strip()) >= 20:
        return None
    return f"{name}: personal data stored in plain text; seal it (*_sealed) or write why (kept_plain)"


def _offences() -> list[str]:
    load_all()
    found = []
    for metadata in (TenantBase.metadata, PlatformBase.metadata):
        for table in metadata.sorted_tables:
            for column in table.columns:
                if _personal(column) and (problem := _problem(table, column)) is not None:
                    found.append(problem)
    return found


def test_every_personal_column_is_sealed_or_says_why() -> None:
    assert _offences() == []


def test_the_gate_catches_a_plain_column() -> None:
    from sqlalchemy import Integer, MetaData

    scratch = MetaData()
    table = Table("scratch_people", scratch, Column("id", Integer, primary_key=True),
                  Column("contact_email", String(254)), Column("bank_account_index", String(40)),
                  Column("notes", String(100), info={"personal": True}),
                  Column("phone_sealed", String(40)),
                  Column("wechat", String(40), info=kept_plain("staff message the owner's WeChat id by hand")))
    problems = [p for c in table.columns if _personal(c) and (p := _problem(table, c)) is not None]
    assert [p.split(":")[0] for p in problems] == [
        "scratch_people.contact_email", "scratch_people.bank_account_index", "scratch_people.notes",
        "scratch_people.phone_sealed"]


def test_every_sealed_column_is_declared_for_key_rotation() -> None:
    """A key rotation seals again the columns the domains declare (``PersonalData.sealed``): a
    sealed column no domain declares would be left under the retired key, unreadable."""
    from app.domains.privacy import registry

    load_all()
    declared = [c.name for d in registry.declarations() for c in d.sealed]
    assert len(declared) == len(set(declared)), "a sealed column declared twice"
    stored = sorted(f"{table.name}.{column.name}" for table in TenantBase.metadata.tables.values()
                    for column in table.columns if column.name.endswith("_sealed"))
    assert sorted(declared) == stored
