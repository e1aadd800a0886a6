"""The inquiries domain's background work: the handover switch, once a day per tenant."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.core.audit import SYSTEM
from app.core.db import Database
from app.domains.inquiries.services import switch_at_handover
from app.tenants.models import Tenant, TenantStatus, schema_name
from app.worker import celery_app, run_in_worker

log = logging.getLogger(__name__)
HANDOVER_SWITCH = "inquiries.handover_switch"


@celery_app.task(name=HANDOVER_SWITCH)
def handover_switch() -> dict[str, int]:
    return run_in_worker(switch_all_tenants)


async def switch_all_tenants(db: Database) -> dict[str, int]:
    """Run the handover switch in every active tenant, one transaction each; a failing tenant
    is logged and the rest go on (the next run retries it)."""
    async with db.platform_transaction() as session:
        slugs = (await session.scalars(select(Tenant.slug).where(Tenant.status == TenantStatus.active))).all()
    moved, failed = 0, []
    for slug in slugs:
        try:
            async with db.tenant_session(schema_name(slug)) as session, session.begin():
                session.info["actor"] = SYSTEM
                moved += await switch_at_handover(session)
        except Exception:  # noqa: BLE001 - logged; one tenant never stops the others
            log.exception("the handover switch of tenant %s failed", slug)
            failed.append(slug)
    if failed:
        raise RuntimeError(f"the handover switch failed for {len(failed)} tenants: {', '.join(failed[:20])}")
    return {"moved": moved, "tenants": len(slugs)}
