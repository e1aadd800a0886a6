"""The embedded default: objects on local disk, served by the API itself through
HMAC-signed, expiring URLs (app/storage/controllers.py).

Layout under ``root`` (``<data dir>/objects``)::

    <bucket>/<key segments…>/.v/<version>.json   metadata: size, type, SHA-256, lock state
    <bucket>/<key segments…>/.v/<version>.data   the bytes, never rewritten
    <bucket>/.incoming/<random>.part             an upload being received

Key segments start with a letter or digit, so ".v" and ".incoming" never clash with one.
A version becomes visible when its ``.data`` appears, after its metadata is in place.
Retention and legal hold are enforced here exactly as S3 enforces them, under an
exclusive lock on the version's data file (several web workers may share the disk).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import quote, urlencode

import anyio
import anyio.to_thread

from app.storage.base import (
    CHUNK,
    BucketInfo,
    BucketNotFound,
    ChecksumMismatch,
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
    is_valid_bucket_name,
)

T = TypeVar("T")

URL_PREFIX = "/storage/v1"
LOCAL_VERSION_RE = re.compile(r"[0-9a-f]{24}")
INCOMING = ".incoming"
VERSIONS = ".v"
_SIGNATURE_CONTEXT = b"cornerstone-storage-url-v1\n"


class SignatureInvalid(StorageError):
    """The URL was not signed by this store, or was altered."""


class SignatureExpired(StorageError):
    """The URL was signed, but its time is up."""


_version_lock = threading.Lock()
_last_version_ns = 0


def _new_version() -> str:
    # Time first, so that names sort oldest → newest (the newest is the current version);
    # strictly increasing within the process, and random bits against other processes.
    global _last_version_ns
    with _version_lock:
        now = max(time.time_ns(), _last_version_ns + 1)
        _last_version_ns = now
    return f"{now:016x}{secrets.token_hex(4)}"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _flush_and_close(f: BinaryIO) -> None:
    f.flush()
    os.fsync(f.fileno())
    f.close()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    # Write aside, then rename over: readers see the old or the new document, never half.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_key(path: Path) -> bytes:
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except binascii.Error:
        raise StorageError(f"{path} is not base64") from None
    if len(key) < 32:
        raise StorageError(f"{path} holds fewer than 32 bytes")
    return key


def load_or_create_key(path: Path) -> bytes:
    """The HMAC key in ``path``, made (mode 0600) by whichever process comes first."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # never replaces a key another worker made meanwhile
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return _read_key(path)


class LocalStore(ObjectStore):
    kind = "local"

    def __init__(self, root: Path, *, base_url: str, bucket_prefix: str, secret: bytes | None = None,
                 key_file: Path | None = None) -> None:
        super().__init__(bucket_prefix)
        if secret is None and key_file is None:
            raise ValueError("the local store needs a secret or a key file")
        self.root = root
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._key_file = key_file
        self._key_lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))
        except StorageError:
            raise
        except FileNotFoundError as exc:
            raise ObjectNotFound(str(exc.filename or exc)) from exc
        except OSError as exc:  # disk full, permissions, I/O errors: not the caller's fault
            raise StorageUnavailable(f"local storage: {exc}") from exc

    def _key(self) -> bytes:
        if self._secret is None:
            with self._key_lock:
                if self._secret is None:
                    assert self._key_file is not None
                    self._secret = load_or_create_key(self._key_file)
        return self._secret

    def _bucket_dir(self, bucket: str) -> Path:
        if not is_valid_bucket_name(bucket):
            raise BucketNotFound(bucket)
        return self.root / bucket

    def _versions_dir(self, bucket: str, key: str) -> Path:
        return self._bucket_dir(bucket).joinpath(*check_key(key).split("/"), VERSIONS)

    def _existing_bucket(self, bucket: str) -> Path:
        path = self._bucket_dir(bucket)
        if not path.is_dir():
            raise BucketNotFound(bucket)
        return path

    def _resolve(self, bucket: str, key: str, version_id: str | None) -> tuple[Path, str]:
        """The version's directory and id (the newest when ``version_id`` is None)."""
        check_version(version_id)
        vdir = self._versions_dir(bucket, key)
        self._existing_bucket(bucket)
        if version_id is None:
            try:
                versions = sorted(n[:-5] for n in os.listdir(vdir) if n.endswith(".data"))
            except FileNotFoundError:
                versions = []
            if not versions:
                raise ObjectNotFound(f"{bucket}/{key}")
            return vdir, versions[-1]
        if not LOCAL_VERSION_RE.fullmatch(version_id) or not (vdir / f"{version_id}.data").is_file():
            raise ObjectNotFound(f"{bucket}/{key}?versionId={version_id}")
        return vdir, version_id

    @staticmethod
    def _load(vdir: Path, version: str) -> dict[str, Any]:
        try:
            meta: dict[str, Any] = json.loads((vdir / f"{version}.json").read_text(encoding="utf-8"))
            return meta
        except FileNotFoundError:
            raise ObjectNotFound(str(vdir / version)) from None

    @staticmethod
    def _info(meta: dict[str, Any]) -> ObjectInfo:
        mode = meta.get("retention_mode")
        return ObjectInfo(
            key=meta["key"], version_id=meta["version_id"], size=meta["size"],
            content_type=meta["content_type"], etag=meta["etag"], sha256=meta["sha256"],
            last_modified=_parse(meta["created"]),
            retention_mode=RetentionMode(mode) if mode else None,
            retain_until=_parse(meta.get("retain_until")), legal_hold=bool(meta.get("legal_hold")),
        )

    @contextmanager
    def _locked(self, bucket: str, key: str, version_id: str) -> Iterator[tuple[Path, str, dict[str, Any]]]:
        """The version's metadata under an exclusive lock on its data file."""
        vdir, version = self._resolve(bucket, key, version_id)
        data = vdir / f"{version}.data"
        try:
            fd = os.open(data, os.O_RDONLY)
        except FileNotFoundError:
            raise ObjectNotFound(f"{bucket}/{key}?versionId={version_id}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not data.exists():  # deleted while this call waited for the lock
                raise ObjectNotFound(f"{bucket}/{key}?versionId={version_id}")
            yield vdir, version, self._load(vdir, version)
        finally:
            os.close(fd)  # releases the lock

    @staticmethod
    def _lock_refusal(meta: dict[str, Any], bypass_governance: bool) -> str | None:
        if meta.get("legal_hold"):
            return "under legal hold"
        until = _parse(meta.get("retain_until"))
        if until and until > _now():
            if meta.get("retention_mode") == RetentionMode.COMPLIANCE.value:
                return f"under COMPLIANCE retention until {until.isoformat()}"
            if not bypass_governance:
                return f"under GOVERNANCE retention until {until.isoformat()} (bypass not requested)"
        return None

    def _delete_locked(self, vdir: Path, version: str, meta: dict[str, Any], bypass_governance: bool) -> None:
        refusal = self._lock_refusal(meta, bypass_governance)
        if refusal:
            raise ObjectLocked(f"{meta['key']} version {version} is {refusal}")
        (vdir / f"{version}.data").unlink()  # first: the version is gone as soon as this returns
        (vdir / f"{version}.json").unlink(missing_ok=True)

    # -- signed URLs ------------------------------------------------------------------------

    def _signature(self, *fields: str) -> str:
        # A JSON array: unambiguous whatever the fields contain.
        message = json.dumps(list(fields), separators=(",", ":"), ensure_ascii=True).encode()
        digest = hmac.new(self._key(), _SIGNATURE_CONTEXT + message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _url(self, bucket: str, key: str, params: dict[str, str]) -> str:
        return f"{self.base_url}{URL_PREFIX}/{bucket}/{quote(key)}?{urlencode(params)}"

    def verify_url(self, method: str, bucket: str, key: str, query: Mapping[str, list[str]]) -> dict[str, str]:
        """The signed parameters of a request to one of this store's URLs.

        Raises SignatureInvalid (missing, repeated or altered parameters) or
        SignatureExpired; the comparison takes constant time.
        """
        params: dict[str, str] = {}
        for name, values in query.items():
            if len(values) != 1:
                raise SignatureInvalid(f"parameter {name!r} repeated")
            params[name] = values[0]
        if method == "PUT":
            fields = ["exp", "size", "type", "sha256", "sig"]
            allowed = set(fields)
        else:
            fields = ["exp", "sig"]
            allowed = {"exp", "sig", "v", "dn", "type"}
        if any(f not in params for f in fields) or not set(params) <= allowed:
            raise SignatureInvalid("the URL is not one this store signed")
        expected = self._signature(
            method, bucket, key, params.get("v", ""), params["exp"], params.get("size", ""),
            params.get("type", ""), params.get("sha256", ""), params.get("dn", ""),
        )
        if not hmac.compare_digest(expected.encode(), params["sig"].encode("utf-8", "replace")):
            raise SignatureInvalid("the signature does not match")
        if time.time() > int(params["exp"]):
            raise SignatureExpired("the URL has expired")
        return params

    # -- the interface ----------------------------------------------------------------------

    async def ensure_bucket(self, tenant: str) -> BucketInfo:
        bucket = self.bucket_name(tenant)
        # Versioning and object lock are how this store always works: a directory is all.
        await self._run(self._bucket_dir(bucket).mkdir, parents=True, exist_ok=True)
        return BucketInfo(name=bucket, object_lock=True, versioning=True)

    async def describe_bucket(self, tenant: str) -> BucketInfo:
        bucket = self.bucket_name(tenant)
        await self._run(self._existing_bucket, bucket)
        return BucketInfo(name=bucket, object_lock=True, versioning=True)

    async def presign_put(self, tenant: str, key: str, *, size: int, content_type: str, sha256: str,
                          expires: timedelta) -> PresignedRequest:
        bucket = self.bucket_name(tenant)
        check_key(key)
        check_upload(size, content_type, sha256)
        exp = math.ceil(time.time() + check_expiry(expires))  # valid for at least `expires`
        sig = await self._run(self._signature, "PUT", bucket, key, "", str(exp), str(size), content_type, sha256, "")
        url = self._url(bucket, key, {"exp": str(exp), "size": str(size), "type": content_type,
                                      "sha256": sha256, "sig": sig})
        # The endpoint checks all three against the signed values before it keeps a byte.
        headers = {"Content-Type": content_type, "Content-Length": str(size)}
        return PresignedRequest("PUT", url, headers, datetime.fromtimestamp(exp, UTC))

    async def presign_get(self, tenant: str, key: str, *, version_id: str | None = None, expires: timedelta,
                          download_name: str | None = None, content_type: str | None = None) -> PresignedRequest:
        bucket = self.bucket_name(tenant)
        check_key(key)
        check_version(version_id)
        exp = math.ceil(time.time() + check_expiry(expires))
        params = {"exp": str(exp)}
        if version_id:
            params["v"] = version_id
        if content_type is not None:
            params["type"] = check_content_type(content_type)  # what the response is served as
        if download_name:
            params["dn"] = download_name
        params["sig"] = await self._run(self._signature, "GET", bucket, key, version_id or "", str(exp), "",
                                        content_type or "", "", download_name or "")
        return PresignedRequest("GET", self._url(bucket, key, params), {}, datetime.fromtimestamp(exp, UTC))

    def _stat(self, bucket: str, key: str, version_id: str | None) -> ObjectInfo:
        vdir, version = self._resolve(bucket, key, version_id)
        return self._info(self._load(vdir, version))

    async def stat(self, tenant: str, key: str, version_id: str | None = None) -> ObjectInfo:
        return await self._run(self._stat, self.bucket_name(tenant), key, version_id)

    def data_path(self, bucket: str, key: str, version_id: str | None) -> tuple[Path, ObjectInfo]:
        vdir, version = self._resolve(bucket, key, version_id)
        return vdir / f"{version}.data", self._info(self._load(vdir, version))

    async def open_version(self, bucket: str, key: str, version_id: str | None
                           ) -> tuple[ObjectInfo, AsyncIterator[bytes]]:
        """The version's metadata and its bytes (the file is open: a later delete cannot cut it)."""

        def open_() -> tuple[Any, ObjectInfo]:
            path, info = self.data_path(bucket, key, version_id)
            return open(path, "rb"), info

        f, info = await self._run(open_)

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await self._run(f.read, CHUNK):
                    yield chunk
            finally:
                f.close()

        return info, chunks()

    async def read(self, tenant: str, key: str, version_id: str | None = None) -> AsyncIterator[bytes]:
        _, chunks = await self.open_version(self.bucket_name(tenant), key, version_id)
        async for chunk in chunks:
            yield chunk

    def _set_retention(self, bucket: str, key: str, version_id: str, mode: RetentionMode, until: datetime) -> None:
        with self._locked(bucket, key, version_id) as (vdir, version, meta):
            current = _parse(meta.get("retain_until"))
            if current and current > _now():
                if meta.get("retention_mode") == RetentionMode.COMPLIANCE.value and (
                        mode is not RetentionMode.COMPLIANCE or until < current):
                    raise ObjectLocked(f"{key} is under COMPLIANCE retention until {current.isoformat()}: "
                                       f"it can only be extended")
                if until < current:
                    raise ObjectLocked(f"{key} is under GOVERNANCE retention until {current.isoformat()}: "
                                       f"shortening it needs a governance bypass")
            meta.update(retention_mode=mode.value, retain_until=_iso(until))
            _write_json(vdir / f"{version}.json", meta)

    async def set_retention(self, tenant: str, key: str, version_id: str, mode: RetentionMode,
                            until: datetime) -> None:
        await self._run(self._set_retention, self.bucket_name(tenant), key, version_id, RetentionMode(mode),
                        check_until(until))

    def _set_legal_hold(self, bucket: str, key: str, version_id: str, on: bool) -> None:
        with self._locked(bucket, key, version_id) as (vdir, version, meta):
            meta["legal_hold"] = bool(on)
            _write_json(vdir / f"{version}.json", meta)

    async def set_legal_hold(self, tenant: str, key: str, version_id: str, on: bool) -> None:
        await self._run(self._set_legal_hold, self.bucket_name(tenant), key, version_id, on)

    def _delete(self, bucket: str, key: str, version_id: str, bypass_governance: bool) -> None:
        with self._locked(bucket, key, version_id) as (vdir, version, meta):
            self._delete_locked(vdir, version, meta, bypass_governance)

    async def delete(self, tenant: str, key: str, version_id: str, *, bypass_governance: bool = False) -> None:
        if not version_id:
            raise ObjectNotFound("delete names a version: versions are deleted one by one, on purpose")
        await self._run(self._delete, self.bucket_name(tenant), key, version_id, bypass_governance)

    def _incomplete(self, bucket: str, older_than: timedelta) -> list[tuple[Path, IncompleteUpload]]:
        incoming = self._existing_bucket(bucket) / INCOMING
        cutoff = time.time() - older_than.total_seconds()
        found = []
        try:
            entries = list(os.scandir(incoming))
        except FileNotFoundError:
            return []
        for entry in entries:
            try:
                mtime = entry.stat().st_mtime  # a live upload keeps writing, so keeps it fresh
            except FileNotFoundError:
                continue
            if entry.name.endswith(".part") and mtime < cutoff:
                found.append((Path(entry.path), IncompleteUpload(
                    upload_id=entry.name[:-5], key=None, initiated=datetime.fromtimestamp(mtime, UTC))))
        return found

    async def list_incomplete(self, tenant: str, older_than: timedelta) -> list[IncompleteUpload]:
        found = await self._run(self._incomplete, self.bucket_name(tenant), older_than)
        return [upload for _, upload in found]

    def _abort(self, bucket: str, older_than: timedelta) -> int:
        found = self._incomplete(bucket, older_than)
        for path, _ in found:
            path.unlink(missing_ok=True)
        return len(found)

    async def abort_incomplete(self, tenant: str, older_than: timedelta) -> int:
        return await self._run(self._abort, self.bucket_name(tenant), older_than)

    def _purge(self, bucket: str) -> PurgeReport:
        root = self._bucket_dir(bucket)
        if not root.is_dir():
            return PurgeReport(existed=False, deleted_versions=0, kept_locked=0, bucket_removed=False)
        deleted = kept = 0
        for vdir in sorted(root.rglob(VERSIONS)):
            key = vdir.parent.relative_to(root).as_posix()
            for data in sorted(vdir.glob("*.data")):
                try:
                    with self._locked(bucket, key, data.name[:-5]) as (_, version, meta):
                        self._delete_locked(vdir, version, meta, bypass_governance=False)
                    deleted += 1
                except ObjectLocked:
                    kept += 1
                except ObjectNotFound:
                    pass
        shutil.rmtree(root / INCOMING, ignore_errors=True)
        for path, _, _ in os.walk(root, topdown=False):  # directories left empty, bottom up
            for leftover in Path(path).glob("*.json"):
                if not leftover.with_suffix(".data").exists():
                    leftover.unlink(missing_ok=True)  # metadata of an upload cut short
            try:
                os.rmdir(path)
            except OSError:
                pass  # not empty: a locked version lives below
        return PurgeReport(existed=True, deleted_versions=deleted, kept_locked=kept, bucket_removed=not root.exists())

    async def purge_bucket(self, tenant: str) -> PurgeReport:
        return await self._run(self._purge, self.bucket_name(tenant))

    def _health(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"{self.root} is not writable")

    async def health(self) -> None:
        await self._run(self._health)

    # -- receiving an upload (the signed PUT endpoint) --------------------------------------

    async def receive(self, bucket: str, key: str, body: AsyncIterator[bytes], *, size: int, content_type: str,
                      sha256: str) -> ObjectInfo:
        """Store ``body`` as a new version if it is exactly the signed bytes; else store
        nothing and raise ChecksumMismatch."""
        check_upload(size, content_type, sha256)
        incoming = (await self._run(self._existing_bucket, bucket)) / INCOMING
        vdir = self._versions_dir(bucket, key)
        await self._run(incoming.mkdir, exist_ok=True)
        tmp = incoming / f"{secrets.token_hex(16)}.part"
        f = await self._run(lambda: open(tmp, "xb"))
        sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)

        def write(data: bytes) -> None:  # hashing and writing off the event loop
            sha.update(data)
            md5.update(data)
            f.write(data)

        try:
            received = 0
            buffer = bytearray()
            async for chunk in body:
                received += len(chunk)
                if received > size:
                    raise ChecksumMismatch(f"more than the signed {size} bytes")
                buffer += chunk
                if len(buffer) >= CHUNK:
                    await self._run(write, bytes(buffer))
                    buffer.clear()
            await self._run(write, bytes(buffer))
            if received != size:
                raise ChecksumMismatch(f"{received} bytes received, {size} signed")
            if sha.hexdigest() != sha256:
                raise ChecksumMismatch("the SHA-256 of the bytes is not the signed one")
            await self._run(_flush_and_close, f)
            meta = {
                "key": key, "size": size, "content_type": content_type, "sha256": sha256,
                "etag": md5.hexdigest(), "retention_mode": None, "retain_until": None, "legal_hold": False,
            }
            return await self._run(self._commit, vdir, tmp, meta)
        finally:
            f.close()
            await self._run(tmp.unlink, missing_ok=True)

    @staticmethod
    def _commit(vdir: Path, tmp: Path, meta: dict[str, Any]) -> ObjectInfo:
        vdir.mkdir(parents=True, exist_ok=True)
        version = _new_version()
        meta = {**meta, "version_id": version, "created": _iso(_now())}
        _write_json(vdir / f"{version}.json", meta)  # metadata first: .data makes it visible
        os.link(tmp, vdir / f"{version}.data")  # a new name: no version is ever overwritten
        return LocalStore._info(meta)
