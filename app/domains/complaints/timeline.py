"""Complaints and disputes in a customer's history (app/domains/customers/timeline.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.domains.complaints.models import Complaint
from app.domains.customers.timeline import TimelineSource

TIMELINE = [TimelineSource("complaint", "complaints.read", "complaints:read", lambda customer_id: select(
    Complaint.id, Complaint.received_at, func.concat(Complaint.number, " ", Complaint.subject), Complaint.status,
    Complaint.node_id).where(Complaint.customer_id == customer_id))]
