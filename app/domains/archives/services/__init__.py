"""Customer archive volumes (案卷): building, numbering, reviewing, filing, access, integrity.

A volume is built in ``draft`` (cover, pages scanned straight into object storage through
presigned PUTs, contents list, remarks sheet), ``assembled`` (complete and numbered after
the tenant's scheme), ``reviewed`` by someone else, and ``filed``: from then on its objects
are under object-lock retention for its retention period, corrections are new page
revisions with a reason, and it cannot be deleted before its retention ends.

Access to a volume = the token scope (the route's scope check) ∧ ``archives.read`` on its org node ∧ a
clearance permission covering its classification level ∧ being inside its circulation
scope. Outside the subtree a volume does not exist (404); inside it without clearance or
circulation, the answer is 403.

Storage is called before anything is recorded: an upload is recorded as stored only once
the object is verified, a volume as filed only once every object is locked; a storage
failure rolls the request back (503 with Retry-After). The other way round, rows go first:
removing pages writes their keys to ``archive_object_removals`` in the same transaction,
and storage is cleared from that list afterwards (``remove_objects``), so no object
outlives the rows that name it.

One aggregate per module: ``policy``, ``access`` (who reads a volume), ``reads``,
``volumes`` (building in draft, deleting), ``lifecycle`` (assemble, review, file, legal
hold; its moves ``lifecycle.VOLUME``), ``classification``, ``pages``, ``integrity``,
``cleanup`` (storage); ``common`` holds what they share. This package names what callers
use, so they need not know the cut.
"""

from app.domains.archives.services.access import get_page, get_volume, require_content_access
from app.domains.archives.services.classification import (
    CLASSIFICATION_REQUEST,
    CLASSIFICATION_TYPE,
    REQUEST_TYPES,
    request_classification,
)
from app.domains.archives.services.cleanup import (
    KEY_VERSIONS,
    LOCKED_RETRY,
    REMOVAL_BATCH,
    UPLOAD_GRACE,
    clean_expired_uploads,
    remove_objects,
)
from app.domains.archives.services.common import (
    CLASSIFY,
    CONFIGURE,
    CORRECT,
    DISPOSE,
    ENTITY,
    FILE,
    HOLD,
    MAX_LEVELS,
    OBJECT_ENTITY,
    PAGE_ENTITY,
    POLICY,
    READ,
    REVIEW,
    STORAGE_CONCURRENCY,
    VERIFY,
    WRITE,
    clearance,
    tenant_of,
)
from app.domains.archives.services.integrity import (
    VERIFY_KIND,
    check_page,
    manifest,
    reverify_pages,
    start_verification,
    verify_volume,
)
from app.domains.archives.services.lifecycle import (
    RETENTION_YEARS,
    VOLUME,
    assemble,
    file_volume,
    reopen,
    retain_until,
    review,
    set_legal_hold,
)
from app.domains.archives.services.pages import (
    Issued,
    complete_pages,
    delete_page,
    download,
    issue_correction,
    issue_uploads,
    presigned,
    reorder,
)

# Checked on its own by a test (an order of ten thousand pages is checked with sets).
from app.domains.archives.services.pages import _order_problems as _order_problems
from app.domains.archives.services.policy import (
    ITEM_WIDTH,
    NUMBER_MAX,
    RETENTION_CODES,
    get_policy,
    put_policy,
    settings_out,
)
from app.domains.archives.services.reads import (
    SORT_PAGES,
    SORT_VOLUMES,
    list_pages,
    list_volumes,
    page_out,
    pages_out,
    volume_out,
)
from app.domains.archives.services.volumes import create_volume, delete_volume, put_contents, put_remarks, update_volume

__all__ = [
    "CLASSIFICATION_REQUEST",
    "CLASSIFICATION_TYPE",
    "CLASSIFY",
    "CONFIGURE",
    "CORRECT",
    "DISPOSE",
    "ENTITY",
    "FILE",
    "HOLD",
    "ITEM_WIDTH",
    "KEY_VERSIONS",
    "LOCKED_RETRY",
    "MAX_LEVELS",
    "NUMBER_MAX",
    "OBJECT_ENTITY",
    "PAGE_ENTITY",
    "POLICY",
    "READ",
    "REMOVAL_BATCH",
    "REQUEST_TYPES",
    "RETENTION_CODES",
    "RETENTION_YEARS",
    "REVIEW",
    "SORT_PAGES",
    "SORT_VOLUMES",
    "STORAGE_CONCURRENCY",
    "UPLOAD_GRACE",
    "VERIFY",
    "VERIFY_KIND",
    "VOLUME",
    "WRITE",
    "assemble",
    "check_page",
    "clean_expired_uploads",
    "clearance",
    "complete_pages",
    "create_volume",
    "delete_page",
    "delete_volume",
    "download",
    "file_volume",
    "get_page",
    "get_policy",
    "get_volume",
    "issue_correction",
    "issue_uploads",
    "Issued",
    "list_pages",
    "list_volumes",
    "manifest",
    "page_out",
    "pages_out",
    "presigned",
    "put_contents",
    "put_policy",
    "put_remarks",
    "remove_objects",
    "reopen",
    "reorder",
    "request_classification",
    "require_content_access",
    "retain_until",
    "reverify_pages",
    "review",
    "set_legal_hold",
    "settings_out",
    "start_verification",
    "tenant_of",
    "update_volume",
    "verify_volume",
    "volume_out",
]
