"""Inquiries in a customer's history (app/domains/customers/timeline.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.domains.customers.timeline import TimelineSource
from app.domains.inquiries.models import Inquiry

TIMELINE = [TimelineSource("inquiry", "inquiries.read", "inquiries:read", lambda customer_id: select(
    Inquiry.id, Inquiry.created_at, func.concat(Inquiry.number, " ", Inquiry.subject), Inquiry.status,
    Inquiry.node_id).where(Inquiry.customer_id == customer_id))]
