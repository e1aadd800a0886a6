"""Request and response bodies of the archives API, and the tenant's archive policy."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from app.core.schemas import ONE_LINE_PATTERN, Input, Schema
from app.domains.archives.models import PAGE_UPLOADS, CheckOutcome, PageStatus, RetentionPeriod, VolumeStatus
from app.storage import RetentionMode
from app.storage.base import MAX_OBJECT_SIZE
from app.storage.uploads import FileName, Sha256Hex

Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE_PATTERN)]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_PATTERN)]
Text500 = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=ONE_LINE_PATTERN)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Notes = Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]
LevelCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["secret"],
                                        description="A classification level code of the group (see the "
                                                    "archive settings).")]
LevelName = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=ONE_LINE_PATTERN, examples=["秘密"])]
OrganisationCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9]{0,5}$", examples=["KF"],
                                               description="The organisation (机构) code in the archive number.")]
FondsCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{1,10}$", examples=["Z001"])]
CategoryCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{1,6}$", examples=["KH"])]
Year = Annotated[int, msgspec.Meta(ge=1900, le=2200)]
RoleCode = Annotated[str, msgspec.Meta(min_length=2, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")]
PageSize = Annotated[int, msgspec.Meta(ge=1, le=PAGE_UPLOADS.max_size, description="Bytes.")]
PageNumber = Annotated[int, msgspec.Meta(ge=1, le=100_000)]

# {placeholders} of the archive number; anything else is taken literally.
PLACEHOLDERS = ("fonds", "category", "year", "retention", "organisation", "item")
_PIECE = r"(?:[A-Za-z0-9·._/-]|\{(?:fonds|category|year|retention|organisation|item)\})"
NumberPattern = Annotated[str, msgspec.Meta(
    min_length=6, max_length=80, pattern=rf"^{_PIECE}*\{{item\}}{_PIECE}*$",
    examples=["{fonds}-{category}·{year}-{retention}-{organisation}-{item}"],
    description="The archive number's shape: literal letters, digits and `·._/-`, and the placeholders "
                "`{fonds}`, `{category}`, `{year}`, `{retention}` (Y, D30, D10), `{organisation}` and "
                "`{item}` (required: the volume's running number, counted per value of the others).")]


class PageType(str, enum.Enum):
    pdf = "application/pdf"
    tiff = "image/tiff"
    jpeg = "image/jpeg"
    png = "image/png"


if tuple(t.value for t in PageType) != PAGE_UPLOADS.content_types:
    raise RuntimeError("PageType must list the types PAGE_UPLOADS accepts")


# --------------------------------------------------------------------------- the policy

class ClassificationLevel(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    code: LevelCode
    name: LevelName


class Numbering(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    fonds: FondsCode  # 全宗号
    category: CategoryCode  # 档案门类代码
    default_organisation: OrganisationCode
    pattern: NumberPattern
    item_digits: Annotated[int, msgspec.Meta(ge=1, le=8)]


class ArchivePolicy(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """The group's archive policy (tenant setting ``archives.policy``)."""

    numbering: Numbering
    # Lowest first. Clearance permission archives.clearance.N covers the first N levels.
    classification_levels: Annotated[list[ClassificationLevel], msgspec.Meta(min_length=1, max_length=6)]
    default_classification: LevelCode
    retention_mode: RetentionMode
    upload_url_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)]
    download_url_seconds: Annotated[int, msgspec.Meta(ge=10, le=3600)]
    max_page_bytes: Annotated[int, msgspec.Meta(ge=1024, le=MAX_OBJECT_SIZE)]


DEFAULT_POLICY = ArchivePolicy(
    numbering=Numbering(fonds="Z001", category="KH", default_organisation="KF",
                        pattern="{fonds}-{category}·{year}-{retention}-{organisation}-{item}", item_digits=4),
    classification_levels=[ClassificationLevel(code="internal", name="内部"),
                           ClassificationLevel(code="secret", name="秘密"),
                           ClassificationLevel(code="confidential", name="机密"),
                           ClassificationLevel(code="top_secret", name="绝密")],
    default_classification="internal",
    retention_mode=RetentionMode.GOVERNANCE,
    upload_url_minutes=60,
    download_url_seconds=300,
    max_page_bytes=100 * 1024 * 1024,
)


class ArchiveSettings(Schema):
    policy: ArchivePolicy
    # The clearance permission each level needs (archives.clearance.N), in the policy's order.
    clearance_permissions: dict[str, str]
    version: int


# ------------------------------------------------------------------------------ volumes

class CirculationIn(Input):
    roles: Annotated[list[RoleCode], msgspec.Meta(max_length=50, extra_json_schema={"extra": {
        "items": {"type": "string", "minLength": 2, "maxLength": 60, "pattern": "^[a-z][a-z0-9_]*$"}}})] = []
    account_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=200)] = []


class Circulation(Schema):
    """Who may read the volume besides clearance: holders of these roles (at a node above
    the volume) and these accounts. Both empty: everyone cleared for its level."""

    roles: list[str]
    account_ids: list[uuid.UUID]


class VolumeCreate(Input):
    customer_id: uuid.UUID
    title: Text500
    responsible_party: Text200
    retention: RetentionPeriod
    classification: LevelCode | None = None  # the policy's default when absent
    unit_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)] = []
    organisation_code: OrganisationCode | None = None  # the policy's default when absent
    year: Year | None = None
    circulation: CirculationIn | None = None


class VolumeUpdate(Input):
    """Only the fields present change. Before filing: any of them (those that make up the
    archive number only until it is given); once filed: the circulation scope only. The
    classification changes through approval (POST …/classification-requests)."""

    title: Text500 | msgspec.UnsetType = msgspec.UNSET
    responsible_party: Text200 | msgspec.UnsetType = msgspec.UNSET
    retention: RetentionPeriod | msgspec.UnsetType = msgspec.UNSET
    unit_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET
    organisation_code: OrganisationCode | msgspec.UnsetType = msgspec.UNSET
    year: Year | None | msgspec.UnsetType = msgspec.UNSET
    circulation: CirculationIn | msgspec.UnsetType = msgspec.UNSET


class ContentsItemIn(Input):
    responsible_party: Text200
    title: Text500
    page_from: PageNumber
    page_to: PageNumber
    document_number: Text100 | None = None
    document_date: date | None = msgspec.field(default=None, name="date")
    remarks: Text500 | None = None


class ContentsIn(Input):
    """The whole contents list, in order: the n-th item gets sequence number n."""

    items: Annotated[list[ContentsItemIn], msgspec.Meta(max_length=2000)]


class RemarksIn(Input):
    """The remarks sheet's notes and compiler; the reviewer and review date are written by
    the review itself."""

    notes: Notes | None = None
    compiler: Text100 | None = None
    compiled_on: date | None = None


class ReviewIn(Input):
    reviewer_name: Text100  # as it goes on the remarks sheet
    comment: Reason | None = None


class ReasonIn(Input):
    reason: Reason


class LegalHoldIn(Input):
    hold: bool
    reason: Reason


class ClassificationChangeIn(Input):
    classification: LevelCode
    reason: Reason


class ContentsItemOut(Schema):
    sequence: int
    document_number: str | None
    responsible_party: str
    title: str
    document_date: date | None = msgspec.field(name="date")
    page_from: int
    page_to: int
    remarks: str | None


class RemarksOut(Schema):
    notes: str | None
    compiler: str | None
    compiled_on: date | None
    reviewer: str | None
    reviewed_on: date | None


class LegalHoldOut(Schema):
    on: bool
    reason: str | None
    changed_by: str | None
    changed_at: datetime | None


class VolumeOut(Schema):
    id: uuid.UUID
    archive_number: str | None
    title: str
    customer_id: uuid.UUID
    unit_ids: list[uuid.UUID]
    node_id: uuid.UUID
    responsible_party: str
    organisation_code: str
    year: int | None
    date_from: date | None  # the contents list's first and last dates
    date_to: date | None
    retention: RetentionPeriod
    classification: str
    circulation: Circulation
    status: VolumeStatus
    page_count: int
    pending_uploads: int
    item_count: int
    contents: list[ContentsItemOut]
    remarks: RemarksOut
    legal_hold: LegalHoldOut
    retention_mode: RetentionMode | None
    retain_until: datetime | None
    created_by: str
    created_at: datetime
    assembled_by: str | None
    assembled_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    filed_by: str | None
    filed_at: datetime | None
    version: int


class VolumeSummary(Schema):
    id: uuid.UUID
    archive_number: str | None
    title: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    year: int | None
    retention: RetentionPeriod
    classification: str
    status: VolumeStatus
    page_count: int
    legal_hold: bool
    filed_at: datetime | None
    created_at: datetime


# -------------------------------------------------------------------------------- pages

class PageDeclaration(Input):
    """What the scanning station is about to upload: the API signs exactly these bytes."""

    size: PageSize
    content_type: PageType
    sha256: Sha256Hex
    file_name: FileName | None = None


class PagesIn(Input):
    pages: Annotated[list[PageDeclaration], msgspec.Meta(min_length=1, max_length=100)]


class CorrectionIn(Input):
    size: PageSize
    content_type: PageType
    sha256: Sha256Hex
    reason: Reason
    file_name: FileName | None = None


class PageIdsIn(Input):
    page_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=100)]


class OrderIn(Input):
    """Every current page of the volume, each once, in the new order."""

    page_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=10_000)]


class PageOut(Schema):
    id: uuid.UUID
    volume_id: uuid.UUID
    lineage_id: uuid.UUID  # the page across its corrected revisions
    revision: int
    status: PageStatus
    page_number: int | None  # its position among the current pages; None while pending or superseded
    contents_item: int | None  # the sequence number of the contents-list item whose pages hold it
    content_type: str
    size: int
    sha256: str
    file_name: str | None
    version_id: str | None  # the object version in storage, once stored
    reason: str | None
    uploaded_by: str
    created_at: datetime
    upload_expires_at: datetime
    completed_at: datetime | None
    superseded_at: datetime | None
    locked_until: datetime | None
    version: int


class PresignedPut(Schema):
    """Send exactly this request with the file as the body (no Authorization header)."""

    method: str
    url: str
    headers: dict[str, str]
    expires_at: datetime


class PageUploadOut(Schema):
    page: PageOut
    upload: PresignedPut


class PageUploadsOut(Schema):
    items: list[PageUploadOut]


class PagesOut(Schema):
    items: list[PageOut]


class PageDownloadOut(Schema):
    """A short-lived URL for the page's bytes; its issuance is in the audit trail."""

    page_id: uuid.UUID
    page_number: int | None
    version_id: str
    content_type: str
    size: int
    sha256: str
    url: str
    expires_at: datetime


# ---------------------------------------------------------------------------- integrity

class LastCheck(Schema):
    at: datetime
    outcome: CheckOutcome
    detail: str | None


class ManifestPage(Schema):
    page_id: uuid.UUID
    lineage_id: uuid.UUID
    revision: int
    current: bool
    page_number: int | None
    object_key: str
    version_id: str
    size: int
    sha256: str
    content_type: str
    completed_at: datetime
    reason: str | None
    locked_until: datetime | None
    last_check: LastCheck | None


class Manifest(Schema):
    """Every stored page revision of the volume as recorded; ``digest`` is the SHA-256 of the
    page lines (page id, revision, object key, version id, size, SHA-256, one per line, in
    this order), so that a copy of the manifest can itself be checked."""

    volume_id: uuid.UUID
    archive_number: str | None
    status: VolumeStatus
    retention: RetentionPeriod
    retention_mode: RetentionMode | None
    retain_until: datetime | None
    legal_hold: bool
    page_count: int
    generated_at: datetime
    pages: list[ManifestPage]
    digest: str


def page_line(page_id: Any, revision: int, key: str, version_id: str, size: int, sha256: str) -> str:
    return f"{page_id} {revision} {key} {version_id} {size} {sha256}\n"
