"""Every domain's tenant seeders, imported in the order they must run."""

import app.domains.org.seeds  # noqa: F401  (the root node first: everything hangs off it)
import app.core.keystore  # noqa: F401  (the tenant's wrapped data and index keys)
import app.domains.access.seeds  # noqa: F401  (the default roles)
import app.domains.approvals.seeds  # noqa: F401  (default approval chains; after roles, which they name)
import app.domains.interactions.seeds  # noqa: F401
import app.domains.surveys.seeds  # noqa: F401
import app.domains.grading.seeds  # noqa: F401
import app.domains.calendars.seeds  # noqa: F401  (before complaints: SLA clocks count in a calendar)
import app.domains.complaints.seeds  # noqa: F401
import app.domains.archives.seeds  # noqa: F401
import app.storage.seeds  # noqa: F401  (the tenant's bucket; last, so a failed seed makes none)
