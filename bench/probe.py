"""What every system's handlers call, so completions and start times are recorded the
same way for all: one Redis INCR (and an RPUSH for latency) on two keys of db 15, which
Conveyor's Redis runs share under prefixes of their own (so reset deletes only these)."""

from __future__ import annotations

import os
import time

import redis

PROBE_DB = 15
# Keys of this run only: the harness names its run in the environment its workers
# inherit, so a second run on the machine (CI beside a developer) cannot reset ours.
RUN = os.environ.setdefault("CONVEYOR_BENCH_RUN", f"{os.getpid()}")
DONE = f"bench-probe:{RUN}:done"
LATENCY = f"bench-probe:{RUN}:latency"
_client: redis.Redis | None = None


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis(host="127.0.0.1", port=6379, db=PROBE_DB)
    return _client


def done() -> None:
    client().incr(DONE)


def started(submitted_at: float) -> None:
    pipe = client().pipeline(transaction=False)
    pipe.rpush(LATENCY, time.time() - submitted_at)
    pipe.incr(DONE)
    pipe.execute()


def reset() -> None:
    client().delete(DONE, LATENCY)


def completed() -> int:
    return int(client().get(DONE) or 0)


def latencies_ms() -> list[float]:
    return [float(v) * 1000 for v in client().lrange(LATENCY, 0, -1)]


# The three handler bodies, shared by every system's task definitions.
def noop() -> None:
    done()


def stamp(submitted_at: float) -> None:
    started(submitted_at)


def sleep10ms() -> None:
    time.sleep(0.01)
    done()
