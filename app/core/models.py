"""Declarative bases for the two kinds of schema, and the columns every record shares."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import DateTime, Enum, Integer, MetaData, Table, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from app.core.db import PLATFORM_SCHEMA, TENANT_PLACEHOLDER
from app.core.ids import new_id

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def str_enum(cls: type[enum.Enum], length: int = 20) -> Enum:
    """An enum column stored as a string, not a native PostgreSQL type: adding a value then
    needs no ALTER TYPE in every tenant schema."""
    return Enum(cls, native_enum=False, length=length)


class PlatformBase(DeclarativeBase):
    """Small shared tables: the tenant registry, signing keys, platform audit."""

    metadata = MetaData(schema=PLATFORM_SCHEMA, naming_convention=NAMING)
    if TYPE_CHECKING:
        # Every model names its __tablename__, so it maps a Table (the ORM allows any FromClause).
        __table__: ClassVar[Table]


class TenantBase(DeclarativeBase):
    """Business tables, created once per tenant schema."""

    metadata = MetaData(schema=TENANT_PLACEHOLDER, naming_convention=NAMING)
    if TYPE_CHECKING:
        __table__: ClassVar[Table]  # as in PlatformBase


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class VersionMixin:
    """An optimistic-lock counter; it is also the resource's ETag."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.version}
