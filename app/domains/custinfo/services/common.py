"""What the customer information package's aggregates share: permissions, entity names,
the nodes their records sit at, and the conflict they answer."""

from __future__ import annotations

from app.core.problems import ProblemError
from app.domains.access.authz import register_permissions
from app.domains.org.models import NodeKind

READ = "custinfo.read"
REVIEW = "custinfo.review"
DEVELOP = "custinfo.develop"
NEED = "custinfo.need"
COLLECT = "custinfo.collect"
AFFAIRS = "custinfo.affairs"

register_permissions({
    READ: "See quarterly reviews, prospect screenings, development applications and reports, information needs, "
          "collected information and what was provided, in one's subtree.",
    REVIEW: "Open a quarter's review of the customer records and work the records it lists (renew, retire), in "
            "one's subtree.",
    DEVELOP: "Screen prospects, apply for their development and report on it, in one's subtree.",
    NEED: "State and change a department's needs for customer information, in one's subtree.",
    COLLECT: "Send customer information collected (customers' feedback) to customer affairs, in one's subtree.",
    AFFAIRS: "Customer affairs: review and classify the information collected and provide it to the departments "
             "that asked, in one's subtree.",
})

REVIEW_ENTITY, REVIEW_ITEM, SCREENING, DEVELOPMENT = ("customer_review", "customer_review_item",
                                                      "prospect_screening", "customer_development")
NEED_ENTITY, ITEM, PROVISION = "information_need", "information_item", "information_provision"
DEVELOPMENT_TYPE = "customer_development"
# Development applications are decided at the branch (the chain's level): they sit under one.
UNDER_BRANCH = (NodeKind.project, NodeKind.branch)
# Reviews, needs and collected information sit at the group, a branch or a project.
ORG_LEVELS = (NodeKind.group, NodeKind.branch, NodeKind.project)


def conflict(what: str, state: str, hint: str = "") -> ProblemError:
    return ProblemError("conflict", f"The {what} is {state}{': ' + hint if hint else '.'}")
