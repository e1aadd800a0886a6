"""What a new tenant starts with in the grading domain."""
