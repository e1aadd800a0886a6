"""What a new tenant starts with in the interactions domain."""
