"""Tenant policies kept in the tenant's own schema (``tenant_settings``): one row per key.

Domains declare their settings with a default (``declare``); a tenant that never changed a
setting has no row and gets the default. Values are JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core import audit
from app.core.models import TenantBase, VersionMixin

ENTITY = "tenant_setting"


class TenantSetting(VersionMixin, TenantBase):
    __tablename__ = "tenant_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now(), nullable=False)


# key -> (default, description)
DEFAULTS: dict[str, tuple[Any, str]] = {}


def declare(key: str, default: Any, description: str) -> str:
    if key in DEFAULTS and DEFAULTS[key] != (default, description):
        raise ValueError(f"tenant setting {key!r} declared twice")
    DEFAULTS[key] = (default, description)
    return key


async def get(session: AsyncSession, key: str, *, lock: bool = False) -> tuple[Any, int]:
    """The value of ``key`` and its version (0 while the default applies)."""
    if key not in DEFAULTS:
        raise KeyError(f"undeclared tenant setting {key!r}")
    stmt = select(TenantSetting).where(TenantSetting.key == key)
    if lock:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    return (row.value, row.version) if row is not None else (DEFAULTS[key][0], 0)


async def put(session: AsyncSession, key: str, value: Any) -> int:
    """Set ``key`` (audited in the caller's transaction); returns the new version."""
    if key not in DEFAULTS:
        raise KeyError(f"undeclared tenant setting {key!r}")
    row = await session.scalar(select(TenantSetting).where(TenantSetting.key == key).with_for_update())
    before = {"value": row.value if row else DEFAULTS[key][0]}
    if row is None:
        row = TenantSetting(key=key, value=value)
        session.add(row)
    else:
        row.value = value
    await session.flush()
    await audit.record(session, action="tenant_setting.update", entity_type=ENTITY, entity_id=key,
                       before=before, after={"value": value})
    return row.version
