"""What the customer information domain holds about a person: what they said, as collected
for the departments (app/core/personal.py). Reviews and development applications hold the
company's work on a record, not the person's data."""

from __future__ import annotations

from app.core.personal import ANONYMISED, PersonalData, rows_holding
from app.domains.custinfo.models import InformationItem

PERSONAL = PersonalData(holdings=(
    rows_holding("custinfo.information", "Information collected from the person (feedback, opinions, needs) for "
                                         "the departments that asked for it.",
                 InformationItem, show=("topic", "channel", "content", "status", "created_at"),
                 blank={"content": ANONYMISED}),
))
