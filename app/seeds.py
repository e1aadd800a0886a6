"""Every domain's tenant seeders, and the order they run in (app/tenants/seeding.py): the
order of ORDER, whichever module happened to be imported first."""

from app.core import keystore
from app.domains.access import seeds as access
from app.domains.approvals import seeds as approvals
from app.domains.archives import seeds as archives
from app.domains.calendars import seeds as calendars
from app.domains.complaints import seeds as complaints
from app.domains.grading import seeds as grading
from app.domains.interactions import seeds as interactions
from app.domains.org import seeds as org
from app.domains.surveys import seeds as surveys
from app.storage import seeds as storage

ORDER = [
    org,  # the root node first: everything hangs off it
    keystore,  # the tenant's wrapped data and index keys
    access,  # the default roles
    approvals,  # default approval chains; after roles, which they name
    interactions,
    surveys,
    grading,
    calendars,  # before complaints: SLA clocks count in a calendar
    complaints,
    archives,
    storage,  # the tenant's bucket; last, so a failed seed makes none
]
