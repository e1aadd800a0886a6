"""The approval request types of the certificates domain."""

from app.domains.certificates.agencies import SELECTION_REQUEST
from app.domains.certificates.guarantees import RELEASE_REQUEST

REQUEST_TYPES = [SELECTION_REQUEST, RELEASE_REQUEST]
