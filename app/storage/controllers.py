"""The local store's signed URLs, served by the API (registered only when it is the store).

The signature in the URL is the credential, so the routes are public and need no token;
they are not API operations, so the OpenAPI document leaves them out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from litestar import Controller, Request, Response, get, put
from litestar.response import Stream

from app.auth.scopes import public
from app.core.problems import ProblemError
from app.storage.base import (
    ChecksumMismatch,
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    check_key,
    content_disposition,
)
from app.storage.local import URL_PREFIX, LocalStore, SignatureExpired, SignatureInvalid


def _store(request: Request[Any, Any, Any]) -> LocalStore:
    store = request.app.state.store
    assert isinstance(store, LocalStore)
    return store


def _verified(request: Request[Any, Any, Any], bucket: str, key: str) -> tuple[LocalStore, str, dict[str, str]]:
    store = _store(request)
    key = key.lstrip("/")
    try:
        params = store.verify_url(request.method, bucket, key, parse_qs(request.url.query, keep_blank_values=True))
        check_key(key)
    except SignatureExpired:
        raise ProblemError("forbidden", "The URL has expired; ask for a new one.") from None
    except (SignatureInvalid, InvalidKey):
        raise ProblemError("forbidden", "The URL's signature is not valid.") from None
    return store, key, params


def _bad_upload(detail: str) -> ProblemError:
    return ProblemError("validation", f"{detail} Nothing was stored.", status=400)


class LocalStorageController(Controller):
    path = URL_PREFIX
    include_in_schema = False

    # No body limit here: the signed size bounds the upload, and it is enforced byte by byte.
    @put("/{bucket:str}/{key:path}", request_max_body_size=None, status_code=200, **public())
    async def upload(self, request: Request[Any, Any, Any], bucket: str, key: str) -> Response[None]:
        store, key, signed = _verified(request, bucket, key)
        size = int(signed["size"])
        if request.headers.get("content-type", "").strip() != signed["type"]:
            raise _bad_upload(f"Content-Type must be {signed['type']!r}, as signed.")
        declared = request.headers.get("content-length")
        if declared is not None and declared.strip() != str(size):
            raise _bad_upload(f"Content-Length must be {size}, as signed.")
        try:
            info = await store.receive(bucket, key, request.stream(), size=size, content_type=signed["type"],
                                       sha256=signed["sha256"])
        except ChecksumMismatch as exc:
            raise _bad_upload(f"The body is not the signed one: {exc}.") from None
        return Response(None, status_code=200, headers={"ETag": f'"{info.etag}"', "x-amz-version-id": info.version_id})

    @get("/{bucket:str}/{key:path}", **public())
    async def download(self, request: Request[Any, Any, Any], bucket: str, key: str) -> Stream:
        store, key, signed = _verified(request, bucket, key)
        try:
            info, chunks = await store.open_version(bucket, key, signed.get("v"))
        except ObjectNotFound:
            raise ProblemError("not-found", "The object or version does not exist (any more).") from None
        return Stream(
            chunks,
            media_type=signed.get("type") or info.content_type or "application/octet-stream",
            headers={
                "Content-Length": str(info.size),
                "Content-Disposition": content_disposition(signed.get("dn")),
                "ETag": f'"{info.etag}"',
                "x-amz-version-id": info.version_id,
                # Served from the API's own origin: never sniffed or rendered as a page.
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "sandbox",
                "Cache-Control": "private, no-cache",
            },
        )


def routes_for(store: ObjectStore) -> list[type[Controller]]:
    """The routes the API serves for ``store``: the local store's signed URLs; none for S3."""
    return [LocalStorageController] if isinstance(store, LocalStore) else []
