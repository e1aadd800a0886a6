"""Customer rules: who sees and changes what, personal data sealed at rest and masked in
answers, protected fields and deletions through the approval engine, consents, ownership.

Visibility: a customer sits at an org node (their unit's project, or a branch or the group
for prospects). A caller without ``customers.read`` there gets 404, as for an id that does
not exist; with read but not ``customers.write``, changes answer 403.

Personal data: phone, ID number and address are sealed with the tenant's data key
(app/core/keystore.py) and never written in plaintext, not to the audit trail nor to an
approval request's payload (which holds sealed values and masks). Phone and ID numbers get
a blind index: exact search and duplicate detection without decrypting anything.

The package holds one aggregate per module (common: what they share; profiles; ownership;
consents; changes: change control; merge; mine: self-service); this module gathers what
the rest of the application calls.
"""

from __future__ import annotations

from app.domains.customers.services.changes import CUSTOMER_FIELDS, OWNERSHIP_FIELDS, request_changes
from app.domains.customers.services.common import (
    ADDRESS,
    CONSENT,
    CONTACT_PHONE,
    ENTITY,
    ID_NUMBER,
    IMPORT,
    IX_ID,
    IX_PHONE,
    MERGE,
    MERGE_TYPE,
    OWNER_APPROVAL,
    OWNERSHIP,
    PENDING,
    PHONE,
    READ,
    REVEAL,
    SERIES,
    WRITE,
    Sealed,
    customer_email,
    customer_reach,
    get_customer,
    normalise_id,
    normalise_phone,
    safe_snapshot,
    seal_values,
    zone,
)
from app.domains.customers.services.consents import (
    add_consent,
    consent_out,
    get_consent,
    has_consent,
    list_consents,
    set_behaviour,
    withdraw_consent,
)
from app.domains.customers.services.merge import MERGE_REQUEST, merge, request_merge
from app.domains.customers.services.mine import get_mine, list_mine, own_out, update_mine
from app.domains.customers.services.ownership import add_ownership, get_ownership, list_ownerships
from app.domains.customers.services.profiles import (
    ENTERPRISE_ONLY,
    PERSON_ONLY,
    SORT,
    create_customer,
    customer_out,
    list_customers,
    reveal,
    search,
    update_customer,
)

REQUEST_TYPES = [MERGE_REQUEST]  # the domain's declaration names this list

__all__ = [
    "ADDRESS", "CONSENT", "CONTACT_PHONE", "CUSTOMER_FIELDS", "ENTERPRISE_ONLY", "ENTITY", "ID_NUMBER", "IMPORT",
    "IX_ID", "IX_PHONE", "MERGE", "MERGE_REQUEST", "MERGE_TYPE", "OWNERSHIP", "OWNERSHIP_FIELDS", "OWNER_APPROVAL",
    "PENDING", "PERSON_ONLY", "PHONE", "READ", "REQUEST_TYPES", "REVEAL", "SERIES", "SORT", "Sealed", "WRITE",
    "add_consent", "add_ownership", "consent_out", "create_customer", "customer_email", "customer_out",
    "customer_reach", "get_consent", "get_customer", "get_mine", "get_ownership", "has_consent", "list_consents",
    "list_customers", "list_mine",
    "list_ownerships", "merge", "normalise_id", "normalise_phone", "own_out", "request_changes", "request_merge",
    "reveal", "safe_snapshot", "seal_values", "search", "set_behaviour", "update_customer", "update_mine",
    "withdraw_consent", "zone",
]
