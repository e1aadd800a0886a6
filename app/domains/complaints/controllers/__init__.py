"""HTTP for complaints and disputes: translate requests to service calls, nothing more.

The two registers have the same routes under their own paths (``/api/v1/complaints``,
``/api/v1/disputes``), made by one factory (``records``); what they share (categories, the
SLA policy and statistics in ``policy``, corrective-action ``letters``, ``attachments``) and
the ``owners``' routes live under ``/api/v1/complaints``.
"""

from litestar import Controller

from app.domains.complaints.controllers.attachments import AttachmentController
from app.domains.complaints.controllers.letters import CapaLetterController
from app.domains.complaints.controllers.owners import MyComplaintController
from app.domains.complaints.controllers.policy import ComplaintPolicyController
from app.domains.complaints.controllers.records import ComplaintController, DisputeController

CONTROLLERS: list[type[Controller]] = [MyComplaintController, ComplaintPolicyController, CapaLetterController,
                                       AttachmentController, ComplaintController, DisputeController]

__all__ = ["CONTROLLERS", "AttachmentController", "CapaLetterController", "ComplaintController",
           "ComplaintPolicyController", "DisputeController", "MyComplaintController"]
