"""The audit trail: search, CSV export for auditors, retention of the append-only log."""
