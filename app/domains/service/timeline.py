"""In-sale orders in a customer's history (app/domains/customers/timeline.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.domains.customers.timeline import TimelineSource
from app.domains.service.models import SaleOrder

TIMELINE = [
    TimelineSource("order", "orders.read", "orders:read", lambda customer_id: select(
        SaleOrder.id, SaleOrder.received_at, func.concat(SaleOrder.number, " ", SaleOrder.item), SaleOrder.status,
        SaleOrder.node_id).where(SaleOrder.customer_id == customer_id)),
]
