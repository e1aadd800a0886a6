"""Customer archive volumes: cover, contents list, scanned pages in object storage, remarks sheet, filing under
retention."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="archives",
    tags={"Archives": "Customer archive volumes: cover, contents list, scanned pages in object storage, remarks "
                      "sheet, filing under retention."},
    scopes={"archives:read": "Read archive volumes and download their pages (within one's clearance).",
            "archives:write": "Build archive volumes: cover, contents list, pages, remarks sheet.",
            "archives:admin": "Review and file volumes, set legal holds, change classification, verify integrity."},
    controllers="app.domains.archives.controllers:CONTROLLERS",
    approvals="app.domains.archives.services:REQUEST_TYPES",
    models=("app.domains.archives.models",),
    seeds="app.domains.archives.seeds",
    tasks=("app.domains.archives.tasks",),
    # Page uploads never completed (their presigned URL expired): objects and metadata removed.
    beat={"archives-expired-uploads": Beat("archives.clean_expired_uploads", 3600.0)},
    catalogue="tests.catalogue.archives",
    personal="app.domains.archives.personal:PERSONAL",
)
