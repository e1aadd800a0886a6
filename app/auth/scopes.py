"""The scope catalogue: the one list of coarse permissions a token can carry.

Routes declare what they need with :func:`requires`; the scope check, the OpenAPI document and
the scope test matrix all read that same declaration from the route's ``opt``.
"""

from __future__ import annotations

from typing import Any, Iterable

from app.core.openapi import COMMON_ERRORS, IF_MATCH_OPT, IfMatchOperation, problem_responses

SCOPES: dict[str, str] = {
    "platform:admin": "Provision and operate tenants (platform operators only).",
    "org:read": "Read the organisation tree: group, branches, projects.",
    "org:write": "Change the organisation tree.",
    "owner:self": "Act as a home owner on their own records (mobile apps).",
    "jobs:read": "Read the status, progress and result of background jobs the caller started.",
    "identity:read": "Read the group's accounts and OAuth clients (group administrators).",
    "identity:write": "Invite, change, disable and enable accounts; register and manage OAuth clients "
                      "(group administrators).",
    "account:self": "Manage one's own account: password, two-step verification, recovery codes.",
    "approvals:read": "Read approval chains, the approval requests one may see, and one's approval inbox.",
    "approvals:write": "Submit, decide, withdraw, resubmit and delegate approval requests; configure chains.",
    "access:read": "Read roles, permissions and role assignments.",
    "access:write": "Define roles and assign them to accounts.",
    "audit:read": "Search and export the audit trail (with the permission audit.read at the group).",
    "customers:read": "Read customers (personal data masked), their units and consents; reveal with the "
                      "permission customers.reveal.",
    "customers:write": "Create and change customers, record consents and ownership, ask for protected changes, "
                       "merges and imports.",
    "inquiries:read": "Read inquiries and their transfers; list overdue ones and one's own.",
    "inquiries:write": "Record, transfer and answer inquiries.",
    "interactions:read": "Read visits, receptions, gifts and calls.",
    "interactions:write": "Plan and report visits, apply for receptions and gifts, log calls.",
    "surveys:read": "Read return-visit plans, questionnaires, results and satisfaction statistics.",
    "surveys:write": "Plan return visits, define questionnaires, record results.",
    "grading:read": "Read grading rules, customer grades with their history, and credit limits.",
    "grading:write": "Configure grading rules, recompute grades, apply for credit-limit changes.",
    "calendars:read": "Read the group's working calendars.",
    "calendars:write": "Change the group's working calendars (hours, holidays, make-up working days).",
    "complaints:read": "Read complaints and disputes, their history and statistics.",
    "complaints:write": "Register complaints and disputes and move them through the resolution loop.",
    "archives:read": "Read archive volumes and download their pages (within one's clearance).",
    "archives:write": "Build archive volumes: cover, contents list, pages, remarks sheet.",
    "archives:admin": "Review and file volumes, set legal holds, change classification, verify integrity.",
}

TENANT_SCOPES = frozenset(s for s in SCOPES if not s.startswith("platform:"))
PLATFORM_SCOPES = frozenset(s for s in SCOPES if s.startswith("platform:"))

OPT_KEY = "scopes"
SECURITY_SCHEME = "oauth2"


def requires(*scopes: str, errors: Iterable[int] = ()) -> dict[str, Any]:
    """Route keyword arguments that require every one of ``scopes``.

    Usage: ``@get("/branches/{id}", **requires("org:read", errors=[404]))``: the scopes go
    to the scope check (through ``opt``) and to the OpenAPI security requirement, and the common
    problem responses plus ``errors`` are documented. A route that reads If-Match
    (``check_if_match``) says so with ``errors=[412, 428]``: the header is then documented,
    and ``check_if_match`` refuses to run on a route that did not say so.
    """
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"unknown scopes {unknown}; add them to app.auth.scopes.SCOPES")
    errors = set(errors)
    if_match = {412, 428} <= errors
    if not if_match and 428 in errors:
        raise ValueError("a route that reads If-Match documents both 412 and 428")
    kwargs: dict[str, Any] = {
        "opt": {OPT_KEY: tuple(scopes), IF_MATCH_OPT: if_match},
        "security": [{SECURITY_SCHEME: list(scopes)}],
        "responses": problem_responses([*COMMON_ERRORS, *errors]),
    }
    if if_match:
        kwargs["operation_class"] = IfMatchOperation
    return kwargs


def public(errors: Iterable[int] = ()) -> dict[str, Any]:
    """Route keyword arguments for an endpoint that needs no token."""
    return {"opt": {"public": True}, "security": [], "responses": problem_responses(errors) or None}
