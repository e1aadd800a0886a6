"""What a new tenant starts with in the certificates domain: the roles of the CRM staff who
follow certificates and collection, and of finance, who release guarantees. The approval chains
(agency selection, guarantee release) are seeded by the approvals domain from the request
types (importing them here registers them before any seeder runs); the default checklist is a
tenant setting with its default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.access.schemas import RoleCreate
from app.domains.access.services import ensure_roles
from app.domains.certificates import requests  # noqa: F401  (registers the request types)
from app.domains.certificates.permissions import (
    CERT_READ,
    CERT_WRITE,
    COLLECTION_READ,
    COLLECTION_WRITE,
    GUARANTEE_READ,
    GUARANTEE_WRITE,
)
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant

ROLES = [
    RoleCreate(code="certificate_officer", name="办证专员 Certificate officer",
               description="Follows certificate cases with the agencies, records guarantees and registrations, "
                           "and collects overdue repayments.",
               permissions=["org.read", "customers.read", CERT_READ, CERT_WRITE, GUARANTEE_READ, GUARANTEE_WRITE,
                            COLLECTION_READ, COLLECTION_WRITE]),
]


@seeder("certificates.roles", since="0012_certificates", every_migration=True)
async def seed_roles(session: AsyncSession, tenant: Tenant) -> None:
    await ensure_roles(session, ROLES)
