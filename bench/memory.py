"""Workload 7, memory: the RSS of one `conveyor serve` on SQLite and of its worker child
processes while 1,000,000 no-op tasks go through it: submitted over HTTP in batches of
1,000 (`POST /tasks {"tasks": [...]}`), drained by its workers, and purged
RETENTION_S after they finish (each worker process purges every `reap_interval_seconds`,
2 s, up to 10 x 1,000 rows a round). RSS is read from /proc every SAMPLE_S.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import servers
from bench.procfs import descendants, rss_kib
from bench.sizes import Sizes
from bench.systems.base import System
from bench.systems.conveyor_sys import ConveyorSQLite

RETENTION_S = 5
SAMPLE_S = 0.5
LIMIT_S = 3600.0
"""The whole run's bound (1,000,000 tasks take a few minutes at this machine's drain)."""
WARM_SHARE = 0.1
"""RSS once this share of the tasks was submitted: imports, caches and SQLite's page cache
(64 MiB a connection) fill at first; growth past this point is what would be a leak."""


@dataclass(frozen=True)
class Sample:
    at_s: float
    submitted: int
    server_kib: int
    children_kib: int
    children: int


class Sampler(threading.Thread):
    """Samples the server's and its children's RSS until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.pid = pid
        self.submitted = 0
        self.samples: list[Sample] = []
        self.started = time.monotonic()
        self._halt = threading.Event()  # not _stop: Thread has one

    def sample(self) -> Sample:
        children = descendants(self.pid)
        sample = Sample(
            time.monotonic() - self.started,
            self.submitted,
            rss_kib(self.pid),
            sum(rss_kib(child) for child in children),
            len(children),
        )
        self.samples.append(sample)
        return sample

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_S):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


def _counts(client: httpx.Client) -> dict[str, int]:
    return {k: int(v) for k, v in client.get("/status").json()["tasks"].items()}


def _wait(what: str, done: bool, deadline: float) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(f"{what} not done within {LIMIT_S:g} s")
    if not done:
        time.sleep(0.2)


def _series(samples: list[Sample], points: int = 100) -> list[list[float]]:
    """[seconds, tasks submitted, server MB, children MB], about `points` of them."""
    step = max(1, len(samples) // points)
    return [
        [
            round(s.at_s, 1),
            s.submitted,
            round(s.server_kib / 1024, 1),
            round(s.children_kib / 1024, 1),
        ]
        for s in samples[::step]
    ]


def memory(system: System, sizes: Sizes) -> dict[str, Any]:
    """RSS start/warm/peak/end (MB) of the server, its children and both together; the
    series over time goes into the JSON (not into medians)."""
    if not isinstance(system, ConveyorSQLite):
        raise TypeError(f"{system.name}: the memory workload runs `conveyor serve` on SQLite")
    batch = orjson.dumps({"tasks": [{"type": "echo", "payload": {}}] * sizes.memory_batch})
    headers = {"content-type": "application/json"}
    deadline = time.monotonic() + LIMIT_S
    finished_peak = 0
    system.forget("memory")
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-memory-") as tmp:
        server, base = servers.conveyor_serve(
            system.scratch_url("memory"),
            Path(tmp),
            env={"CONVEYOR_RETENTION_SECONDS": str(RETENTION_S)},
        )
        sampler = Sampler(server.pid)
        try:
            with server, httpx.Client(base_url=base, timeout=60) as client:
                time.sleep(2)  # the worker children start and settle
                start = sampler.sample()
                sampler.start()
                began = time.monotonic()
                warm: Sample | None = None
                while sampler.submitted < sizes.memory:
                    answer = client.post("/tasks", content=batch, headers=headers)
                    if answer.status_code != 201:
                        raise RuntimeError(f"submit answered {answer.status_code}: {answer.text}")
                    sampler.submitted += sizes.memory_batch
                    if warm is None and sampler.submitted >= sizes.memory * WARM_SHARE:
                        warm = sampler.sample()
                    while True:  # a bounded backlog: the tasks go through, not pile up
                        counts = _counts(client)
                        finished_peak = max(finished_peak, counts.get("completed", 0))
                        ready = counts.get("pending", 0) <= sizes.memory_backlog
                        _wait("submitting", ready, deadline)
                        if ready:
                            break
                while True:
                    counts = _counts(client)
                    finished_peak = max(finished_peak, counts.get("completed", 0))
                    idle = counts.get("pending", 0) + counts.get("processing", 0) == 0
                    _wait("draining", idle, deadline)
                    if idle:
                        break
                drained_s = time.monotonic() - began
                if counts.get("failed", 0) or counts.get("canceled", 0):
                    raise RuntimeError(f"no-op tasks did not all complete: {counts}")
                while (left := _counts(client).get("completed", 0)) > 0:
                    _wait(f"purging ({left} finished tasks left)", False, deadline)
                purged_s = time.monotonic() - began - drained_s
                time.sleep(2)
                end = sampler.sample()
                database = sum(p.stat().st_size for p in system.folder.glob("memory.db*"))
        finally:
            sampler.stop()
            system.forget("memory")
    assert warm is not None
    samples = sampler.samples
    mb = 1024.0
    return {
        "series": _series(samples),
        "tasks": float(sizes.memory),
        "retention_s": float(RETENTION_S),
        "drained_s": drained_s,
        "tasks_per_s": sizes.memory / drained_s,
        "purge_after_drain_s": purged_s,
        "finished_rows_peak": float(finished_peak),
        "database_mb": database / 1e6,
        "children": float(max(s.children for s in samples)),
        "server_start_mb": start.server_kib / mb,
        "server_warm_mb": warm.server_kib / mb,
        "server_peak_mb": max(s.server_kib for s in samples) / mb,
        "server_end_mb": end.server_kib / mb,
        "children_start_mb": start.children_kib / mb,
        "children_warm_mb": warm.children_kib / mb,
        "children_peak_mb": max(s.children_kib for s in samples) / mb,
        "children_end_mb": end.children_kib / mb,
        "total_start_mb": (start.server_kib + start.children_kib) / mb,
        "total_warm_mb": (warm.server_kib + warm.children_kib) / mb,
        "total_peak_mb": max(s.server_kib + s.children_kib for s in samples) / mb,
        "total_end_mb": (end.server_kib + end.children_kib) / mb,
    }
