"""The grading domain's background work."""
