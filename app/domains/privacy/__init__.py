"""Personal information: people's requests to see, copy, correct and delete what the group
holds about them (PIPL arts. 44-47), and retention with anonymisation (docs/privacy.md)."""

from app.core.manifest import Beat, Domain

DOMAIN = Domain(
    name="privacy",
    tags={"Privacy": "People's requests about their personal information (see, copy, correct, delete) with "
                     "their deadlines, and the retention period of each kind of record."},
    scopes={"privacy:read": "Read privacy requests and retention rules.",
            "privacy:write": "File and answer privacy requests, hand over copies, carry out erasures, set "
                             "retention periods."},
    controllers="app.domains.privacy.controllers:CONTROLLERS",
    models=("app.domains.privacy.models",),
    seeds="app.domains.privacy.seeds",
    tasks=("app.domains.privacy.tasks",),
    beat={"privacy-deadline-scan": Beat("privacy.deadline_scan", 86400.0),
          "privacy-retention-scan": Beat("privacy.retention_scan", 86400.0)},
    catalogue="tests.catalogue.privacy",
    personal="app.domains.privacy.personal:PERSONAL",
    approvals="app.domains.privacy.approval:REQUEST_TYPES",
)
