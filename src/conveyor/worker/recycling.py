"""When a supervised worker process should retire, so its parent starts a fresh one:
after a number of tasks, or past a memory size (checked between tasks, never mid-task),
or at once when it had to abandon a handler's thread."""

from __future__ import annotations

import os
import resource

RECYCLE_EXIT = 3
"""The exit status of a worker process that retired on purpose."""

ABANDONED_EXIT = 4
"""The exit status of a worker process that left because a handler overran its timeout
or cancel grace: Python cannot stop the thread running it, ending the process does."""

ABANDONED_REASON = "a handler overran its timeout/cancel grace and was abandoned"


def rss_mb() -> float:
    """This process's resident memory now (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def recycle_reason(max_tasks: int | None, max_memory_mb: float | None, finished: int) -> str | None:
    if max_tasks is not None and finished >= max_tasks:
        return f"ran {finished} tasks (max {max_tasks} per process)"
    if max_memory_mb is not None and (rss := rss_mb()) > max_memory_mb:
        return f"uses {rss:.0f} MB (max {max_memory_mb:g} MB per process)"
    return None
