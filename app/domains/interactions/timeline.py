"""Visits and calls in a customer's history (app/domains/customers/timeline.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.domains.customers.timeline import TimelineSource
from app.domains.interactions.models import Call, Visit

TIMELINE = [
    # A visit is dated when it took place, or when it is planned.
    TimelineSource("visit", "interactions.read", "interactions:read", lambda customer_id: select(
        Visit.id, func.coalesce(Visit.visited_at, Visit.planned_at), func.concat(Visit.number, " ", Visit.purpose),
        Visit.status, Visit.node_id).where(Visit.customer_id == customer_id)),
    TimelineSource("call", "interactions.read", "interactions:read", lambda customer_id: select(
        Call.id, Call.started_at, Call.subject, Call.outcome, Call.node_id).where(Call.customer_id == customer_id)),
]
