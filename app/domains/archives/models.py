"""Customer archive volumes (案卷): the cover, the contents list (卷内目录), the scanned pages
kept in object storage, the remarks sheet (备考表), and the checks run on stored pages."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference
from app.storage import RetentionMode
from app.storage.base import MAX_OBJECT_SIZE
from app.storage.uploads import UploadMixin, UploadUse


class RetentionPeriod(str, enum.Enum):
    # DA/T 22 codes in the archive number: 永久 Y, 定期30年 D30, 定期10年 D10.
    permanent = "permanent"
    years_30 = "30_years"
    years_10 = "10_years"


class VolumeStatus(str, enum.Enum):
    draft = "draft"  # being built: cover, pages, contents list, remarks sheet
    assembled = "assembled"  # numbered and complete, awaiting review
    reviewed = "reviewed"  # checked by someone other than its assembler
    filed = "filed"  # immutable: its objects are under object-lock retention


class PageStatus(str, enum.Enum):
    pending = "pending"  # a presigned PUT was issued; the bytes are not confirmed
    stored = "stored"  # confirmed: the stored object is the declared file (size, SHA-256, type, format)
    superseded = "superseded"  # replaced by a corrected revision; kept (and locked) as it was


class CheckOutcome(str, enum.Enum):
    ok = "ok"
    missing = "missing"  # no such object version in storage
    mismatch = "mismatch"  # another size or SHA-256 than recorded
    unusable = "unusable"  # stored as another type, or bytes that are not the recorded format (PDF, TIFF, …)
    unprotected = "unprotected"  # a filed page without the retention or legal hold it should have


class ArchiveVolume(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "archive_volumes"

    # Given at assembly from the tenant's numbering scheme (DA/T 22 by default).
    archive_number: Mapped[str | None] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    # Where the volume sits for the Authorizer: its customer's node when it was created.
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    responsible_party: Mapped[str] = mapped_column(String(200), nullable=False)  # 立卷单位
    organisation_code: Mapped[str] = mapped_column(String(6), nullable=False)  # 机构代码 in the number
    year: Mapped[int | None] = mapped_column(Integer)  # 年度; from the contents list when not given
    retention: Mapped[RetentionPeriod] = mapped_column(str_enum(RetentionPeriod), nullable=False)
    classification: Mapped[str] = mapped_column(String(40), nullable=False)  # a level code of the tenant
    # Circulation scope (传阅范围): role codes and account ids; both empty means everyone cleared.
    circulation_roles: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    circulation_accounts: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    status: Mapped[VolumeStatus] = mapped_column(str_enum(VolumeStatus), nullable=False)
    # The remarks sheet (备考表).
    remarks_notes: Mapped[str | None] = mapped_column(Text)
    remarks_compiler: Mapped[str | None] = mapped_column(String(100))
    remarks_compiled_on: Mapped[date | None] = mapped_column(Date)
    remarks_reviewer: Mapped[str | None] = mapped_column(String(100))
    remarks_reviewed_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    assembled_by: Mapped[str | None] = mapped_column(String(200))
    assembled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    filed_by: Mapped[str | None] = mapped_column(String(200))
    filed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retention_mode: Mapped[RetentionMode | None] = mapped_column(str_enum(RetentionMode))
    retain_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    legal_hold: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
    legal_hold_changed_by: Mapped[str | None] = mapped_column(String(200))
    legal_hold_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_archive_volumes_node_id", "node_id"),
        Index("ix_archive_volumes_customer_id", "customer_id"),
        Index("ix_archive_volumes_status", "status"),
    )


class ArchiveVolumeUnit(TenantBase):
    """The units a volume is about."""

    __tablename__ = "archive_volume_units"

    volume_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("archive_volumes.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("units.id", ondelete="RESTRICT"), primary_key=True)

    __table_args__ = (Index("ix_archive_volume_units_unit_id", "unit_id"),)


class ArchiveContentsItem(IdMixin, TenantBase):
    """One line of the contents list: a document of the volume and the pages it occupies."""

    __tablename__ = "archive_contents_items"

    volume_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("archive_volumes.id", ondelete="CASCADE"), nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)  # 序号
    document_number: Mapped[str | None] = mapped_column(String(100))  # 文号
    responsible_party: Mapped[str] = mapped_column(String(200), nullable=False)  # 责任者
    title: Mapped[str] = mapped_column(String(500), nullable=False)  # 题名
    document_date: Mapped[date | None] = mapped_column(Date)  # 日期
    page_from: Mapped[int] = mapped_column(Integer, nullable=False)  # 页号
    page_to: Mapped[int] = mapped_column(Integer, nullable=False)
    remarks: Mapped[str | None] = mapped_column(String(500))  # 备注

    __table_args__ = (UniqueConstraint("volume_id", "sequence"),)


class ArchivePage(UploadMixin, IdMixin, VersionMixin, TenantBase):
    """One scanned page revision, uploaded through the shared lifecycle (app/storage/uploads.py).
    A page keeps its ``lineage_id`` across corrections; each revision is a row and an object of
    its own (a fresh key), and a corrected page's earlier revisions stay, superseded and still
    locked."""

    __tablename__ = "archive_pages"
    UPLOAD_PENDING, UPLOAD_STORED = PageStatus.pending, PageStatus.stored

    volume_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("archive_volumes.id", ondelete="CASCADE"), nullable=False)
    lineage_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    # Order in the volume; page numbers are the positions of the current stored pages.
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[PageStatus] = mapped_column(str_enum(PageStatus), nullable=False)
    file_name: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)  # why a correction was made
    uploaded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # retention on the object

    __table_args__ = (
        UniqueConstraint("lineage_id", "revision"),
        CheckConstraint("size >= 0", name="size_not_negative"),
        Index("ix_archive_pages_volume_id_status_seq", "volume_id", "status", "seq"),
        Index("ix_archive_pages_status_upload_expires_at", "status", "upload_expires_at"),
    )


# What pages accept and where their objects go. The group's archive policy sets the URL
# lifetimes and a lower size limit (uploadUrlMinutes, downloadUrlSeconds, maxPageBytes), passed
# on each call; the lifetimes here are the policy's defaults.
PAGE_UPLOADS = UploadUse(
    name="archives.page",
    content_types=("application/pdf", "image/tiff", "image/jpeg", "image/png"),
    max_size=MAX_OBJECT_SIZE,
    upload_ttl=timedelta(minutes=60),
    download_ttl=timedelta(seconds=300),
    # A PUT begun before its URL expired may still be arriving this long after.
    grace=timedelta(minutes=15),
    key_layout="volumes/{volume}/pages/{page}",
)


class ArchivePageCheck(IdMixin, TenantBase):
    """One verification of a stored page against storage: after its upload was confirmed
    (re-verified in the background) and in every integrity verification of its volume."""

    __tablename__ = "archive_page_checks"

    page_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("archive_pages.id", ondelete="CASCADE"), nullable=False)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    outcome: Mapped[CheckOutcome] = mapped_column(str_enum(CheckOutcome), nullable=False)
    detail: Mapped[str | None] = mapped_column(String(500))
    job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # the volume verification, if any

    __table_args__ = (Index("ix_archive_page_checks_page_id_checked_at", "page_id", "checked_at"),)


class ArchiveObjectRemoval(IdMixin, TenantBase):
    """A key whose object versions are to be deleted from storage, written in the transaction
    that removes the page rows naming it: storage is cleared after the commit, by a task and
    by the hourly clean-up, and a key is forgotten only once nothing is left under it."""

    __tablename__ = "archive_object_removals"

    object_key: Mapped[str] = mapped_column(String(255), nullable=False)
    # When to try next: at once; when the page's upload URL can no longer add a version; or
    # when the retention of a version that refused deletion ends.
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (Index("ix_archive_object_removals_not_before", "not_before"),)


register_customer_reference(ArchiveVolume, "customer_id")
