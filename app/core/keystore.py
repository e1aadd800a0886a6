"""Each tenant's data and index keys (app/core/crypto.py), kept wrapped in the tenant table
``data_keys`` and unwrapped on first use by a process, with the master key from settings.

The keys are made at provisioning (app/tenants/seeding.py), so every tenant has them from its
first request; tenants provisioned before this table existed get theirs on first use.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import DateTime, LargeBinary, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core import crypto
from app.core.models import IdMixin, TenantBase


class DataKey(IdMixin, TenantBase):
    __tablename__ = "data_keys"

    # Wrapped (AES-GCM) by the master key, with the tenant's schema and purpose as the label:
    # a row copied into another tenant's schema does not unwrap there.
    wrapped_data_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    wrapped_index_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    # A rotation retires the old key once every sealed value is sealed again with the new one.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@lru_cache(maxsize=1)
def master_key() -> bytes:
    from app.config import get_settings

    settings = get_settings()
    return crypto.load_master_key(settings.data_dir, settings.master_key)


# schema -> unwrapped keys. A tenant's keys never change, so a process keeps them.
_CACHE: dict[str, crypto.TenantKeys] = {}


def _schema(session: AsyncSession) -> str:
    schema = session.info.get("tenant_schema")
    if not schema:
        raise RuntimeError("tenant keys need a session bound to a tenant")
    return str(schema)


async def create_keys(session: AsyncSession) -> crypto.TenantKeys:
    schema = _schema(session)
    keys = crypto.new_tenant_keys(schema)
    master = master_key()
    session.add(DataKey(wrapped_data_key=crypto.wrap(master, keys.data_key, f"{schema}:data"),
                        wrapped_index_key=crypto.wrap(master, keys.index_key, f"{schema}:index")))
    await session.flush()
    return keys


async def tenant_keys(session: AsyncSession) -> crypto.TenantKeys:
    """The session's tenant's keys (made on first use for a tenant that has none yet)."""
    schema = _schema(session)
    keys = _CACHE.get(schema)
    if keys is not None:
        return keys
    first = select(DataKey).order_by(DataKey.created_at, DataKey.id).limit(1)
    row = await session.scalar(first)
    if row is None:
        # Two first uses at once must not make two key sets: serialise them on a lock of this
        # tenant's, and look again once holding it.
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"{schema}:data_keys"))))
        row = await session.scalar(first)
        if row is None:
            return await create_keys(session)  # not cached: its transaction may still roll back
    master = master_key()
    keys = crypto.TenantKeys(tenant=schema,
                             data_key=crypto.unwrap(master, row.wrapped_data_key, f"{schema}:data"),
                             index_key=crypto.unwrap(master, row.wrapped_index_key, f"{schema}:index"))
    _CACHE[schema] = keys
    return keys

