"""The tenant registry and the pool of spare schemas (platform schema)."""

from __future__ import annotations

import enum
import re
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Enum, Integer, String, Text, func, true
from sqlalchemy.orm import Mapped, mapped_column

from app.core.audit import RETENTION_FLOOR_DAYS
from app.core.models import IdMixin, PlatformBase, TimestampMixin, VersionMixin


class TenantStatus(str, enum.Enum):
    provisioning = "provisioning"
    active = "active"
    suspended = "suspended"
    pending_deletion = "pending_deletion"  # marked; its schema is still there until purged
    purged = "purged"  # schema dropped; the row stays as a tombstone so the slug is not reused


SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
SLUG_MIN, SLUG_MAX = 3, 40
RESERVED_SLUGS = frozenset(
    {
        "admin", "api", "app", "auth", "default", "docs", "health", "information_schema",
        "internal", "oauth", "platform", "postgres", "public", "root", "schema", "static",
        "system", "template", "tenant", "tenants", "test", "www",
    }
)


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` cannot name a tenant, or None when it can."""
    if not SLUG_MIN <= len(slug) <= SLUG_MAX:
        return f"must be {SLUG_MIN} to {SLUG_MAX} characters"
    if not SLUG_RE.match(slug):
        return "lowercase letters and digits, words joined by single underscores, starting with a letter"
    if slug in RESERVED_SLUGS or slug.startswith("pg"):
        return "is reserved"
    return None


def schema_name(slug: str) -> str:
    return "t_" + slug


# A spare schema is named so that it can never be a tenant's: tenant schemas start with
# "t_" (and only those match the tenant pattern of app/core/db.py), spares with "spare_".
SPARE_PREFIX = "spare_"
SPARE_RE = re.compile(r"^spare_[0-9a-f]{32}$")


class Tenant(IdMixin, TimestampMixin, VersionMixin, PlatformBase):
    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    locale: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[TenantStatus] = mapped_column(
        Enum(TenantStatus, name="tenant_status", native_enum=False, length=20), nullable=False
    )
    # The tenant schema's migration revision; the runner reads all of them in one query.
    schema_revision: Mapped[str | None] = mapped_column(String(64))
    migration_error: Mapped[str | None] = mapped_column(Text)
    migration_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provisioned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provisioning_ms: Mapped[int | None] = mapped_column()
    status_reason: Mapped[str | None] = mapped_column(Text)
    deletion_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Tenant policy: staff must pass a TOTP second factor to sign in.
    staff_mfa_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True,
                                                     server_default=true())
    # Tenant policy: audit records older than this many days are purged (None: kept forever).
    # At least a year (DOMAIN.md, customer information); the check repeats the API's rule.
    audit_retention_days: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(f"audit_retention_days IS NULL OR audit_retention_days >= {RETENTION_FLOOR_DAYS}",
                        name="audit_retention_min"),
    )

    @property
    def schema(self) -> str:
        return schema_name(self.slug)


class SpareSchema(PlatformBase):
    """A schema prepared in advance (every table, index and trigger, no rows) at the tenant
    ``revision`` it was built at; provisioning renames one at head to ``t_<slug>``.

    Not a tenant: nothing that works on tenants (the registry, the migration runner, the
    platform API, the purge) reads this table."""

    __tablename__ = "spare_schemas"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    revision: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 nullable=False)
