"""Customers: person and enterprise profiles, consents, unit ownership, imports (DOMAIN.md,
"Customer information")."""
