"""The interactions domain's tables."""
