"""Every mapped table, imported in one place so that metadata is complete (provisioning and
the shared migrations call ``load_all``): the platform's own, then each domain's."""

from __future__ import annotations

from importlib import import_module

from app.domains import domains

PLATFORM = (
    "app.auth.models",
    "app.auth.tokens",  # signing keys
    "app.core.audit",  # the audit_log of both kinds of schema
    "app.core.counters",  # rate limits and sign-in throttling
    "app.core.idempotency",  # idempotency keys, both kinds
    "app.core.jobs",
    "app.core.keystore",  # the tenant's wrapped data keys
    "app.core.numbering",
    "app.core.tenant_settings",
    "app.fanout.models",  # the report of the periodic scans over the tenants
    "app.tenants.models",
)


def load_all() -> None:
    for module in (*PLATFORM, *(m for domain in domains() for m in domain.models)):
        import_module(module)
