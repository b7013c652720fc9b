"""Lease renewal: running tasks keep their leases, report progress, and learn of cancel
requests, in one batch per round for all of a worker's tasks."""

from __future__ import annotations

import asyncio
import logging
import time

from conveyor.backends.base import Backend
from conveyor.errors import BackendUnavailable
from conveyor.task import utcnow
from conveyor.worker.execution import Running

logger = logging.getLogger(__name__)

_CANCEL_CHECK_S = 1.0


async def keep_leases(backend: Backend, running: dict[str, Running], lease_s: float) -> None:
    """Renew the leases of the tasks in `running` (kept by the worker) until cancelled.
    Renewals also bring back cancel requests, so they come at least every second
    (cheap: a renewal-only commit skips the fsync)."""
    renew_every = min(lease_s / 3, _CANCEL_CHECK_S)
    last_renewal = time.monotonic()
    while True:
        await asyncio.sleep(min(0.5, renew_every))
        due = time.monotonic() - last_renewal >= renew_every
        targets = [
            r for r in running.values() if not r.has_outcome and (due or r.progress is not None)
        ]
        if not targets:
            continue
        try:
            states = await backend.extend([r.take_renewal() for r in targets], lease_s, utcnow())
        except BackendUnavailable as exc:
            logger.warning("lease renewal failed", extra={"error": str(exc)})
            continue
        if due:
            last_renewal = time.monotonic()
        for task, state in zip(targets, states, strict=True):
            task.lease_lost = not state.held
            if state.cancel_requested and not task.cancel_event.is_set():
                task.cancel_seen_monotonic = time.monotonic()
                task.cancel_event.set()
                if task.asyncio_task is not None:
                    task.asyncio_task.cancel()
