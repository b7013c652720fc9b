"""Retry delays: exponential backoff with jitter, capped."""

from __future__ import annotations

import random

BASE_S = 1.0
CAP_S = 300.0


def retry_delay_s(attempt: int, base_s: float = BASE_S, cap_s: float = CAP_S) -> float:
    """Delay before the next try after `attempt` (1-based) failed.

    "Equal jitter": at least half the exponential delay (so a retry never comes back at
    once), and a random rest that spreads tasks which failed together.
    """
    ceiling = min(cap_s, base_s * 2 ** max(attempt - 1, 0))
    return random.uniform(ceiling / 2, ceiling)
