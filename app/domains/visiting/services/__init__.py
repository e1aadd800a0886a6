"""Visit planning: areas and routes with their frequency, the key-customer visit plan
(areas.py); regional visit plans and their summary (plans.py)."""

from app.domains.visiting.services.areas import (
    AREA_SORT,
    area_out,
    create_area,
    get_area,
    key_customers,
    list_areas,
    update_area,
)
from app.domains.visiting.services.plans import (
    PLAN_SORT,
    close_plan,
    create_plan,
    get_plan,
    list_plans,
    plan_out,
    plan_summary,
    update_plan,
)

__all__ = ["AREA_SORT", "PLAN_SORT", "area_out", "close_plan", "create_plan", "create_area", "get_area", "get_plan",
           "key_customers", "list_areas", "list_plans", "plan_out", "plan_summary", "update_area", "update_plan"]
