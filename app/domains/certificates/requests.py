"""The approval request types of the certificates domain."""

from app.domains.certificates.agencies import SELECTION_REQUEST

REQUEST_TYPES = [SELECTION_REQUEST]
