"""Every tenant gets its own bucket at provisioning (object lock exists only if the bucket
is created with it, so the bucket comes before any data); a tenant that existed before the
first records kept in storage (complaint attachments, 0008) gets it at that migration, and a
storage outage then fails that tenant's migration, to be re-run.

Registered last: a provisioning that fails in an earlier seeder makes no bucket. One that
fails later (or whose transaction rolls back) leaves an empty bucket behind; that is
harmless and deliberate: creation is idempotent, so provisioning the slug again reuses it,
and nothing can write to it without the API signing a URL for a tenant that exists. A
storage outage makes provisioning fail as a whole (503), like a database outage.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.storage import get_store
from app.tenants.models import Tenant
from app.tenants.seeding import seeder


@seeder("storage.bucket", since="0008_complaints")
async def create_bucket(session: AsyncSession, tenant: Tenant) -> None:
    await get_store().ensure_bucket(tenant.slug)
