"""Tenant lifecycle: provision → active ⇄ suspended → pending deletion → purged.

Used by the platform API and the CLI alike. Every change is audited in the platform audit
log; provisioning also writes the tenant's first audit records inside its own schema.
"""

from __future__ import annotations

import time

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.clock import utcnow
from app.core.db import TENANT_PLACEHOLDER
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.storage import get_store
from app.tenants.migrations import tenant_head
from app.tenants.models import Tenant, TenantStatus, schema_name, slug_problem
from app.tenants.provisioning import create_schema, drop_schema
from app.tenants.schemas import TIME_ZONES, TenantCreate, TenantOut, TenantUpdate
from app.tenants.seeding import seed_tenant
from app.tenants.spares import take_spare

ENTITY = "tenant"


def _check_time_zone(name: str) -> None:
    # IANA names only (the set the document lists): ZoneInfo() would also load files such
    # as "localtime" (the host's own zone, different on every host) or "posixrules".
    if name not in TIME_ZONES:
        raise ProblemError("validation", f"Unknown time zone {name!r}.",
                           errors=[field_error("timeZone", "not an IANA time zone")])


async def get_tenant(session: AsyncSession, slug: str, *, lock: bool = False) -> Tenant:
    stmt = select(Tenant).where(Tenant.slug == slug)
    if lock:
        stmt = stmt.with_for_update()
    tenant = await session.scalar(stmt)
    if tenant is None:
        raise ProblemError("not-found", f"No tenant {slug!r}.")
    return tenant


async def list_tenants(session: AsyncSession, params: PageParams, *, status: TenantStatus | None,
                       q: str | None) -> Page[TenantOut]:
    stmt = select(Tenant)
    if status is not None:
        stmt = stmt.where(Tenant.status == status)
    else:
        stmt = stmt.where(Tenant.status != TenantStatus.purged)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Tenant.slug.ilike(pattern, escape="\\"), Tenant.display_name.ilike(pattern, escape="\\")))
    return await paginate(
        session, stmt, params,
        sortable={"slug": Tenant.slug, "displayName": Tenant.display_name, "createdAt": Tenant.created_at,
                  "status": Tenant.status},
        default_sort=["slug"], tiebreak=Tenant.id, to_schema=TenantOut.of,
    )


async def create_tenant(session: AsyncSession, data: TenantCreate) -> Tenant:
    """Register and provision a tenant in the session's transaction (all or nothing)."""
    problem = slug_problem(data.slug)
    if problem:
        raise ProblemError("validation", f"The slug {data.slug!r} {problem}.",
                           errors=[field_error("slug", problem)])
    _check_time_zone(data.time_zone)
    if await session.scalar(select(Tenant.id).where(Tenant.slug == data.slug)):
        raise ProblemError("duplicate", f"The slug {data.slug!r} is taken (slugs of purged tenants stay taken).",
                           errors=[field_error("slug", "already used")])
    started = time.perf_counter()
    tenant = Tenant(slug=data.slug, display_name=data.display_name, time_zone=data.time_zone,
                    locale=data.locale, status=TenantStatus.provisioning)
    session.add(tenant)
    await session.flush()
    await provision_schema(session, tenant)
    tenant.status = TenantStatus.active
    tenant.schema_revision = tenant_head()
    tenant.provisioned_at = utcnow()
    tenant.provisioning_ms = round((time.perf_counter() - started) * 1000)
    await session.flush()
    await session.refresh(tenant)
    await audit.record(session, action="tenant.create", entity_type=ENTITY, entity_id=tenant.slug,
                       after=audit.snapshot(tenant))
    return tenant


async def provision_schema(session: AsyncSession, tenant: Tenant) -> None:
    """Make the schema (a spare of the pool renamed, else built from the DDL) and seed it, on
    the session's own connection and transaction."""
    schema = schema_name(tenant.slug)
    conn = await session.connection()
    spare = await take_spare(session, schema, tenant.slug)
    if spare is None:
        await create_schema(conn, schema)
    # Execution options on this connection last for this checkout only; the platform tables
    # are unaffected because only the tenant placeholder is translated.
    tenant_conn = await conn.execution_options(schema_translate_map={TENANT_PLACEHOLDER: schema})
    async with AsyncSession(bind=tenant_conn, expire_on_commit=False) as tenant_session:
        tenant_session.info.update(tenant_schema=schema, actor=audit.actor_of(session))
        await seed_tenant(tenant_session, tenant)
        await audit.record(tenant_session, action="tenant.provision", entity_type=ENTITY, entity_id=tenant.slug,
                           after={"schema": schema, "revision": tenant_head(), "spare": spare})
        await tenant_session.flush()


async def update_tenant(session: AsyncSession, tenant: Tenant, data: TenantUpdate) -> Tenant:
    changes = provided(data)
    if "time_zone" in changes:
        _check_time_zone(str(changes["time_zone"]))
    before = audit.snapshot(tenant)
    for field, value in changes.items():
        setattr(tenant, field, value)
    await session.flush()
    await session.refresh(tenant)
    await audit.record(session, action="tenant.update", entity_type=ENTITY, entity_id=tenant.slug,
                       before=before, after=audit.snapshot(tenant))
    return tenant


# action -> (from, to, past tense for messages)
_TRANSITIONS: dict[str, tuple[set[TenantStatus], TenantStatus, str]] = {
    "suspend": ({TenantStatus.active}, TenantStatus.suspended, "suspended"),
    "resume": ({TenantStatus.suspended, TenantStatus.pending_deletion}, TenantStatus.active, "resumed"),
    "delete": ({TenantStatus.active, TenantStatus.suspended}, TenantStatus.pending_deletion,
               "marked for deletion"),
}


async def change_status(session: AsyncSession, tenant: Tenant, action: str, reason: str) -> Tenant:
    allowed, target, done = _TRANSITIONS[action]
    if tenant.status not in allowed:
        raise ProblemError("conflict", f"A tenant that is {tenant.status.value.replace('_', ' ')} "
                                       f"cannot be {done}.")
    before = audit.snapshot(tenant)
    tenant.status = target
    tenant.status_reason = reason
    tenant.deletion_requested_at = utcnow() if target is TenantStatus.pending_deletion else None
    await session.flush()
    await session.refresh(tenant)
    await audit.record(session, action=f"tenant.{action}", entity_type=ENTITY, entity_id=tenant.slug,
                       before=before, after=audit.snapshot(tenant), reason=reason)
    return tenant


async def purge_tenant(session: AsyncSession, tenant: Tenant, confirm: str, reason: str) -> Tenant:
    """Drop the schema of a tenant marked for deletion; the registry row stays as a tombstone."""
    if tenant.status is not TenantStatus.pending_deletion:
        raise ProblemError("conflict", "Only a tenant marked for deletion can be purged; delete it first.")
    if confirm != tenant.slug:
        raise ProblemError("validation", "Type the tenant's slug in `confirm` to purge it.",
                           errors=[field_error("confirm", "must equal the tenant's slug")])
    before = audit.snapshot(tenant)
    await drop_schema(await session.connection(), tenant.schema)
    # Last, as it cannot be rolled back: unlocked object versions go, locked ones stay
    # until their dates (and keep the bucket). Storage down: the purge fails whole (503).
    storage = await get_store().purge_bucket(tenant.slug)
    tenant.status = TenantStatus.purged
    tenant.status_reason = reason
    tenant.purged_at = utcnow()
    await session.flush()
    await session.refresh(tenant)
    await audit.record(session, action="tenant.purge", entity_type=ENTITY, entity_id=tenant.slug,
                       before=before, after={**audit.snapshot(tenant), "storage": storage.as_dict()},
                       reason=reason)
    return tenant
