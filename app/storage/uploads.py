"""One upload lifecycle for every use of object storage: declare, presign, complete, download, expire.

A use (complaint attachments, archive pages) declares once what it accepts (:class:`UploadUse`):
its content types, its largest size, how long its URLs live, how long a signed upload is
given after its URL expired, and the layout of its keys in the tenant's bucket. Its rows carry
the columns of :class:`UploadMixin`. Then every use goes the same way:

1. **Declare**: :meth:`UploadUse.declare` checks size, type, SHA-256 and the file name, whose
   extension must be the declared type's (``x.html`` is no PNG); a name without one gets it.
2. **Presign**: :func:`start` signs a PUT of exactly those bytes and makes the row pending.
3. **Complete**: :func:`inspect` reads the object back: its size, its SHA-256 (computed, never
   taken from metadata), the type it is stored as, and that its first bytes are that format's
   (:data:`FORMATS`: HTML sent as a PNG is refused). Only then ``row.mark_stored``.
4. **Download**: :func:`presign_download` signs a GET of the recorded version, served as the
   declared type, as an attachment named with the declared type's extension.
5. **Expire**: :func:`expire` removes the objects, then the rows, of uploads never completed,
   once their URL expired more than the use's grace ago: no PUT can add to them any more.

Each domain keeps its permissions, audit actions and problem wording; this module knows no
domain. Keys come only from :meth:`UploadUse.key` (ids in a fixed layout) and the bucket only
from the tenant, so no declaration can name another tenant's object.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
import string
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

import msgspec
from sqlalchemy import BigInteger, DateTime, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.core import clock
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import ONE_LINE_PATTERN, Schema
from app.storage.base import (
    MAX_EXPIRY,
    MAX_OBJECT_SIZE,
    MIN_EXPIRY,
    SHA256_RE,
    ObjectInfo,
    ObjectLocked,
    ObjectNotFound,
    ObjectStore,
    PresignedRequest,
    check_key,
)

log = logging.getLogger(__name__)

# -- formats ------------------------------------------------------------------------------

# Enough of the object's beginning for every signature below.
HEAD_BYTES = 16
# HEIF brands of HEIC images (ISO/IEC 23008-12): the "ftyp" box's major brand.
_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


@dataclass(frozen=True)
class Format:
    """A content type an upload may declare: its file extensions (the first is the one a
    name is given) and how its bytes begin."""

    content_type: str
    extensions: tuple[str, ...]
    begins: Callable[[bytes], bool]

    @property
    def extension(self) -> str:
        return self.extensions[0]


def _starts(*marks: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(marks)


FORMATS: Mapping[str, Format] = {f.content_type: f for f in (
    Format("application/pdf", ("pdf",), _starts(b"%PDF-")),
    Format("image/png", ("png",), _starts(b"\x89PNG\r\n\x1a\n")),
    Format("image/jpeg", ("jpg", "jpeg", "jpe"), _starts(b"\xff\xd8\xff")),
    Format("image/tiff", ("tif", "tiff"), _starts(b"II*\x00", b"MM\x00*")),
    Format("image/gif", ("gif",), _starts(b"GIF87a", b"GIF89a")),
    Format("image/webp", ("webp",), lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    Format("image/heic", ("heic",), lambda head: head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS),
)}


def begins_as(content_type: str, head: bytes) -> bool:
    """Whether ``head`` (the object's first bytes) begins as the type's format does. Markup
    (HTML, SVG, XML) begins as none of them, so it never passes for one."""
    found = FORMATS.get(content_type)
    return found is not None and found.begins(head)


# -- names --------------------------------------------------------------------------------

NAME_MAX = 200
# What follows a name's last dot is taken as its extension when it is 1-10 letters and
# digits with at least one letter ("scan 1.2" has none; "x.html" has one).
_EXTENSION_RE = re.compile(r"\.([A-Za-z0-9]{1,10})$")
_SEPARATORS = '/\\"'
_ENDS_RE = re.compile(r"^[\s.]+|[\s.]+$")  # blanks (any Unicode space) and dots at either end


def _clean(name: str) -> str:
    """The name without control or format characters (a right-to-left override can make
    ``x.png`` of ``xgnp.html``), path separators or quotes, and without blanks or dots at
    either end (some systems drop trailing dots: ``x.html.`` is ``x.html``)."""
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c)[0] != "C" and c not in _SEPARATORS)
    return _ENDS_RE.sub("", name)


def extension_of(name: str) -> str | None:
    found = _EXTENSION_RE.search(name)
    if found is None or not any(c.isalpha() for c in found.group(1)):
        return None
    return found.group(1).lower()


def safe_name(name: str | None, content_type: str, *, fallback: str = "download") -> str:
    """The name a stored object is served under: ``name`` cleaned, with the declared type's
    extension (appended when the name has none, put in place of another one: a name stored
    before extensions were checked is never served as ``.html``)."""
    found = FORMATS[content_type]
    cleaned = _clean(name or "") or fallback
    extension = extension_of(cleaned)
    if extension in found.extensions:
        return cleaned
    if extension is not None:
        cleaned = cleaned[: -len(extension) - 1]
    return f"{cleaned[: NAME_MAX - len(found.extension) - 1]}.{found.extension}"


# -- declarations -------------------------------------------------------------------------

# The wire types of a declaration (what JSON Schema can say; :meth:`UploadUse.problems` says the rest).
Sha256Hex = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$", description="Lower-case hex SHA-256 of the file.")]
FileName = Annotated[str, msgspec.Meta(
    min_length=1, max_length=NAME_MAX, pattern=ONE_LINE_PATTERN, examples=["leak-1.jpg", "scan-0001.tif"],
    description="Its extension, if it has one, is one of the content type's (`x.html` is no PNG); a name "
                "without one is given the type's.")]

@dataclass(frozen=True)
class Declared:
    """An upload as declared and checked: the name is normalised (None when none was given)."""

    content_type: str
    size: int
    sha256: str
    file_name: str | None


@dataclass(frozen=True)
class UploadUse:
    """What one use of uploads accepts, how long its URLs live, and where its keys go.

    ``key_layout`` is a key with ``{placeholders}`` that :meth:`key` fills with ids only,
    e.g. ``"complaints/{complaint}/{attachment}"``; the bucket is always the tenant's own.
    """

    name: str
    content_types: tuple[str, ...]
    max_size: int
    upload_ttl: timedelta
    download_ttl: timedelta
    # After its URL expired, an upload is given this long (a PUT begun in time may still be
    # arriving) before it is removed, if it was never completed.
    grace: timedelta
    key_layout: str

    def __post_init__(self) -> None:
        unknown = [t for t in self.content_types if t not in FORMATS]
        if not self.content_types or unknown:
            raise ValueError(f"{self.name}: content types without a known format: {unknown}")
        if not 1 <= self.max_size <= MAX_OBJECT_SIZE:
            raise ValueError(f"{self.name}: max_size must be 1 to {MAX_OBJECT_SIZE} bytes")
        for ttl in (self.upload_ttl, self.download_ttl):
            if not MIN_EXPIRY <= ttl <= MAX_EXPIRY:
                raise ValueError(f"{self.name}: URLs last 1 second to 7 days")
        fields = [f for _, f, _, _ in string.Formatter().parse(self.key_layout) if f is not None]
        if not fields or len(set(fields)) != len(fields):
            raise ValueError(f"{self.name}: the key layout names each id once: {self.key_layout!r}")
        self.key(**{f: uuid.UUID(int=0) for f in fields})  # the layout makes valid keys

    def key(self, **ids: uuid.UUID) -> str:
        """The object key of an upload: the layout filled with ids (UUIDs only, nothing a
        caller typed), checked like every key."""
        if not all(isinstance(v, uuid.UUID) for v in ids.values()):
            raise TypeError("upload keys are made of ids only")
        return check_key(self.key_layout.format(**{k: str(v) for k, v in ids.items()}))

    def problems(self, *, content_type: str, size: int, sha256: str, file_name: str | None, at: str = "",
                 name_field: str = "fileName") -> tuple[Declared, list[FieldError]]:
        """The declaration, normalised, and what is wrong with it (fields named ``at`` +
        their wire name: ``pages.0.fileName``)."""
        errors: list[FieldError] = []
        if content_type not in self.content_types:
            errors.append(field_error(f"{at}contentType", f"one of {', '.join(self.content_types)}"))
        if not 1 <= size <= self.max_size:
            errors.append(field_error(f"{at}size", f"1 to {self.max_size} bytes"))
        if not SHA256_RE.fullmatch(sha256):
            errors.append(field_error(f"{at}sha256", "64 lower-case hex digits"))
        name = None
        if file_name is not None:
            name = _clean(file_name)
            extension = extension_of(name)
            if not name:
                errors.append(field_error(f"{at}{name_field}", "a name with more than blanks and dots"))
            elif content_type in self.content_types and extension is not None:
                allowed = FORMATS[content_type].extensions
                if extension not in allowed:
                    errors.append(field_error(f"{at}{name_field}", f"the extension .{extension} is not one of "
                                                                   f"{content_type} ({', '.join(allowed)})"))
            if content_type in self.content_types and name and extension is None:
                name = safe_name(name, content_type)
            if name and len(name) > NAME_MAX:
                errors.append(field_error(f"{at}{name_field}", f"at most {NAME_MAX} characters"))
        return Declared(content_type=content_type, size=size, sha256=sha256, file_name=name), errors

    def declare(self, *, content_type: str, size: int, sha256: str, file_name: str | None,
                name_field: str = "fileName") -> Declared:
        """The declaration, normalised; 422 naming each field that is wrong."""
        declared, errors = self.problems(content_type=content_type, size=size, sha256=sha256, file_name=file_name,
                                         name_field=name_field)
        refuse(errors)
        return declared


def refuse(errors: Sequence[FieldError]) -> None:
    if errors:
        raise ProblemError("validation", "The declared upload is not acceptable.", errors=list(errors))


# -- rows ---------------------------------------------------------------------------------

class UploadMixin:
    """The columns of a row that records an upload: its key, the declared size, type and
    SHA-256, when its URL expires, and once completed the verified version and when.

    The row's own ``status`` column (a domain enum) says pending or stored: a class names
    its two values in ``UPLOAD_PENDING`` and ``UPLOAD_STORED``. A table made before this mixin
    keeps its column names through ``__upload_columns__`` (attribute → column), so adopting
    it renames nothing in the database.
    """

    __upload_columns__: ClassVar[Mapping[str, str]] = {}
    UPLOAD_PENDING: ClassVar[enum.Enum]
    UPLOAD_STORED: ClassVar[enum.Enum]
    if TYPE_CHECKING:
        status: Any

    @classmethod
    def _column_name(cls, attribute: str) -> str:
        return cls.__upload_columns__.get(attribute, attribute)

    @declared_attr
    def object_key(cls) -> Mapped[str]:
        return mapped_column(cls._column_name("object_key"), String(255), nullable=False, unique=True)

    @declared_attr
    def content_type(cls) -> Mapped[str]:
        return mapped_column(cls._column_name("content_type"), String(100), nullable=False)

    @declared_attr
    def size(cls) -> Mapped[int]:
        return mapped_column(cls._column_name("size"), BigInteger, nullable=False)

    @declared_attr
    def sha256(cls) -> Mapped[str]:
        return mapped_column(cls._column_name("sha256"), String(64), nullable=False)

    @declared_attr
    def upload_expires_at(cls) -> Mapped[datetime]:
        return mapped_column(cls._column_name("upload_expires_at"), DateTime(timezone=True), nullable=False)

    @declared_attr
    def object_version(cls) -> Mapped[str | None]:  # the verified version, once completed
        return mapped_column(cls._column_name("object_version"), String(128))

    @declared_attr
    def completed_at(cls) -> Mapped[datetime | None]:
        return mapped_column(cls._column_name("completed_at"), DateTime(timezone=True))

    @property
    def upload_pending(self) -> bool:
        return bool(self.status == self.UPLOAD_PENDING)

    def mark_stored(self, info: ObjectInfo, at: datetime) -> None:
        """Completed: the version :func:`inspect` found to be the declared file."""
        self.status, self.object_version, self.completed_at = self.UPLOAD_STORED, info.version_id, at


Row = TypeVar("Row", bound=UploadMixin)


async def start(store: ObjectStore, tenant: str, use: UploadUse, row: UploadMixin, key: str, declared: Declared, *,
                expires: timedelta | None = None) -> PresignedRequest:
    """Sign a PUT of exactly the declared bytes under ``key`` (from ``use.key``) in the
    tenant's bucket, and make ``row`` the pending upload it is (the caller adds it)."""
    signed = await store.presign_put(tenant, key, size=declared.size, content_type=declared.content_type,
                                     sha256=declared.sha256, expires=expires or use.upload_ttl)
    row.object_key, row.content_type, row.size, row.sha256 = key, declared.content_type, declared.size, declared.sha256
    row.upload_expires_at, row.object_version, row.completed_at = signed.expires_at, None, None
    row.status = row.UPLOAD_PENDING
    return signed


# -- completion ---------------------------------------------------------------------------

class Outcome(enum.StrEnum):
    ok = "ok"
    missing = "missing"  # no such object (version) in storage
    mismatch = "mismatch"  # another size or SHA-256 than declared
    unusable = "unusable"  # stored as another type, or bytes that do not begin as the declared format


@dataclass(frozen=True)
class Inspection:
    outcome: Outcome
    info: ObjectInfo | None  # what storage holds, when it holds anything
    detail: str | None  # why it is not the declared file


async def inspect(store: ObjectStore, tenant: str, row: UploadMixin, version_id: str | None = None) -> Inspection:
    """Storage's copy of an upload (``version_id``; the newest when None) against its row: its
    size, its SHA-256 read back, the type it is stored as, and bytes that begin as that type's
    format. Storage being down raises; anything else is an outcome."""
    try:
        info = await store.stat(tenant, row.object_key, version_id)
        if info.size != row.size:
            return Inspection(Outcome.mismatch, info, f"{info.size} bytes stored, {row.size} declared")
        digest, head = hashlib.sha256(), b""
        async for chunk in store.read(tenant, row.object_key, info.version_id):
            head += chunk[:HEAD_BYTES - len(head)]
            digest.update(chunk)
    except ObjectNotFound:
        return Inspection(Outcome.missing, None,
                          f"{row.object_key} (version {version_id or 'newest'}) is not in storage")
    if digest.hexdigest() != row.sha256:
        return Inspection(Outcome.mismatch, info, f"SHA-256 {digest.hexdigest()} stored, {row.sha256} declared")
    stored_type = (info.content_type or "").split(";")[0].strip().lower()
    if stored_type != row.content_type:
        return Inspection(Outcome.unusable, info, f"stored as {stored_type or 'no type'}, declared {row.content_type}")
    if not begins_as(row.content_type, head):
        return Inspection(Outcome.unusable, info, f"the bytes do not begin as {row.content_type} does")
    return Inspection(Outcome.ok, info, None)


async def verified(store: ObjectStore, tenant: str, row: UploadMixin, what: str) -> ObjectInfo:
    """What storage holds for a pending upload, once :func:`inspect` found it to be the
    declared file (for ``row.mark_stored``); else a 409 that says what to do. ``what`` names
    the record in the answer ("photo <id>")."""
    found = await inspect(store, tenant, row)
    if found.outcome is Outcome.missing:
        raise ProblemError("conflict", f"Nothing was uploaded for {what} yet: PUT its bytes to the upload URL first.")
    if found.outcome is Outcome.mismatch:
        raise ProblemError("conflict", f"The uploaded bytes are not the declared ones ({found.detail}); upload them "
                                       "again.")
    if found.info is None or found.outcome is not Outcome.ok:
        raise ProblemError("conflict", f"The uploaded bytes are not the declared ones ({found.detail}): they are "
                                       f"not a {row.content_type} file. Start a new upload with the file's own type.")
    return found.info


# -- downloads ----------------------------------------------------------------------------

async def presign_download(store: ObjectStore, tenant: str, use: UploadUse, row: UploadMixin, *, name: str | None,
                           expires: timedelta | None = None) -> PresignedRequest:
    """A short-lived GET of the completed upload's recorded version (never "the latest"),
    served as its declared type and as an attachment named ``name`` with that type's
    extension (:func:`safe_name`). The caller checks its permissions and that it is stored."""
    if row.object_version is None:
        raise ValueError(f"{row.object_key} was never completed")
    return await store.presign_get(tenant, row.object_key, version_id=row.object_version,
                                   expires=expires or use.download_ttl, content_type=row.content_type,
                                   download_name=safe_name(name, row.content_type))


async def download_link(store: ObjectStore, tenant: str, use: UploadUse, row: UploadMixin, what: str, *,
                        name: str | None) -> DownloadOut:
    """:func:`presign_download` of a stored upload, as the API answers it; 409 while the upload
    is pending. The caller checks its permissions."""
    if row.upload_pending:
        raise ProblemError("conflict", f"{what[:1].upper()}{what[1:]} is not stored yet: its upload was not "
                                       "completed.")
    signed = await presign_download(store, tenant, use, row, name=name)
    return DownloadOut(url=signed.url, expires_at=signed.expires_at)


# -- what the API answers -----------------------------------------------------------------

class UploadOut(Schema):
    """Send exactly ``headers`` with the bytes, by ``expiresAt``; then complete the upload."""

    method: str
    url: str
    headers: dict[str, str]
    expires_at: datetime

    @classmethod
    def of(cls, signed: PresignedRequest) -> UploadOut:
        return cls(method=signed.method, url=signed.url, headers=signed.headers, expires_at=signed.expires_at)


class DownloadOut(Schema):
    """A short-lived URL of the stored version, served as the declared type."""

    url: str
    expires_at: datetime


# -- expiry -------------------------------------------------------------------------------

EXPIRY_BATCH = 500
# Removes the objects of expired uploads; returns the rows whose objects are gone (or surely
# will be: a use with a removal list of its own queues them in the same transaction).
Remover = Callable[[Sequence[Row]], Awaitable[Sequence[Row]]]


async def remove_key(store: ObjectStore, tenant: str, key: str) -> int:
    """Every version under ``key`` (a PUT can be replayed until its URL expires, each making
    one); how many were deleted. Nothing there is no error."""
    deleted = 0
    while (count := await store.delete_key(tenant, key)) > 0:
        deleted += count
    return deleted


def delete_objects(store: ObjectStore, tenant: str) -> Remover[Row]:
    """The remover that deletes the objects at once, before the rows go in the caller's
    transaction: if that transaction fails, the next run finds the rows again and nothing left
    to delete. An object that refuses deletion (a lock set by hand) keeps its row, logged."""

    async def remove(rows: Sequence[Row]) -> Sequence[Row]:
        gone: list[Row] = []
        for row in rows:
            try:
                await remove_key(store, tenant, row.object_key)
            except ObjectLocked:
                log.warning("the expired upload %s of tenant %s is locked; its row is kept", row.object_key, tenant)
                continue
            gone.append(row)
        return gone

    return remove


async def expire(session: AsyncSession, model: type[Row], use: UploadUse, remove: Remover[Row], *,
                 batch: int = EXPIRY_BATCH) -> list[Row]:
    """Uploads never completed whose URL expired more than ``use.grace`` ago (no PUT can add to
    them any more): ``remove`` clears their objects, then their rows are deleted. Returns the
    rows deleted, for the caller to audit in the same transaction.

    Idempotent: a redelivered run finds no such rows, or rows whose objects are gone already,
    and finishes them. A completion holding a row's lock keeps it (SKIP LOCKED); one that comes
    after finds no row."""
    pending: Any = model.status == model.UPLOAD_PENDING
    rows = (await session.scalars(
        select(model).where(pending, model.upload_expires_at < clock.utcnow() - use.grace)
        .order_by(model.upload_expires_at).limit(batch).with_for_update(skip_locked=True))).all()
    removed = list(await remove(rows))
    for row in removed:
        await session.delete(row)
    await session.flush()
    return removed
