"""Each tenant's data and index keys (app/core/crypto.py), kept wrapped in the tenant table
``data_keys`` and unwrapped on first use by a process, with the master key from settings.

The keys are made at provisioning (app/tenants/seeding.py), so every tenant has them from its
first request; tenants provisioned before this table existed get theirs on first use. A
rotation (app/domains/privacy/rotation.py) adds a data key and retires the old one once every
value is sealed again with the new one.
"""

from __future__ import annotations

import uuid
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


# schema -> (the ids of its live key rows, its unwrapped keys). A rotation adds a row and, once
# every value is sealed again, retires the old one: each use compares the ids (one small
# query) so that every process follows a rotation the moment it commits.
_CACHE: dict[str, tuple[tuple[uuid.UUID, ...], crypto.TenantKeys]] = {}
_MEMO = "tenant_keys"  # session.info: (the transaction, its keys)


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
    """The session's tenant's keys (made on first use for a tenant that has none yet): the
    newest data key seals, the earlier live ones (during a rotation) still open."""
    schema = _schema(session)
    # Once per transaction: a transaction that began before a rotation may seal with the old key,
    # which the rotation's second walk looks for once every such transaction has ended.
    transaction = session.sync_session.get_transaction()
    memo = session.info.get(_MEMO)
    if transaction is not None and memo is not None and memo[0] is transaction:
        return memo[1]  # type: ignore[no-any-return]
    keys = await _load(session, schema)
    session.info[_MEMO] = (session.sync_session.get_transaction(), keys)
    return keys


async def _load(session: AsyncSession, schema: str) -> crypto.TenantKeys:
    live = select(DataKey.id).where(DataKey.retired_at.is_(None)).order_by(DataKey.created_at, DataKey.id)
    ids = tuple((await session.scalars(live)).all())
    cached = _CACHE.get(schema)
    if cached is not None and cached[0] == ids and ids:
        return cached[1]
    if not ids:
        # Two first uses at once must not make two key sets: serialise them on a lock of this
        # tenant's, and look again once holding it.
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"{schema}:data_keys"))))
        ids = tuple((await session.scalars(live)).all())
        if not ids:
            return await create_keys(session)  # not cached: its transaction may still roll back
    rows = {r.id: r for r in (await session.scalars(select(DataKey).where(DataKey.id.in_(ids)))).all()}
    master = master_key()
    data = [crypto.unwrap(master, rows[i].wrapped_data_key, f"{schema}:data") for i in ids]
    # One index key for the tenant's life: blind indexes stay comparable through a rotation.
    keys = crypto.TenantKeys(tenant=schema, data_key=data[-1], older=tuple(data[:-1]),
                             index_key=crypto.unwrap(master, rows[ids[0]].wrapped_index_key, f"{schema}:index"))
    _CACHE[schema] = (ids, keys)
    return keys


async def add_data_key(session: AsyncSession) -> DataKey:
    """A new data key for the tenant, sealing from now on (the index key is kept): a rotation's start."""
    schema = _schema(session)
    current = await tenant_keys(session)
    master = master_key()
    row = DataKey(wrapped_data_key=crypto.wrap(master, crypto.new_tenant_keys(schema).data_key, f"{schema}:data"),
                  wrapped_index_key=crypto.wrap(master, current.index_key, f"{schema}:index"),
                  created_at=func.clock_timestamp())
    session.add(row)
    await session.flush()
    return row
