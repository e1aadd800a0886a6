"""Complaints and disputes: the registers, the resolution loop, corrective actions, owners'
self-service and the SLA scan.

Both registers (客户投诉登记表, 纠纷登记簿) are one record type with its own numbering per
register. The loop is an explicit state machine (``loop.LOOP``): received → investigating
(cause and responsibility) → proposal → approval (the approval engine, request type
``complaint_resolution``; a rejection asks for a new proposal, every round is kept) →
negotiation (no agreement: a new proposal) → handling → feedback → closed; litigation for
the unresolvable, and reopen. Anything else is refused (409) with the state it needs.

Permission = scope ∧ role ∧ node: records sit at their project; ``complaints.read`` to see
them, ``complaints.write`` to work them, ``complaints.supervise`` for litigation (and to be
told of escalations), ``complaints.configure`` at the group node for categories and the
SLA policy. Owners (``owner:self``) reach only the records of the customers linked to their
account, through routes of their own.

One aggregate per module: ``categories`` (and the SLA policy), ``records`` (registration and
reads), ``loop`` (the resolution loop), ``attachments``, ``letters`` (corrective actions),
``owners`` (self-service), ``scan`` (the SLA scan); ``common`` holds what they share. This
package names what callers use, so they need not know the cut.
"""

from app.domains.complaints.services.attachments import (
    MAX_ATTACHMENTS,
    attachment_out,
    complete_upload,
    download,
    expire_uploads,
    get_attachment,
    start_upload,
)
from app.domains.complaints.services.categories import (
    CATEGORY_SORT,
    category_out,
    create_category,
    get_category,
    get_sla_settings,
    list_categories,
    put_sla_settings,
    require_configurer,
    retarget,
    update_category,
)
from app.domains.complaints.services.common import (
    ATTACHMENT,
    CATEGORY,
    CONFIGURE,
    DEFAULT_SLA,
    ENTITY,
    INBOX,
    LETTER,
    READ,
    SCAN_BATCH,
    SLA_SETTING,
    SUPERVISE,
    WRITE,
    notify,
    policy_of,
)
from app.domains.complaints.services.letters import (
    LETTER_SERIES,
    LETTER_SORT,
    get_letter,
    letter_out,
    letter_view,
    list_letters,
    respond_letter,
    send_letter,
)
from app.domains.complaints.services.loop import (
    LOOP,
    REQUEST_TYPE,
    REQUEST_TYPES,
    RESOLUTION_REQUEST,
    add_note,
    handle,
    investigate,
    litigate,
    negotiate,
    pause,
    propose,
    record_feedback,
    record_findings,
    record_litigation_outcome,
    reopen,
    resume,
)
from app.domains.complaints.services.owners import (
    OWNER_CATEGORY,
    add_own_note,
    create_mine,
    get_mine,
    get_own_attachment,
    list_mine,
    own_categories,
    own_out,
    rate,
)
from app.domains.complaints.services.records import (
    BACKDATE_LIMIT,
    CLOCK_SKEW,
    LOCK_NOT_AVAILABLE,
    SERIES,
    SORT,
    create_record,
    get_record,
    is_overdue,
    list_records,
    record_out,
    summary_of,
    update_record,
)
from app.domains.complaints.services.scan import scan, switch_at_handover

__all__ = [
    "ATTACHMENT", "BACKDATE_LIMIT", "CATEGORY", "CATEGORY_SORT", "CLOCK_SKEW", "CONFIGURE", "DEFAULT_SLA", "ENTITY",
    "INBOX", "LETTER", "LETTER_SERIES", "LETTER_SORT", "LOCK_NOT_AVAILABLE", "LOOP", "MAX_ATTACHMENTS",
    "OWNER_CATEGORY", "READ", "REQUEST_TYPE", "REQUEST_TYPES", "RESOLUTION_REQUEST", "SCAN_BATCH", "SERIES",
    "SLA_SETTING", "SORT", "SUPERVISE", "WRITE",
    "add_note", "add_own_note", "attachment_out", "category_out", "complete_upload", "create_category",
    "create_mine", "create_record", "download", "expire_uploads", "get_attachment", "get_category", "get_letter",
    "get_mine", "get_own_attachment", "get_record", "get_sla_settings", "handle", "investigate", "is_overdue",
    "letter_out", "letter_view", "list_categories", "list_letters", "list_mine", "list_records", "litigate",
    "negotiate", "notify", "own_categories", "own_out", "pause", "policy_of", "propose", "put_sla_settings", "rate",
    "record_feedback", "record_findings", "record_litigation_outcome", "record_out", "reopen", "require_configurer",
    "respond_letter", "resume", "retarget", "scan", "send_letter", "start_upload", "summary_of",
    "switch_at_handover", "update_category", "update_record",
]
