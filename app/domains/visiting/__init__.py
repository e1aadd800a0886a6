"""Visit planning (seed 000 §21 客户拜访区域规划流程): visit areas with their routes (ordered
customers) and visit frequency, regional visit plans for a period with their summary (visits
due, planned and made, computed from the visits), and the key-customer visit plan."""

from app.core.manifest import Domain

DOMAIN = Domain(
    name="visiting",
    tags={"Visit planning": "Visit areas and their routes with a visit frequency, regional visit plans and their "
                            "summaries, and the key-customer visit plan."},
    scopes={"visiting:read": "Read visit areas, regional visit plans and the key-customer visit plan.",
            "visiting:write": "Lay out visit areas and routes, plan a region's visits and close the plan with its "
                              "summary."},
    controllers="app.domains.visiting.controllers:CONTROLLERS",
    models=("app.domains.visiting.models",),
    catalogue="tests.catalogue.visiting",
    demo="app.domains.visiting.demo:seed_demo",
)
