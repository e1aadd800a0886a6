"""What a new tenant starts with in the complaints domain."""
