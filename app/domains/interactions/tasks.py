"""The interactions domain's background work."""
