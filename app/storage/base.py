"""The object store interface every adapter implements, its value types and typed errors.

Bytes go straight between clients and storage through presigned URLs; the API signs them
only after its own checks, and verifies what arrived (size and SHA-256) before it trusts
an upload. Every tenant has its own bucket (object lock, default retention and
encryption are bucket-level, and object lock can only be switched on when a bucket is
created): see docs/storage.md.

Keys are never built from unchecked input: every method validates the key against
``KEY_RE`` and derives the bucket from the tenant's slug, so no caller can reach another
tenant's bucket or escape the local store's directory.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from app.tenants.models import SLUG_MAX, SLUG_MIN, SLUG_RE

# Lower-case segments joined by "/", each starting with a letter or digit: no "." or ".."
# segment, no leading or doubled "/", nothing a file system or URL would reinterpret, and
# no two keys that differ only in case (the local store may sit on a case-insensitive disk).
KEY_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}(?:/[a-z0-9][a-z0-9._-]{0,99}){0,9}")
KEY_MAX = 255
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# type/subtype, lower case, no parameters: the local store compares Content-Type exactly.
CONTENT_TYPE_RE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
# S3 version ids are opaque (UUIDs on MinIO, base64-like on AWS); the local store's are hex.
VERSION_RE = re.compile(r"[A-Za-z0-9._+=-]{1,128}")
MAX_OBJECT_SIZE = 5 * 1024**3  # the largest single PUT S3 accepts
MIN_EXPIRY, MAX_EXPIRY = timedelta(seconds=1), timedelta(days=7)  # SigV4's bounds
CHUNK = 1024 * 1024
# S3 names reserved by AWS; the prefix setting rules out the reserved beginnings.
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
# Appended to a name that would end in a reserved suffix: never produced otherwise (a
# mapped slug has no "--"), so the mapping stays one-to-one.
_ESCAPE = "--0"


# -- errors -------------------------------------------------------------------------------

class StorageError(Exception):
    """Storage refused or failed; subclasses say how callers should answer."""


class InvalidArgument(StorageError, ValueError):
    """A size, content type, checksum, expiry or date the store cannot take."""


class InvalidKey(InvalidArgument):
    """A key, version id or tenant slug outside the strict patterns."""


class ObjectNotFound(StorageError):
    """No such object or version (or bucket)."""


class BucketNotFound(ObjectNotFound):
    """The tenant's bucket does not exist (never provisioned, or purged)."""


class ObjectLocked(StorageError):
    """Retention or a legal hold forbids the change (delete, shorter retention)."""


class ChecksumMismatch(StorageError):
    """The stored bytes are not the declared ones (size or SHA-256)."""


class StorageUnavailable(StorageError):
    """The storage server does not answer (refused, timed out, 5xx): answer 503 and retry."""

    retry_after = 5  # seconds, for the Retry-After header


class BucketMisconfigured(StorageError):
    """A bucket with the tenant's name exists but cannot be used (no object lock, not ours)."""


# -- values -------------------------------------------------------------------------------

class RetentionMode(str, enum.Enum):
    # GOVERNANCE: deletable before the date only with an explicit bypass (a privileged act).
    GOVERNANCE = "GOVERNANCE"
    # COMPLIANCE: nobody can delete the version or shorten the date until it passes.
    COMPLIANCE = "COMPLIANCE"


@dataclass(frozen=True)
class PresignedRequest:
    """What a client needs to make the request: send exactly these headers."""

    method: str
    url: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    version_id: str
    size: int
    content_type: str | None
    etag: str
    # Hex SHA-256 as the server recorded it, when it did; verify with sha256_of().
    sha256: str | None
    last_modified: datetime | None
    retention_mode: RetentionMode | None
    retain_until: datetime | None
    legal_hold: bool


@dataclass(frozen=True)
class BucketInfo:
    name: str
    object_lock: bool
    versioning: bool


@dataclass(frozen=True)
class IncompleteUpload:
    upload_id: str
    key: str | None  # None: the local store's interrupted PUT (the bytes never became an object)
    initiated: datetime


@dataclass(frozen=True)
class PurgeReport:
    existed: bool
    deleted_versions: int
    kept_locked: int  # versions under retention or legal hold: they outlive the tenant
    bucket_removed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- names and checks ---------------------------------------------------------------------

def bucket_name(prefix: str, tenant: str) -> str:
    """The tenant's bucket: ``prefix`` + the slug with "-" for "_" (S3 forbids "_").

    One-to-one: slugs never contain "-", so "_" → "-" loses nothing, and
    :func:`tenant_of_bucket` inverts it. Valid: a slug is 3–40 of [a-z0-9_], starts with a
    letter, has no "__" and does not end with "_"; the prefix (20 at most) is lower case,
    ends with "-" and has no "--"; so the name is 3–63 of [a-z0-9-], starts and ends with
    a letter or digit, and has no "--" unless it is the escape of a reserved suffix.
    """
    if not (SLUG_MIN <= len(tenant) <= SLUG_MAX and SLUG_RE.fullmatch(tenant)):
        raise InvalidKey(f"not a tenant slug: {tenant!r}")
    name = prefix + tenant.replace("_", "-")
    if name.endswith(_RESERVED_BUCKET_SUFFIXES):
        name += _ESCAPE
    if not is_valid_bucket_name(name):
        raise InvalidKey(f"bucket prefix {prefix!r} gives an invalid S3 bucket name {name!r}")
    return name


def tenant_of_bucket(prefix: str, name: str) -> str | None:
    """The inverse of :func:`bucket_name` (None for a name it does not produce)."""
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    if rest.endswith(_ESCAPE):
        rest = rest[: -len(_ESCAPE)]
        if not rest.endswith(_RESERVED_BUCKET_SUFFIXES):
            return None
    if "_" in rest:
        return None
    slug = rest.replace("-", "_")
    try:
        return slug if bucket_name(prefix, slug) == name else None
    except InvalidKey:
        return None


def is_valid_bucket_name(name: str) -> bool:
    """AWS's rules for general-purpose bucket names, for names without dots."""
    return (
        bool(_BUCKET_RE.fullmatch(name))
        and not name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not name.endswith(_RESERVED_BUCKET_SUFFIXES)
    )


# The checks take any object: the stores are also called with what an HTTP request carried.
def check_key(key: object) -> str:
    if not isinstance(key, str) or len(key) > KEY_MAX or not KEY_RE.fullmatch(key):
        raise InvalidKey(f"object keys are lower-case segments of [a-z0-9._-] joined by '/': {key!r:.80}")
    return key


def check_version(version_id: str | None) -> str | None:
    if version_id is not None and not VERSION_RE.fullmatch(version_id):
        raise InvalidKey(f"not a version id: {version_id!r:.80}")
    return version_id


def check_upload(size: object, content_type: object, sha256: object) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_OBJECT_SIZE:
        raise InvalidArgument(f"size must be 0 to {MAX_OBJECT_SIZE} bytes")
    check_content_type(content_type)
    if not isinstance(sha256, str) or not SHA256_RE.fullmatch(sha256):
        raise InvalidArgument("sha256 must be 64 lower-case hex digits")


def check_content_type(content_type: object) -> str:
    if not isinstance(content_type, str) or not CONTENT_TYPE_RE.fullmatch(content_type):
        raise InvalidArgument(f"content type must be a lower-case type/subtype without parameters: "
                              f"{content_type!r:.80}")
    return content_type


def check_expiry(expires: timedelta) -> int:
    if not MIN_EXPIRY <= expires <= MAX_EXPIRY:
        raise InvalidArgument("presigned URLs last 1 second to 7 days")
    return int(expires.total_seconds())


def check_until(until: object) -> datetime:
    """A retain-until date: aware, in the future, to the millisecond (what S3 keeps)."""
    if not isinstance(until, datetime) or until.tzinfo is None:
        raise InvalidArgument("retain-until must be a timezone-aware datetime")
    until = until.astimezone(UTC)
    until = until.replace(microsecond=until.microsecond // 1000 * 1000)
    if until <= datetime.now(UTC):
        raise InvalidArgument("retain-until must be in the future")
    return until


def content_disposition(download_name: str | None) -> str:
    """Always ``attachment``: stored bytes are never rendered as a page of the serving origin.

    The name is cleaned of control characters, quotes and path separators; non-ASCII
    names go in ``filename*`` (RFC 6266) with an ASCII fallback.
    """
    if not download_name:
        return "attachment"
    name = "".join(c for c in unicodedata.normalize("NFC", download_name)
                   if unicodedata.category(c)[0] != "C" and c not in '"\\/;')
    name = name.strip(" .")[:200] or "download"
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- the interface ------------------------------------------------------------------------

class ObjectStore(ABC):
    """Async object storage, one bucket per tenant, versioned, with object lock.

    Blocking work (SDK calls, disk) runs in worker threads. Errors are the typed ones
    above; :class:`StorageUnavailable` means "answer 503 with Retry-After".
    """

    kind: str

    def __init__(self, bucket_prefix: str) -> None:
        self.bucket_prefix = bucket_prefix

    def bucket_name(self, tenant: str) -> str:
        return bucket_name(self.bucket_prefix, tenant)

    @abstractmethod
    async def ensure_bucket(self, tenant: str) -> BucketInfo:
        """Create the tenant's bucket with object lock (hence versioning); idempotent."""

    @abstractmethod
    async def describe_bucket(self, tenant: str) -> BucketInfo:
        """Whether the bucket has object lock and versioning; BucketNotFound if absent."""

    @abstractmethod
    async def presign_put(self, tenant: str, key: str, *, size: int, content_type: str, sha256: str,
                          expires: timedelta) -> PresignedRequest:
        """A URL for one direct upload of exactly these bytes (each PUT makes a new version).

        Use a fresh key per upload; ``stat(key)`` then names the version that arrived, and
        :meth:`verify` checks it before the upload is trusted.
        """

    @abstractmethod
    async def presign_get(self, tenant: str, key: str, *, version_id: str | None = None,
                          expires: timedelta, download_name: str | None = None,
                          content_type: str | None = None) -> PresignedRequest:
        """A short-lived download URL (the latest version when ``version_id`` is None), served
        as an attachment named ``download_name`` and, when given, as ``content_type`` whatever
        type the object was stored with."""

    @abstractmethod
    async def stat(self, tenant: str, key: str, version_id: str | None = None) -> ObjectInfo:
        """Size, type, version, ETag, lock state (and SHA-256 when the server recorded it)."""

    @abstractmethod
    def read(self, tenant: str, key: str, version_id: str | None = None) -> AsyncIterator[bytes]:
        """The object's bytes, in chunks."""

    async def sha256_of(self, tenant: str, key: str, version_id: str | None = None) -> str:
        """The SHA-256 of the stored bytes, computed by reading them (never trusted metadata)."""
        digest = hashlib.sha256()
        async for chunk in self.read(tenant, key, version_id):
            digest.update(chunk)
        return digest.hexdigest()

    async def verify(self, tenant: str, key: str, *, size: int, sha256: str,
                     version_id: str | None = None) -> ObjectInfo:
        """Confirm an upload: the stored version has the declared size and SHA-256."""
        info = await self.stat(tenant, key, version_id)
        if info.size != size:
            raise ChecksumMismatch(f"{key}: {info.size} bytes stored, {size} declared")
        actual = await self.sha256_of(tenant, key, info.version_id)
        if actual != sha256:
            raise ChecksumMismatch(f"{key}: SHA-256 {actual} stored, {sha256} declared")
        return info

    @abstractmethod
    async def set_retention(self, tenant: str, key: str, version_id: str, mode: RetentionMode,
                            until: datetime) -> None:
        """Retain the version until ``until``; ObjectLocked when that would weaken a lock."""

    @abstractmethod
    async def set_legal_hold(self, tenant: str, key: str, version_id: str, on: bool) -> None:
        """A legal hold forbids deletion, whatever the retention, until it is cleared."""

    @abstractmethod
    async def delete(self, tenant: str, key: str, version_id: str, *, bypass_governance: bool = False) -> None:
        """Delete one version for good; ObjectLocked under legal hold or retention
        (GOVERNANCE gives way to ``bypass_governance``, COMPLIANCE never)."""

    async def delete_key(self, tenant: str, key: str, *, max_versions: int = 100) -> int:
        """Delete every version under ``key``, newest first, for a key that is garbage as a
        whole (an upload never confirmed, a removed draft page); returns how many.
        ObjectLocked at the first locked version (those below it stay too)."""
        deleted = 0
        for _ in range(max_versions):
            try:
                newest = await self.stat(tenant, key)
                await self.delete(tenant, key, newest.version_id)
            except ObjectNotFound:
                return deleted
            deleted += 1
        return deleted

    @abstractmethod
    async def list_incomplete(self, tenant: str, older_than: timedelta) -> list[IncompleteUpload]:
        """Uploads started more than ``older_than`` ago that never completed."""

    @abstractmethod
    async def abort_incomplete(self, tenant: str, older_than: timedelta) -> int:
        """Discard those uploads; returns how many."""

    @abstractmethod
    async def purge_bucket(self, tenant: str) -> PurgeReport:
        """For a purged tenant: delete every version no lock protects; remove the bucket
        when nothing is left (locked versions keep it, and stay until their dates)."""

    @abstractmethod
    async def health(self) -> None:
        """Return when storage answers; raise StorageUnavailable otherwise."""
