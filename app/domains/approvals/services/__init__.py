"""The approval engine: chains, submission, decisions, the revise-until-approved loop.

Every action locks the request row (``SELECT … FOR UPDATE``) and then checks the status,
round and step it acts on, so two approvals of one step serialise and the second finds
the step decided (409). Domain callbacks run in the same transaction, as the acting
approver: the decision and its effects commit together or not at all.

Approvers of a step are resolved when it becomes current, from the role assignments at
the step's level relative to the request's node (its project, branch or the group), or a
named account; only active staff accounts of the tenant count. A submission checks every
step of the round can be decided by someone before it is accepted.

One part per module: ``chains``, ``deciders`` (who may decide a step), ``requests`` (their
way through the chain; its moves ``requests.REQUEST``), ``reads``, ``change_control``;
``common`` holds what they share. This package names what callers use, so they need not
know the cut.
"""

from app.domains.approvals.services.chains import (
    Chain,
    chain_for_update,
    chains_naming_role,
    create_default_chains,
    get_chain,
    list_chains,
    no_chain,
    replace_superseded_defaults,
    save_chain,
)
from app.domains.approvals.services.change_control import (
    CHANGE_CONTROL,
    CHANGE_CONTROL_TYPE,
    REQUEST_TYPES,
    ChangePayload,
    request_change,
)
from app.domains.approvals.services.common import CHAIN_ENTITY, ENTITY, INBOX, notify
from app.domains.approvals.services.reads import can_see, detail, get_request, inbox, list_requests
from app.domains.approvals.services.requests import (
    REQUEST,
    create_request,
    decide,
    delegate,
    resubmit,
    submit,
    withdraw,
)

__all__ = [
    "CHAIN_ENTITY",
    "CHANGE_CONTROL",
    "CHANGE_CONTROL_TYPE",
    "ENTITY",
    "INBOX",
    "REQUEST",
    "REQUEST_TYPES",
    "can_see",
    "Chain",
    "chain_for_update",
    "chains_naming_role",
    "ChangePayload",
    "create_default_chains",
    "replace_superseded_defaults",
    "create_request",
    "decide",
    "delegate",
    "detail",
    "get_chain",
    "get_request",
    "inbox",
    "list_chains",
    "list_requests",
    "no_chain",
    "notify",
    "request_change",
    "resubmit",
    "save_chain",
    "submit",
    "withdraw",
]
