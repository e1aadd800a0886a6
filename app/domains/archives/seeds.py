"""What a new tenant starts with in the archives domain."""
