"""What a new tenant starts with in the grading domain: the product's grading rules apply
until the group sets its own (a tenant setting, so nothing is stored); the
``credit_limit_change`` approval type registers with the engine when the services load, so
the engine's seeding stores its default chain and creates the roles it names."""

import app.domains.grading.services  # noqa: F401
