"""Return visits in a customer's history (app/domains/customers/timeline.py): the answers
recorded, by how the customer was reached."""

from __future__ import annotations

from sqlalchemy import func, literal, select

from app.domains.customers.timeline import TimelineSource
from app.domains.surveys.models import SurveyResult

TIMELINE = [TimelineSource("return_visit", "surveys.read", "surveys:read", lambda customer_id: select(
    SurveyResult.id, SurveyResult.responded_at, func.concat("Return visit: ", SurveyResult.method), literal(None),
    SurveyResult.node_id).where(SurveyResult.customer_id == customer_id))]
