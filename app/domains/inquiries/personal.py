"""What the inquiries domain holds about a person (app/core/personal.py): their inquiries."""

from __future__ import annotations

from app.core.personal import ANONYMISED, PersonalData, rows_holding
from app.domains.inquiries.models import Inquiry

PERSONAL = PersonalData(holdings=(
    rows_holding("inquiries.inquiries", "The person's inquiries and the answers given.", Inquiry,
                 show=("number", "channel", "subject", "description", "contact_note", "status", "answer",
                       "answered_at"),
                 blank={"contact_note": None, "description": ANONYMISED, "answer": None}),
))
