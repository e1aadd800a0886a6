"""What the complaints domain holds about a person (app/core/personal.py): their complaints
and disputes, kept."""

from __future__ import annotations

from app.core.personal import PersonalData, rows_holding
from app.domains.complaints.models import Complaint

PERSONAL = PersonalData(holdings=(
    rows_holding("complaints.records", "The person's complaints and disputes.", Complaint,
                 show=("register", "number", "channel", "subject", "description", "contact_note", "status"),
                 keep="complaint and dispute records are kept as evidence for disputes and litigation and for "
                      "the regulator's complaint statistics"),
))
