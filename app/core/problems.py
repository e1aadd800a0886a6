"""RFC 9457 problem details: the one shape of every error the API returns.

Each problem has a stable ``type`` (``urn:cornerstone:problem:<slug>``) that clients may
branch on; ``title`` is fixed per type, ``detail`` explains this occurrence, and
``errors`` lists per-field failures (``field`` is a JSON pointer-like dotted path).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:cornerstone:problem:"


class FieldError(msgspec.Struct, kw_only=True, omit_defaults=True):
    field: str
    message: str
    source: str = "body"


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    code: str | None = None


class OAuthProblem(Problem, kw_only=True, omit_defaults=True):
    """A problem on the OAuth token endpoint, with RFC 6749 §5.2's members too: an OAuth
    client reads ``error``, and would take an answer without one for a token response."""

    error: str
    error_description: str | None = None


# slug -> (status, title). The catalogue is documented in docs/api.md.
CATALOGUE: dict[str, tuple[int, str]] = {
    "validation": (422, "The request is not valid"),
    "malformed-body": (400, "The request body could not be parsed"),
    "unauthenticated": (401, "Authentication is required"),
    "invalid-token": (401, "The access token is not valid"),
    "insufficient-scope": (403, "The access token lacks a required scope"),
    "forbidden": (403, "This action is not permitted"),
    "tenant-unavailable": (403, "The tenant is not active"),
    "cors-origin-refused": (403, "This origin may not call the API from a browser"),
    "not-found": (404, "The resource does not exist"),
    "method-not-allowed": (405, "The method is not allowed on this resource"),
    "conflict": (409, "The request conflicts with the current state"),
    "duplicate": (409, "A resource with the same identity already exists"),
    "consent-required": (409, "The person has not consented to this use of their data"),
    "idempotency-key-reused": (422, "The Idempotency-Key was used with a different request"),
    "idempotency-in-progress": (409, "A request with this Idempotency-Key is still running"),
    "concurrent-request": (409, "The request collided with a concurrent one; retry it"),
    "precondition-failed": (412, "The resource has changed since it was read"),
    "precondition-required": (428, "This update requires an If-Match header"),
    "payload-too-large": (413, "The request body is too large"),
    "unsupported-media-type": (415, "The request body must be JSON"),
    "malformed-request": (400, "The request could not be understood"),
    "rate-limited": (429, "Too many requests"),
    "service-unavailable": (503, "A dependency is unavailable"),
    "internal": (500, "An unexpected error occurred"),
}


class ProblemError(HTTPException):
    """Raise from anywhere to answer with a problem document of a catalogued type."""

    def __init__(
        self,
        slug: str,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        oauth_error: str | None = None,
    ) -> None:
        default_status, title = CATALOGUE[slug]
        self.slug = slug
        self.title = title
        self.errors = errors
        self.oauth_error = oauth_error
        super().__init__(detail=detail or title, status_code=status or default_status, headers=headers)


def field_error(field: str, message: str, source: str = "body") -> FieldError:
    return FieldError(field=field, message=message, source=source)


def problem_response(
    slug: str,
    status: int,
    *,
    detail: str | None,
    instance: str | None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    title: str | None = None,
    oauth_error: str | None = None,
) -> Response[bytes]:
    fields: dict[str, Any] = {
        "type": TYPE_PREFIX + slug, "title": title or CATALOGUE.get(slug, (status, "Error"))[1], "status": status,
        "detail": detail, "instance": instance, "errors": errors or None,
    }
    body = Problem(**fields) if oauth_error is None else OAuthProblem(**fields, error=oauth_error,
                                                                      error_description=detail)
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers or {},
    )


_STATUS_SLUGS = {
    400: "malformed-body",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    428: "precondition-required",
    429: "rate-limited",
    503: "service-unavailable",
}


def _validation_errors(extra: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(extra, list):
        for item in extra:
            if not isinstance(item, dict):
                continue
            key = str(item.get("key") or "")
            message = str(item.get("message") or "invalid value")
            # msgspec reports "… - at `$.field`"; keep the message and take the path out. An
            # error raised inside a nested struct names its own field first, then the struct's
            # place: "… - at `$.field` - at `$.outer`" is `outer.field`.
            if " - at `$" in message:
                message, *paths = message.split(" - at `$")
                key = "".join(p.rstrip("`") for p in reversed(paths)).lstrip(".") or key
            elif key in ("", "data") and "field `" in message:
                # "Object missing required field `name`", "Object contains unknown field `nme`"
                key = message.split("field `", 1)[1].split("`", 1)[0]
            # Litestar gives the source as a ParamType (a str enum whose str() is "ParamType.QUERY").
            source = item.get("source") or "body"
            errors.append(FieldError(field=key or "$", message=message,
                                     source=getattr(source, "value", str(source))))
    return errors


def _path(request: Request[Any, Any, Any]) -> str:
    # From the scope, not request.url: building the URL parses the Host header, which the
    # caller wrote (an error page must not fail on it).
    return str(request.scope.get("path", ""))


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    instance = _path(request)
    if isinstance(exc, ProblemError):
        return problem_response(
            exc.slug, exc.status_code, detail=exc.detail, instance=instance,
            errors=exc.errors, headers=exc.headers, title=exc.title, oauth_error=exc.oauth_error,
        )
    status = exc.status_code
    headers = dict(exc.headers or {})
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc.extra)
        malformed = any("malformed" in e.message.lower() or "json is" in e.message.lower() for e in errors)
        detail = exc.detail
        if errors and not malformed:
            detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        if malformed or (not errors and "decode" in (exc.detail or "").lower()):
            return problem_response("malformed-body", 400, detail=detail, instance=instance, errors=errors)
        # Litestar answers 400 for body/parameter validation; the catalogue says 422.
        return problem_response("validation", 422, detail=detail, instance=instance, errors=errors)
    if isinstance(exc, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="cornerstone"')
        return problem_response("unauthenticated", 401, detail=exc.detail, instance=instance, headers=headers)
    if isinstance(exc, PermissionDeniedException):
        return problem_response("forbidden", 403, detail=exc.detail, instance=instance, headers=headers)
    if isinstance(exc, NotFoundException):
        return problem_response("not-found", 404, detail=None, instance=instance, headers=headers)
    if isinstance(exc, MethodNotAllowedException):
        return problem_response("method-not-allowed", 405, detail=exc.detail, instance=instance, headers=headers)
    slug = _STATUS_SLUGS.get(status, "internal" if status >= 500 else "malformed-body")
    return problem_response(slug, status, detail=exc.detail, instance=instance, headers=headers)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, _path(request))
    return problem_response(
        "internal", HTTP_500_INTERNAL_SERVER_ERROR,
        detail="The error was logged; the request was not applied.", instance=_path(request),
    )


def handle_stale(request: Request[Any, Any, Any], exc: StaleDataError) -> Response[bytes]:
    # Two writers raced past the If-Match check; the version column let only one through.
    return problem_response(
        "precondition-failed", 412, detail="The resource was changed by another request.",
        instance=_path(request),
    )


def handle_integrity(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[bytes]:
    # Services check uniqueness first; this catches the race where two requests pass it.
    if getattr(exc.orig, "sqlstate", None) == "23505" or "unique" in str(exc.orig).lower():
        return problem_response(
            "duplicate", 409, detail="A resource with the same identity already exists.",
            instance=_path(request),
        )
    return handle_unexpected(request, exc)


# Text PostgreSQL cannot store: a NUL character (in text, or \u0000 in JSON), or bytes that
# are not UTF-8. Schemas cannot rule these out one field at a time, so they are caught here.
_UNSTORABLE_TEXT = {"22021", "22P05"}  # character_not_in_repertoire, untranslatable_character


# Two transactions that wait for each other (the database breaks the cycle by failing one), or
# a lock taken with NOWAIT that another request holds: the request was rolled back whole and
# may simply be sent again.
_COLLISIONS = {"40P01", "40001", "55P03"}  # deadlock_detected, serialization_failure, lock_not_available


def handle_database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[bytes]:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _UNSTORABLE_TEXT:
        return problem_response(
            "validation", 422, detail="Text must not contain NUL characters or invalid UTF-8.",
            instance=_path(request),
        )
    if sqlstate in _COLLISIONS:
        log.warning("%s %s collided with a concurrent request (%s)", request.method, _path(request), sqlstate)
        return problem_response(
            "concurrent-request", 409, detail="Nothing was applied; send the request again.",
            instance=_path(request), headers={"Retry-After": "1"},
        )
    return handle_unexpected(request, exc)


def handle_pool_timeout(request: Request[Any, Any, Any], exc: PoolTimeout) -> Response[bytes]:
    # Every pooled connection stayed busy for the pool's whole timeout: overloaded, not broken.
    log.warning("%s %s waited too long for a database connection", request.method, _path(request))
    return problem_response(
        "service-unavailable", 503, detail="The service is busy; nothing was applied. Send the request again.",
        instance=_path(request), headers={"Retry-After": "1"},
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: handle_http_exception,
    StaleDataError: handle_stale,
    IntegrityError: handle_integrity,
    DBAPIError: handle_database_error,
    PoolTimeout: handle_pool_timeout,
    Exception: handle_unexpected,
}
