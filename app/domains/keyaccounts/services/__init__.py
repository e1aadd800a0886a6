"""The key-account services (one module per aggregate): improvement actions, big-customer
strategies and return visits, after-sales service plans; their approval request types."""

from app.domains.keyaccounts.services.improvements import ACTION_REQUEST
from app.domains.keyaccounts.services.service_plans import NON_ROUTINE_REQUEST, ROUTINE_REQUEST
from app.domains.keyaccounts.services.strategies import STRATEGY_REQUEST
from app.domains.keyaccounts.services.visits import VISIT_REQUEST

REQUEST_TYPES = [ACTION_REQUEST, STRATEGY_REQUEST, VISIT_REQUEST, ROUTINE_REQUEST, NON_ROUTINE_REQUEST]
