"""S3 adapter on the ``minio`` SDK: MinIO, AWS S3, or any S3-compatible server.

Only the S3 API is used (no MinIO admin API: MinIO's community server is in maintenance
mode, and the same code must run against other servers). Presigned PUTs are signed here,
not by the SDK: ``presigned_put_object`` signs only the Host header, which would let a
client send any size, type or checksum. Ours also sign Content-Length, Content-Type and
x-amz-checksum-sha256, as AWS's own SDKs do; a server that checks checksums (AWS S3,
MinIO) then refuses bytes that are not the declared ones, and :meth:`verify` checks
size and SHA-256 again on completion, whatever the server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from urllib.parse import SplitResult, parse_qsl, quote, urlsplit, urlunsplit

import anyio.to_thread
import certifi
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.retention import Retention
from urllib3.util import Retry, Timeout

from app.storage.base import (
    CHUNK,
    BucketInfo,
    BucketMisconfigured,
    BucketNotFound,
    IncompleteUpload,
    ObjectInfo,
    ObjectLocked,
    ObjectNotFound,
    ObjectStore,
    PresignedRequest,
    PurgeReport,
    RetentionMode,
    StorageError,
    StorageUnavailable,
    check_content_type,
    check_expiry,
    check_key,
    check_until,
    check_upload,
    check_version,
    content_disposition,
)

T = TypeVar("T")

_NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "NoSuchObject", "ResourceNotFound", "NoSuchUpload"}
_BUSY = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "ServerBusy",
         "XMinioServerNotInitialized"}
# Health probes look for a bucket no tenant can have ("health" is a reserved slug).
_PROBE = "health"


def _unquote_etag(value: str | None) -> str:
    return (value or "").strip('"')


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def presign_v4(*, method: str, url: SplitResult, region: str, access_key: str, secret_key: str,
               headers: dict[str, str], expires: int, now: datetime) -> str:
    """A SigV4 query-signed URL that also signs ``headers`` (the client must send them)."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{now:%Y%m%d}/{region}/s3/aws4_request"
    signed = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    signed["host"] = url.netloc
    names = sorted(signed)
    params = parse_qsl(url.query, keep_blank_values=True) + [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", ";".join(names)),
    ]
    query = "&".join(f"{k}={v}" for k, v in sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in params))
    canonical = "\n".join([
        method, url.path or "/", query, "".join(f"{n}:{signed[n]}\n" for n in names), ";".join(names),
        "UNSIGNED-PAYLOAD",
    ])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret_key}".encode()
    for part in (f"{now:%Y%m%d}", region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return urlunsplit(url._replace(query=f"{query}&X-Amz-Signature={signature}"))


class S3Store(ObjectStore):
    kind = "s3"

    def __init__(self, endpoint: str, *, access_key: str, secret_key: str, region: str = "us-east-1",
                 secure: bool = False, bucket_prefix: str, connect_timeout: float = 2.0,
                 read_timeout: float = 10.0) -> None:
        super().__init__(bucket_prefix)
        parts = urlsplit(endpoint if "://" in endpoint else ("https://" if secure else "http://") + endpoint)
        self.secure = parts.scheme == "https"
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        default_port = 443 if self.secure else 80
        netloc = host if parts.port in (None, default_port) else f"{host}:{parts.port}"
        self.region = region
        self._access_key, self._secret_key = access_key, secret_key
        # Short timeouts and one retry: a dead server must answer "unavailable" in seconds,
        # not after the SDK's default five retries of five minutes each.
        http = urllib3.PoolManager(
            timeout=Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=16,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=Retry(total=1, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        self._client = Minio(netloc, access_key=access_key, secret_key=secret_key, secure=self.secure,
                             region=region, http_client=http)

    # -- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def _error(exc: Exception) -> StorageError:
        if isinstance(exc, S3Error):
            if exc.code == "NoSuchBucket":
                return BucketNotFound(exc.bucket_name or str(exc))
            if exc.code in _NOT_FOUND:
                return ObjectNotFound(f"{exc.bucket_name}/{exc.object_name}")
            if exc.code in _BUSY:
                return StorageUnavailable(f"S3: {exc.code}")
            return StorageError(f"S3: {exc.code}: {exc.message}")
        if isinstance(exc, (ServerError, InvalidResponseError)):
            return StorageUnavailable(f"S3: {exc}")
        return StorageUnavailable(f"S3 unreachable: {type(exc).__name__}: {exc}"[:300])

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))
        except StorageError:
            raise
        except (S3Error, ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._error(exc) from exc

    def _object_url(self, method: str, bucket: str, key: str) -> SplitResult:
        # The SDK's own URL builder: path or virtual-host style, as it would address the object.
        return self._client._base_url.build(method=method, region=self.region, bucket_name=bucket,
                                            object_name=key)

    # -- the interface ----------------------------------------------------------------------

    async def ensure_bucket(self, tenant: str) -> BucketInfo:
        bucket = self.bucket_name(tenant)
        try:
            await self._run(self._client.make_bucket, bucket, self.region, object_lock=True)
        except StorageError as exc:
            cause = exc.__cause__
            code = cause.code if isinstance(cause, S3Error) else None
            if code == "BucketAlreadyExists":
                raise BucketMisconfigured(f"bucket {bucket} belongs to another account: "
                                          f"choose another CORNERSTONE_S3_BUCKET_PREFIX") from exc
            if code != "BucketAlreadyOwnedByYou":
                raise
        # Also when the bucket was just made: us-east-1 answers 200 to re-creating a bucket
        # one already owns, with or without object lock. Lock on means versioning on.
        info = await self.describe_bucket(tenant)
        if not info.object_lock:
            raise BucketMisconfigured(f"bucket {bucket} exists without object lock, which can only be "
                                      f"enabled at creation: move its objects and recreate it")
        return info

    async def describe_bucket(self, tenant: str) -> BucketInfo:
        bucket = self.bucket_name(tenant)

        def describe() -> BucketInfo:
            try:
                self._client.get_object_lock_config(bucket)
                lock = True
            except S3Error as exc:
                if exc.code != "ObjectLockConfigurationNotFoundError":
                    raise
                lock = False
            versioning = self._client.get_bucket_versioning(bucket).status == ENABLED
            return BucketInfo(name=bucket, object_lock=lock, versioning=versioning)

        return await self._run(describe)

    async def presign_put(self, tenant: str, key: str, *, size: int, content_type: str, sha256: str,
                          expires: timedelta) -> PresignedRequest:
        bucket = self.bucket_name(tenant)
        check_key(key)
        check_upload(size, content_type, sha256)
        seconds = check_expiry(expires)
        now = datetime.now(UTC).replace(microsecond=0)
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(size),
            # S3 wants the digest in base64; servers that check it refuse other bytes.
            "x-amz-checksum-sha256": base64.b64encode(binascii.unhexlify(sha256)).decode(),
            "x-amz-sdk-checksum-algorithm": "SHA256",
        }
        url = presign_v4(method="PUT", url=self._object_url("PUT", bucket, key), region=self.region,
                         access_key=self._access_key, secret_key=self._secret_key, headers=headers,
                         expires=seconds, now=now)
        return PresignedRequest("PUT", url, headers, now + timedelta(seconds=seconds))

    async def presign_get(self, tenant: str, key: str, *, version_id: str | None = None, expires: timedelta,
                          download_name: str | None = None, content_type: str | None = None) -> PresignedRequest:
        bucket = self.bucket_name(tenant)
        check_key(key)
        check_version(version_id)
        seconds = check_expiry(expires)
        response: dict[str, str | list[str] | tuple[str]] = {
            "response-content-disposition": content_disposition(download_name)}
        if content_type is not None:
            response["response-content-type"] = check_content_type(content_type)
        now = datetime.now(UTC).replace(microsecond=0)
        url = self._client.presigned_get_object(
            bucket, key, expires=timedelta(seconds=seconds), version_id=version_id, request_date=now,
            response_headers=response,
        )
        return PresignedRequest("GET", url, {}, now + timedelta(seconds=seconds))

    def _stat(self, bucket: str, key: str, version_id: str | None) -> ObjectInfo:
        # Checksum mode: the server returns the SHA-256 it verified at upload, if it has one.
        obj = self._client.stat_object(bucket, key, version_id=version_id,
                                       extra_headers={"x-amz-checksum-mode": "ENABLED"})
        headers = obj.metadata or {}
        checksum = headers.get("x-amz-checksum-sha256")
        try:
            sha256 = base64.b64decode(checksum, validate=True).hex() if checksum else None
        except binascii.Error:
            sha256 = None
        mode = headers.get("x-amz-object-lock-mode")
        return ObjectInfo(
            key=key, version_id=obj.version_id or "null", size=obj.size or 0,
            content_type=obj.content_type, etag=_unquote_etag(obj.etag), sha256=sha256,
            last_modified=obj.last_modified,
            retention_mode=RetentionMode(mode) if mode in ("GOVERNANCE", "COMPLIANCE") else None,
            retain_until=_http_date(headers.get("x-amz-object-lock-retain-until-date")),
            legal_hold=headers.get("x-amz-object-lock-legal-hold") == "ON",
        )

    async def stat(self, tenant: str, key: str, version_id: str | None = None) -> ObjectInfo:
        check_key(key)
        check_version(version_id)
        return await self._run(self._stat, self.bucket_name(tenant), key, version_id)

    async def read(self, tenant: str, key: str, version_id: str | None = None) -> AsyncIterator[bytes]:
        check_key(key)
        check_version(version_id)
        response = await self._run(self._client.get_object, self.bucket_name(tenant), key, version_id=version_id)
        try:
            chunks = response.stream(CHUNK)
            while chunk := await self._run(next, chunks, b""):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def set_retention(self, tenant: str, key: str, version_id: str, mode: RetentionMode,
                            until: datetime) -> None:
        check_key(key)
        check_version(version_id)
        retention = Retention(RetentionMode(mode).value, check_until(until))
        try:
            await self._run(self._client.set_object_retention, self.bucket_name(tenant), key, retention,
                            version_id=version_id)
        except StorageError as exc:
            if isinstance(exc.__cause__, S3Error) and exc.__cause__.code == "AccessDenied":
                raise ObjectLocked(f"{key}: the server refuses to weaken its retention") from exc
            raise

    async def set_legal_hold(self, tenant: str, key: str, version_id: str, on: bool) -> None:
        check_key(key)
        check_version(version_id)
        change = self._client.enable_object_legal_hold if on else self._client.disable_object_legal_hold
        await self._run(change, self.bucket_name(tenant), key, version_id=version_id)

    def _delete_versions(self, bucket: str, objects: list[DeleteObject], bypass_governance: bool) -> list[Any]:
        # DeleteObjects, the one delete call of the SDK that can send the governance bypass.
        return list(self._client.remove_objects(bucket, objects, bypass_governance_mode=bypass_governance))

    async def delete(self, tenant: str, key: str, version_id: str, *, bypass_governance: bool = False) -> None:
        if not version_id:
            raise ObjectNotFound("delete names a version: versions are deleted one by one, on purpose")
        bucket = self.bucket_name(tenant)
        await self.stat(tenant, key, version_id)  # DeleteObjects is silent about unknown versions
        errors = await self._run(self._delete_versions, bucket, [DeleteObject(key, version_id)], bypass_governance)
        for error in errors:
            if error.code == "AccessDenied":
                raise ObjectLocked(f"{key} version {version_id} is under retention or legal hold: {error.message}")
            if error.code in _NOT_FOUND:
                raise ObjectNotFound(f"{bucket}/{key}?versionId={version_id}")
            raise StorageError(f"S3: {error.code}: {error.message}")

    def _uploads(self, bucket: str, older_than: timedelta) -> list[IncompleteUpload]:
        # ListMultipartUploads has no public wrapper in the SDK; these are its own calls.
        cutoff = datetime.now(UTC) - older_than
        found: list[IncompleteUpload] = []
        key_marker = upload_id_marker = None
        while True:
            result = self._client._list_multipart_uploads(bucket, key_marker=key_marker,
                                                          upload_id_marker=upload_id_marker)
            for upload in result.uploads:
                initiated = upload.initiated_time
                if initiated is not None and initiated.tzinfo is None:
                    initiated = initiated.replace(tzinfo=UTC)
                if upload.upload_id is not None and (initiated is None or initiated <= cutoff):
                    found.append(IncompleteUpload(upload_id=upload.upload_id, key=upload.object_name,
                                                  initiated=initiated or cutoff))
            if not result.is_truncated:
                return found
            key_marker, upload_id_marker = result.next_key_marker, result.next_upload_id_marker

    async def list_incomplete(self, tenant: str, older_than: timedelta) -> list[IncompleteUpload]:
        return await self._run(self._uploads, self.bucket_name(tenant), older_than)

    def _abort(self, bucket: str, older_than: timedelta) -> int:
        uploads = self._uploads(bucket, older_than)
        for upload in uploads:
            self._client._abort_multipart_upload(bucket, upload.key or "", upload.upload_id)
        return len(uploads)

    async def abort_incomplete(self, tenant: str, older_than: timedelta) -> int:
        return await self._run(self._abort, self.bucket_name(tenant), older_than)

    def _purge(self, bucket: str) -> PurgeReport:
        try:
            versions = [DeleteObject(o.object_name or "", o.version_id)
                        for o in self._client.list_objects(bucket, recursive=True, include_version=True)]
        except S3Error as exc:
            if exc.code == "NoSuchBucket":
                return PurgeReport(existed=False, deleted_versions=0, kept_locked=0, bucket_removed=False)
            raise
        kept = 0
        for start in range(0, len(versions), 1000):  # DeleteObjects takes 1000 at most
            errors = self._delete_versions(bucket, versions[start:start + 1000], bypass_governance=False)
            locked = [e for e in errors if e.code == "AccessDenied"]
            if len(locked) != len(errors):
                other = next(e for e in errors if e.code != "AccessDenied")
                raise StorageError(f"S3: {other.code}: {other.message}")
            kept += len(locked)
        self._abort(bucket, timedelta(0))
        removed = False
        if not kept:
            self._client.remove_bucket(bucket)
            removed = True
        return PurgeReport(existed=True, deleted_versions=len(versions) - kept, kept_locked=kept,
                           bucket_removed=removed)

    async def purge_bucket(self, tenant: str) -> PurgeReport:
        return await self._run(self._purge, self.bucket_name(tenant))

    def _probe(self) -> None:
        try:
            self._client.bucket_exists(self.bucket_prefix + _PROBE)
        except S3Error:
            pass  # any S3 answer (the probe bucket need not exist, nor be ours) means it is up

    async def health(self) -> None:
        await self._run(self._probe)
