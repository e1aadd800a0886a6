"""The grading domain's tables."""
