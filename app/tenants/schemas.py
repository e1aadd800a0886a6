from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import available_timezones

import msgspec

from app.core.audit import RETENTION_FLOOR_DAYS
from app.core.schemas import Input, Schema
from app.tenants.models import RESERVED_SLUGS, SLUG_MAX, SLUG_MIN, Tenant, TenantStatus

# The document states every rule the service enforces (reserved words and the `pg` prefix
# too, which slug_problem explains in words), so that a slug it shows as valid is accepted.
SLUG_RULE = (r"^(?!pg)(?!(?:" + "|".join(sorted(RESERVED_SLUGS)) + r")$)"
             r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
Slug = Annotated[str, msgspec.Meta(
    min_length=SLUG_MIN, max_length=SLUG_MAX, pattern=r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$",
    description="Lowercase letters and digits, words joined by single underscores; names the schema `t_<slug>`. "
                "Not starting with `pg`, not a reserved word.",
    examples=["vanke_south"],
    extra_json_schema={"extra": {"pattern": SLUG_RULE}},
)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# The zones the service accepts (tenants.services and calendars check against this set: 422
# naming the field otherwise). The document gives the format, not the 598 names: an enum
# holding `GMT+0`, `GMT-0` and `GMT0` is one no client generator can name apart.
TIME_ZONES = frozenset(available_timezones() - {"localtime"})  # "localtime" is the host's own zone
TIME_ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$"
TimeZone = Annotated[str, msgspec.Meta(
    min_length=1, max_length=64, pattern=TIME_ZONE_PATTERN,
    description="An IANA time zone database name (`Area/Location`, e.g. `Asia/Shanghai`, `Europe/Paris`, "
                "or `UTC`); a name the database does not hold is refused with 422.",
    examples=["Asia/Shanghai", "Asia/Hong_Kong", "UTC"],
    # A format of our own naming, for tools that can generate or check it (the fuzzer does).
    extra_json_schema={"extra": {"format": "iana-time-zone"}})]
Locale = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-[A-Z]{2})?$",
                                     description="BCP 47 language tag.", examples=["zh-CN", "en"])]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
RetentionDays = Annotated[int, msgspec.Meta(
    ge=RETENTION_FLOOR_DAYS, le=36500,
    description="Audit records older than this many days are purged daily; null keeps them forever. "
                "At least 365: the change log is kept for at least a year.",
    examples=[730],
)]


class TenantCreate(Input):
    slug: Slug
    display_name: DisplayName
    time_zone: TimeZone = "Asia/Shanghai"
    locale: Locale = "zh-CN"


class TenantUpdate(Input):
    display_name: DisplayName | msgspec.UnsetType = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    locale: Locale | msgspec.UnsetType = msgspec.UNSET
    audit_retention_days: RetentionDays | None | msgspec.UnsetType = msgspec.UNSET


class StatusChange(Input):
    reason: Reason


class PurgeRequest(Input):
    confirm: Annotated[str, msgspec.Meta(description="The tenant's slug, typed again.")]
    reason: Reason


class TenantOut(Schema):
    id: uuid.UUID
    slug: str
    display_name: str
    time_zone: str
    locale: str
    status: TenantStatus
    status_reason: str | None
    schema_revision: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    deletion_requested_at: datetime | None
    audit_retention_days: int | None

    @classmethod
    def of(cls, t: Tenant) -> TenantOut:
        return cls(
            id=t.id, slug=t.slug, display_name=t.display_name, time_zone=t.time_zone, locale=t.locale,
            status=t.status, status_reason=t.status_reason, schema_revision=t.schema_revision,
            version=t.version, created_at=t.created_at, updated_at=t.updated_at,
            deletion_requested_at=t.deletion_requested_at, audit_retention_days=t.audit_retention_days,
        )


class ProvisioningOut(Schema):
    slug: str
    status: TenantStatus
    schema: str
    schema_revision: str | None
    head_revision: str
    up_to_date: bool
    provisioned_at: datetime | None
    provisioning_ms: int | None
    migration_error: str | None
    migration_failed_at: datetime | None
