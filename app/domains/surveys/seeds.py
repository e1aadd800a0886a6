"""What a new tenant starts with in the surveys domain."""
