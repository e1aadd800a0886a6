"""What the service domain holds about a person (app/core/personal.py): their in-sale orders,
with the inspection and the feedback they gave."""

from __future__ import annotations

from app.core.personal import PersonalData, rows_holding
from app.domains.service.models import SaleOrder

PERSONAL = PersonalData(holdings=(
    rows_holding("service.orders", "In-sale orders: what was ordered, when, confirmed and delivered; the inspection "
                 "and the feedback given.", SaleOrder,
                 show=("number", "kind", "item", "amount", "status", "received_at", "confirmed_at", "delivered_at",
                       "inspection", "inspection_notes", "feedback_rating", "feedback_comment"),
                 blank={"inspection_notes": None, "feedback_comment": None}),
))
