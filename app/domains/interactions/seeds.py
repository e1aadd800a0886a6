"""What a new tenant starts with in the interactions domain: nothing of its own. Its approval
types (``reception_application``, ``gift_application``) register with the engine when the
services load, so the engine's seeding stores their default chains and creates the roles
they name."""

import app.domains.interactions.services  # noqa: F401
