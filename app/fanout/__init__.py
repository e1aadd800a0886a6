"""Periodic work over every active tenant, one Celery task per tenant, with a report per run.

- ``models``: the report's platform tables (no Celery: the API and migrations import it);
- ``runs``: recording a run and each tenant's outcome, guarded for at-least-once delivery;
- ``tasks``: ``for_each_tenant``, which registers a beat task and its per-tenant task;
- ``controllers``: ``/platform/v1/fanout-runs``, the report for operators.
"""
