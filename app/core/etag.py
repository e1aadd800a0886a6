"""ETags from version columns, and the If-Match check every update goes through."""

from __future__ import annotations

from typing import Any

from litestar import Request

from app.core.openapi import IF_MATCH_OPT
from app.core.problems import ProblemError


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(request: Request[Any, Any, Any], version: int) -> None:
    """Refuse an update without If-Match (428) or with a stale one (412).

    The version column also guards the UPDATE itself, so a writer that raced past this
    check still loses (StaleDataError, answered as 412).
    """
    if not request.route_handler.opt.get(IF_MATCH_OPT):
        # The document must show the header and its 412/428: a route forgetting to say so
        # fails on its first request (and in the tests) rather than going undocumented.
        raise RuntimeError(f"{request.route_handler} reads If-Match: declare requires(..., errors=[412, 428])")
    header = request.headers.get("if-match")
    if not header:
        raise ProblemError("precondition-required", "Send the resource's ETag in If-Match.")
    # RFC 9110 §13.1.1: If-Match uses the strong comparison, so a weak tag never matches.
    tags = {t.strip() for t in header.split(",")}
    if "*" not in tags and etag(version) not in tags:
        raise ProblemError(
            "precondition-failed",
            f"If-Match {header} does not match the current ETag {etag(version)}.",
            headers={"ETag": etag(version)},
        )
