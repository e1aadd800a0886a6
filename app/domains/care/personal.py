"""What the care domain holds about a person (app/core/personal.py): the care messages sent to
them (which rule, which occasion, through which channel, when; the text is the rule's)."""

from __future__ import annotations

from app.core.personal import PersonalData, rows_holding
from app.domains.care.models import CareMessage

PERSONAL = PersonalData(holdings=(
    rows_holding("care.messages", "Care messages sent to the person: rule, occasion, channel, when.", CareMessage,
                 show=("rule_id", "occasion", "channel", "sent_at"),
                 keep="a sent message holds no content, only which greeting went out when: it is what keeps a "
                      "greeting from being sent twice"),
))
