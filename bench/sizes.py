"""How much each workload does: the issue's counts, and tiny ones for `--quick`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    enqueue: int = 20_000
    drain: int = 20_000
    latency: int = 2_000
    latency_rate: float = 200.0
    io: int = 1_000
    http_seconds: int = 5
    """Each wrk run (shape x connections) lasts this long, after a warm-up of its own."""
    memory: int = 1_000_000
    memory_batch: int = 1_000
    memory_backlog: int = 50_000
    """Submitting pauses while more tasks than this wait: the tasks go through the server
    (as in production) rather than pile up in its table."""


QUICK = Sizes(
    enqueue=300, drain=300, latency=100, latency_rate=200.0, io=200, http_seconds=1, memory=5_000
)
