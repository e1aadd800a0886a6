"""What the forums domain holds about a person (app/core/personal.py): the forums they were
invited to and whether they came. Findings are recorded without naming anyone."""

from __future__ import annotations

from app.core.personal import PersonalData, rows_holding
from app.domains.forums.models import ForumInvitee

PERSONAL = PersonalData(holdings=(
    rows_holding("forums.invitations", "Forums the person was invited to, and whether they came.", ForumInvitee,
                 show=("forum_id", "status", "invited_at"),
                 keep="an invitation holds only the link to the person and their attendance, the forum's record of "
                      "who took part; the profile it links to is anonymised"),
))
