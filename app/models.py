"""Every mapped table, imported in one place so that metadata is complete (provisioning and
the shared migrations import this module; nothing imports names from it)."""

# ruff: noqa: F401
import app.auth.models
import app.auth.tokens  # signing keys
import app.core.audit  # the audit_log of both kinds of schema
import app.core.counters  # rate limits and sign-in throttling
import app.core.idempotency  # idempotency keys, both kinds
import app.core.jobs
import app.core.keystore  # the tenant's wrapped data keys
import app.core.numbering
import app.core.tenant_settings
import app.domains.access.models
import app.domains.approvals.models
import app.domains.archives.models
import app.domains.audit.models
import app.domains.calendars.models
import app.domains.complaints.models
import app.domains.customers.models
import app.domains.grading.models
import app.domains.inquiries.models
import app.domains.interactions.models
import app.domains.org.models
import app.domains.surveys.models
import app.tenants.models
