"""Storage errors as problem documents, for every route (installed in app/asgi.py)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.types import ExceptionHandlersMap

from app.core.problems import problem_response
from app.storage.base import (
    ChecksumMismatch,
    InvalidArgument,
    ObjectLocked,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)

log = logging.getLogger(__name__)


def handle_storage_error(request: Request[Any, Any, Any], exc: StorageError) -> Response[bytes]:
    instance = str(request.scope.get("path", ""))  # not request.url: it parses the caller's Host
    if isinstance(exc, StorageUnavailable):
        log.warning("storage unavailable on %s %s: %s", request.method, instance, exc)
        return problem_response("service-unavailable", 503, instance=instance,
                                detail="Object storage does not answer; try again shortly.",
                                headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, ObjectNotFound):
        return problem_response("not-found", 404, detail="The stored object does not exist.", instance=instance)
    if isinstance(exc, ObjectLocked):
        return problem_response("conflict", 409, detail=str(exc), instance=instance)
    if isinstance(exc, ChecksumMismatch):
        return problem_response("validation", 422, detail=str(exc), instance=instance)
    if isinstance(exc, InvalidArgument):
        return problem_response("validation", 422, detail=str(exc), instance=instance)
    log.error("storage error on %s %s: %s", request.method, instance, exc)
    return problem_response("internal", 500, detail="The error was logged; the request was not applied.",
                            instance=instance)


STORAGE_EXCEPTION_HANDLERS: ExceptionHandlersMap = {StorageError: handle_storage_error}
