"""Object storage: one bucket per tenant, on an S3-compatible server or on local disk.

``make_store(settings)`` picks the adapter: S3 when ``CORNERSTONE_S3_ENDPOINT`` is set,
else the local store under ``<data dir>/objects``. ``store_for`` keeps one store per
settings (the app and the tenant seeder share it); ``get_store`` is the process's own.
"""

from __future__ import annotations

from functools import lru_cache

from app.config import Settings, get_settings
from app.storage.base import (
    BucketInfo,
    BucketMisconfigured,
    BucketNotFound,
    ChecksumMismatch,
    IncompleteUpload,
    InvalidArgument,
    InvalidKey,
    ObjectInfo,
    ObjectLocked,
    ObjectNotFound,
    ObjectStore,
    PresignedRequest,
    PurgeReport,
    RetentionMode,
    StorageError,
    StorageUnavailable,
)
from app.storage.local import LocalStore
from app.storage.s3 import S3Store

__all__ = [
    "BucketInfo", "BucketMisconfigured", "BucketNotFound", "ChecksumMismatch", "IncompleteUpload",
    "InvalidArgument", "InvalidKey", "LocalStore", "ObjectInfo", "ObjectLocked", "ObjectNotFound",
    "ObjectStore", "PresignedRequest", "PurgeReport", "RetentionMode", "S3Store", "StorageError",
    "StorageUnavailable", "get_store", "make_store", "store_for",
]


def make_store(settings: Settings) -> ObjectStore:
    if settings.s3_endpoint:
        assert settings.s3_access_key and settings.s3_secret_key  # load_settings insists
        return S3Store(settings.s3_endpoint, access_key=settings.s3_access_key, secret_key=settings.s3_secret_key,
                       region=settings.s3_region, secure=settings.s3_secure, bucket_prefix=settings.s3_bucket_prefix)
    return LocalStore(settings.data_dir / "objects", base_url=settings.issuer, bucket_prefix=settings.s3_bucket_prefix,
                      secret=settings.storage_secret, key_file=settings.data_dir / "storage.key")


@lru_cache(maxsize=8)
def store_for(settings: Settings) -> ObjectStore:
    return make_store(settings)


def get_store() -> ObjectStore:
    return store_for(get_settings())
