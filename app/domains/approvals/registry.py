"""What domains register with the approval engine: request types and change appliers.

A domain declares each kind of request it sends for approval, once, in the list its
declaration names (``approvals="app.domains.complaints.resolutions:REQUEST_TYPES"``)::

    REQUEST_TYPES = [request_type(
        "complaint_resolution", "Complaint resolution proposal",
        on_approved=mark_proposal_approved,      # async (session, request) -> None
        on_rejected=mark_proposal_rejected,      # same; the proposal goes back for revision
        default_chain=[
            {"name": "Customer service manager", "role": "cs_manager", "at": "branch"},
            {"name": "Group GM", "role": "group_gm", "at": "group", "minAmount": "50000"},
        ],
        default_roles={"cs_manager": "Customer service manager", "group_gm": "Group general manager"},
    )]

and submits with ``app.domains.approvals.services.create_request``. Callbacks run in the
engine's transaction, as the approver: what they write commits with the decision, and an
exception they raise undoes the decision. A tenant edits a type's chain with
``PUT /api/v1/approvals/chains/{type}``; until it does, ``default_chain`` applies.

A type with a ``permission`` may also be submitted over the engine's own API
(``POST /api/v1/approvals/requests``); the caller needs that permission on the record's node.

Protected fields (customer information, ``DOMAIN.md``) go through the built-in type
``change_control``: the owning domain registers a :class:`ChangeApplier` for its entity
type with :func:`register_change_applier`, and calls ``services.request_change`` (or the
API) instead of writing those fields; the engine applies the change on final approval and
audits it as the approver.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from app.domains.approvals.models import ApprovalRequest

Callback = Callable[[AsyncSession, "ApprovalRequest"], Awaitable[None]]
Payload = dict[str, Any]


@dataclass(frozen=True)
class RequestType:
    code: str
    title: str
    on_approved: Callback | None = None
    on_rejected: Callback | None = None
    on_withdrawn: Callback | None = None
    # Over the API: the permission to submit, on the record's node (a name, or one chosen
    # from the payload). None: only the domain's own code submits this type.
    permission: str | Callable[[Payload], str] | None = None
    # Where the record sits, from the payload; None: the caller names the node.
    node_of: Callable[[AsyncSession, Payload], Awaitable[uuid.UUID]] | None = None
    # Checks and normalises a payload (raise ProblemError "validation", fields under "payload.").
    validate: Callable[[AsyncSession, Payload], Awaitable[Payload]] | None = None
    # The domain record the request is about, from the (validated) payload.
    subject_of: Callable[[Payload], tuple[str, str] | None] | None = None
    default_chain: tuple[Mapping[str, Any], ...] = ()
    # Roles the default chain names, created by tenant seeding when missing: code -> name.
    default_roles: Mapping[str, str] = field(default_factory=dict)
    # Earlier defaults this one replaces: a tenant whose stored chain is still one of them, never
    # edited, gets the current default from the seeder of the revision that changed it.
    replaces: tuple[tuple[Mapping[str, Any], ...], ...] = ()

    def permission_for(self, payload: Payload) -> str | None:
        return self.permission(payload) if callable(self.permission) else self.permission


def request_type(
    code: str,
    title: str,
    *,
    on_approved: Callback | None = None,
    on_rejected: Callback | None = None,
    on_withdrawn: Callback | None = None,
    permission: str | Callable[[Payload], str] | None = None,
    node_of: Callable[[AsyncSession, Payload], Awaitable[uuid.UUID]] | None = None,
    validate: Callable[[AsyncSession, Payload], Awaitable[Payload]] | None = None,
    subject_of: Callable[[Payload], tuple[str, str] | None] | None = None,
    default_chain: Sequence[Mapping[str, Any]] = (),
    default_roles: Mapping[str, str] | None = None,
    replaces: Sequence[Sequence[Mapping[str, Any]]] = (),
) -> RequestType:
    """A request type, checked: a domain lists its types in the module its declaration names
    (``approvals="app.domains.x.module:REQUEST_TYPES"``)."""
    if not code.replace("_", "").isalnum() or not code.islower() or len(code) > 60:
        raise ValueError(f"request type code {code!r}: lower-case letters, digits and underscores")
    if default_chain:
        # A broken default would only show when a tenant first submits: fail at import instead.
        from app.domains.approvals.schemas import parse_steps

        parse_steps([dict(step) for step in default_chain])
    return RequestType(code=code, title=title, on_approved=on_approved, on_rejected=on_rejected,
                       on_withdrawn=on_withdrawn, permission=permission, node_of=node_of, validate=validate,
                       subject_of=subject_of, default_chain=tuple(default_chain),
                       default_roles=dict(default_roles or {}),
                       replaces=tuple(tuple(chain) for chain in replaces))


_TYPES: dict[str, RequestType] = {}
_DECLARED = False


def request_types() -> dict[str, RequestType]:
    """Every request type: those the domains declare, and any registered at run time."""
    global _DECLARED
    if not _DECLARED:
        _DECLARED = True
        from app.domains import domains

        for domain in domains():
            for entry in domain.request_types():
                _add(entry)
    return _TYPES


def _add(entry: RequestType) -> None:
    if _TYPES.setdefault(entry.code, entry) is not entry:
        raise ValueError(f"request type {entry.code!r} registered twice")


def register_request_type(code: str, title: str, **kwargs: Any) -> RequestType:
    """Register a type outside the domain list (a test's own): ``request_type``'s arguments."""
    request_types()
    entry = request_type(code, title, **kwargs)
    _add(entry)
    return entry


@dataclass(frozen=True)
class ChangeApplier:
    """How the engine reads and changes one entity type's protected fields.

    ``read`` returns the current values (JSON-ready) of the named fields; ``apply`` writes
    ``changes`` (or deletes the entity when ``deletion``). Both raise ProblemError
    "not-found" for an unknown id. The engine audits the applied change itself.
    """

    entity_type: str
    permission: str  # needed to request a change, on the entity's node
    fields: frozenset[str]  # the protected fields (wire names) a change may touch
    node_of: Callable[[AsyncSession, str], Awaitable[uuid.UUID]]
    read: Callable[[AsyncSession, str, frozenset[str]], Awaitable[dict[str, Any]]]
    apply: Callable[[AsyncSession, str, dict[str, Any], bool], Awaitable[None]]


CHANGE_APPLIERS: dict[str, ChangeApplier] = {}


def register_change_applier(applier: ChangeApplier) -> None:
    if applier.entity_type in CHANGE_APPLIERS:
        raise ValueError(f"change applier for {applier.entity_type!r} registered twice")
    CHANGE_APPLIERS[applier.entity_type] = applier
