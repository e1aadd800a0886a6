"""The club's approval request types (its services are one module per aggregate: clubs,
members and their points, activities and their registrations)."""

from app.domains.club.activities import ACTIVITY_REQUEST
from app.domains.club.clubs import CLUB_REQUEST

REQUEST_TYPES = [CLUB_REQUEST, ACTIVITY_REQUEST]
