"""Sign-in throttling (OWASP ASVS 4.0 V2.2.1): growing delays per username *and* source.

Wrong passwords are counted per pair of (username as typed, normalised; the caller's address,
an IPv6 caller by its /64), in the counters every API process shares. The first
``FREE_FAILURES`` cost nothing; after them, each attempt from that source for that username
waits ``FIRST_DELAY`` seconds after the last failure, doubling with every further failure up
to ``MAX_DELAY``. A right password clears the pair; a pair forgotten after ``FORGET_AFTER``
without a failure starts again.

- The answer is the same whether or not the account exists, is disabled or is locked: the
  pair is keyed by the username typed, and the same work is done for every username.
- A stranger who knows a username cannot lock its owner out: the delays hold for the
  stranger's own address only (the old account lock-out after five wrong passwords let anyone
  lock any account). Guessing from many addresses is slowed per address, capped by the
  per-address rate limit, and met by the second factor staff must use.
- Wrong second factors still lock the account (app/auth/accounts.py ``record_failure``): only
  someone who has the password reaches them.
"""

from __future__ import annotations

import hashlib
import time
import uuid

from app.auth.accounts import normalise_username
from app.core.counters import Counters, source

FREE_FAILURES = 5
FIRST_DELAY = 30.0  # seconds, after the free failures
MAX_DELAY = 900.0
FORGET_AFTER = 24 * 3600.0


def pair_key(realm: uuid.UUID | None, username: str, address: str | None) -> str:
    """The counter of one username (in a tenant, or the platform) from one source. The
    username is hashed: it stays out of the counters store, and any length makes one key."""
    name = hashlib.sha256(normalise_username(username).encode()).hexdigest()[:32]
    return f"signin:{realm or 'platform'}:{name}:{source(address)}"


def delay_after(failures: int) -> float:
    """How long a source must wait after its ``failures``-th failure in a row."""
    if failures < FREE_FAILURES:
        return 0.0
    return float(min(FIRST_DELAY * 2 ** (failures - FREE_FAILURES), MAX_DELAY))


async def wait_seconds(counters: Counters, key: str) -> int:
    """Seconds this pair must still wait before its next attempt (0: go ahead)."""
    reading = await counters.read(key)
    if reading is None:
        return 0
    left = reading.last_at + delay_after(reading.count) - time.time()
    return int(left) + 1 if left > 0 else 0


async def failed(counters: Counters, key: str) -> None:
    await counters.bump(key, FORGET_AFTER)


async def succeeded(counters: Counters, key: str) -> None:
    await counters.clear(key)
