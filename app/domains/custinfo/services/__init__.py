"""Customer information rules (see docs/relations.md, "Customer information"): the quarterly
review of the customer base, customer development from screening through approval to periodic
reports, and the departments' information needs served by customer affairs.

One aggregate per module (reviews, developments, information; common: what they share).
"""

from __future__ import annotations

from app.domains.custinfo.services.developments import REQUEST

REQUEST_TYPES = [REQUEST]  # the domain's declaration names this list

__all__ = ["REQUEST_TYPES"]
