"""Cornerstone: customer relations for real-estate development groups."""
