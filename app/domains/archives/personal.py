"""What the archives domain holds about a person (app/core/personal.py): their archive
volumes, kept for their retention period or legal hold."""

from __future__ import annotations

from app.core.personal import PersonalData, rows_holding
from app.domains.archives.models import ArchiveVolume

PERSONAL = PersonalData(holdings=(
    rows_holding("archives.volumes", "Archive volumes of the person's files.", ArchiveVolume,
                 show=("archive_number", "title", "year", "retention", "status", "legal_hold"),
                 keep="customer archives are kept for their retention period (DA/T 22) or while under legal "
                      "hold, and are destroyed only through the archives' own procedure"),
))
