"""Taking back at once what dead earlier worker processes held, saying how they died."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from conveyor.backends.base import Backend
from conveyor.task import utcnow

logger = logging.getLogger(__name__)

DIED = "the worker process running it died"


def pid_alive(pid: int) -> bool:
    """Whether a process of this host runs; a zombie (dead, not yet reaped, as orphans
    are in containers whose init does not reap) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


async def reclaim_from_dead_predecessors(
    backend: Backend, worker_id: str, heartbeat_s: float, predecessor_exit: str | None
) -> int:
    """Take back what an earlier, dead process of this host (or of this worker id) held,
    rather than waiting a lease for the reaper. `predecessor_exit` is how this worker
    id's previous process ended, as its supervisor saw it ("was killed by SIGKILL ..."):
    its tasks carry that as their error; others get a plain "died"."""
    host = socket.gethostname()
    stale_after = timedelta(seconds=3 * heartbeat_s + 1)
    now = utcnow()
    dead: dict[str, list[str]] = {}  # why -> worker ids
    for record in await backend.workers():
        same_host = record.info.get("hostname") == host
        if record.pid == os.getpid() and same_host:
            continue
        gone = same_host and not pid_alive(record.pid)
        ours = record.id == worker_id
        if gone or (ours and now - record.last_seen > stale_after):
            why = f"the worker process running it {predecessor_exit}"
            dead.setdefault(why if ours and predecessor_exit else DIED, []).append(record.id)
        elif ours:
            logger.warning(
                "another live process uses this worker id",
                extra={"worker_id": record.id, "pid": record.pid},
            )
    reclaimed = 0
    for why, worker_ids in dead.items():
        reclaimed += await backend.reclaim(worker_ids, why, now)
        for dead_id in worker_ids:
            if dead_id != worker_id:
                await backend.remove_worker(dead_id)
    if dead:
        workers = ",".join(w for ids in dead.values() for w in ids)
        logger.info(
            "reclaimed tasks of dead workers", extra={"count": reclaimed, "workers": workers}
        )
    return reclaimed
