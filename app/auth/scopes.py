"""The scope catalogue: the one list of coarse permissions a token can carry (the platform's
own and those each domain declares).

Routes declare what they need with :func:`requires`; the scope check, the OpenAPI document and
the scope test matrix all read that same declaration from the route's ``opt``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.core.idempotency import IDEMPOTENT_OPT
from app.core.openapi import COMMON_ERRORS, IF_MATCH_OPT, IfMatchOperation, problem_responses
from app.domains import declared

# The scopes of the platform itself; each domain adds its own (app/domains/__init__.py).
BUILT_IN: dict[str, str] = {
    "platform:admin": "Provision and operate tenants (platform operators only).",
    "owner:self": "Act as a home owner on their own records (mobile apps).",
    "jobs:read": "Read the status, progress and result of background jobs the caller started.",
    "identity:read": "Read the group's accounts and OAuth clients (group administrators).",
    "identity:write": "Invite, change, disable and enable accounts; register and manage OAuth clients "
                      "(group administrators).",
    "account:self": "Manage one's own account: password, two-step verification, recovery codes.",
}


SCOPES: dict[str, str] = declared("scopes", lambda d: d.scopes, first=BUILT_IN)

TENANT_SCOPES = frozenset(s for s in SCOPES if not s.startswith("platform:"))
PLATFORM_SCOPES = frozenset(s for s in SCOPES if s.startswith("platform:"))

OPT_KEY = "scopes"
SECURITY_SCHEME = "oauth2"


def requires(*scopes: str, errors: Iterable[int] = (), idempotent: bool = False) -> dict[str, Any]:
    """Route keyword arguments that require every one of ``scopes``.

    Usage: ``@get("/branches/{id}", **requires("org:read", errors=[404]))``: the scopes go
    to the scope check (through ``opt``) and to the OpenAPI security requirement, and the common
    problem responses plus ``errors`` are documented. A route that reads If-Match
    (``check_if_match``) says so with ``errors=[412, 428]``: the header is then documented,
    and ``check_if_match`` refuses to run on a route that did not say so. Every POST answering
    201 or 202 accepts Idempotency-Key; another route that does (``idempotent``, a workflow
    action answering 200) says ``idempotent=True``, for the same reason.
    """
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"unknown scopes {unknown}; add them to app.auth.scopes.SCOPES")
    errors = set(errors)
    if_match = {412, 428} <= errors
    if not if_match and 428 in errors:
        raise ValueError("a route that reads If-Match documents both 412 and 428")
    kwargs: dict[str, Any] = {
        "opt": {OPT_KEY: tuple(scopes), IF_MATCH_OPT: if_match, IDEMPOTENT_OPT: idempotent},
        "security": [{SECURITY_SCHEME: list(scopes)}],
        "responses": problem_responses([*COMMON_ERRORS, *errors]),
    }
    if if_match:
        kwargs["operation_class"] = IfMatchOperation
    return kwargs


def public(errors: Iterable[int] = ()) -> dict[str, Any]:
    """Route keyword arguments for an endpoint that needs no token."""
    return {"opt": {"public": True}, "security": [], "responses": problem_responses(errors) or None}
