"""The archives domain's background work."""
