"""In-sale service commitments and call-centre quality.

- Orders (seed 001 §3.2, 售中服务): a customer's order (a unit's subscription, a parking space,
  a fit-out package, a service) confirmed within two working hours of its receipt with the
  departments concerned told, a scan flagging those left unconfirmed; progress milestones sent
  to the customer on long processes; the delivery confirmed (inspection) with the customer's
  in-sale feedback.
- Call-centre quality (seed 000 §12, 呼叫中心运行流程 ⑥ 服务质量评估, ⑦ 专员绩效管理): logged calls
  evaluated against the group's scorecard; agent performance per period."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="service",
    tags={"Orders": "Customers' in-sale orders: confirmation within working hours with the departments told, "
                    "progress updates to the customer, delivery confirmation and in-sale feedback.",
          "Call quality": "The call-centre scorecard, evaluations of logged calls and agent performance."},
    scopes={"orders:read": "Read customers' in-sale orders, their progress and delivery confirmation.",
            "orders:write": "Receive, confirm, update, deliver and cancel customers' in-sale orders.",
            "callqa:read": "Read the call-centre scorecard, call evaluations and agent performance.",
            "callqa:write": "Evaluate logged calls; set the call-centre scorecard."},
    controllers="app.domains.service.controllers:CONTROLLERS",
    models=("app.domains.service.models",),
    seeds="app.domains.service.seeds",
    tasks=("app.domains.service.tasks",),
    # Every 5 minutes: a deadline of two working hours is missed by minutes, not by hours.
    beat={"orders-overdue": Beat("orders.overdue_scan", 300.0)},
    catalogue="tests.catalogue.service",
    demo="app.domains.service.demo:seed_demo",
    personal="app.domains.service.personal:PERSONAL",
    timeline="app.domains.service.timeline:TIMELINE",
)
