"""The complaints domain's background work."""
