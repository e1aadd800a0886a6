"""The archives domain's tables."""
