"""The workloads, defined once and run the same way for every system that takes part;
HTTP (`http_submit.py`) and memory (`memory.py`) are Conveyor's own."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench import probe
from bench.http_submit import http
from bench.memory import memory
from bench.sizes import Sizes
from bench.systems.base import System, Workers

WAIT_LIMIT_S = 300.0


def _start_workers(system: System, workload: str) -> Workers:
    return Workers(system.worker_commands(workload), system.worker_env())


def _wait_done(count: int, limit_s: float = WAIT_LIMIT_S) -> None:
    deadline = time.monotonic() + limit_s
    while probe.completed() < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {probe.completed()} of {count} tasks done in {limit_s:g} s")
        time.sleep(0.005)


def _warm(system: System) -> None:
    """Let the workers start and run a few tasks before measuring."""
    probe.reset()
    system.enqueue_many("noop", [{} for _ in range(10)])
    _wait_done(10, 60)
    probe.reset()


def enqueue(system: System, sizes: Sizes) -> dict[str, Any]:
    system.clear()
    started = time.perf_counter()
    for _ in range(sizes.enqueue):
        system.enqueue("noop", {})
    one = sizes.enqueue / (time.perf_counter() - started)
    result: dict[str, Any] = {"tasks_per_s": one}
    if system.has_bulk:
        system.clear()
        started = time.perf_counter()
        system.enqueue_many("noop", [{} for _ in range(sizes.enqueue)])
        result["bulk_tasks_per_s"] = sizes.enqueue / (time.perf_counter() - started)
    system.clear()
    return result


def drain(system: System, sizes: Sizes) -> dict[str, Any]:
    system.clear()
    probe.reset()
    system.enqueue_many("noop", [{} for _ in range(sizes.drain)])
    started = time.perf_counter()
    workers = _start_workers(system, "drain")
    try:
        _wait_done(sizes.drain)
        elapsed = time.perf_counter() - started
    finally:
        workers.stop()
    return {"tasks_per_s": sizes.drain / elapsed, "seconds": elapsed}


def latency(system: System, sizes: Sizes) -> dict[str, Any]:
    system.clear()
    workers = _start_workers(system, "latency")
    try:
        _warm(system)
        interval = 1.0 / sizes.latency_rate
        begin = time.perf_counter()
        for n in range(sizes.latency):  # open loop: on schedule, not after the last one
            delay = begin + n * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            system.enqueue("stamp", {"submitted_at": time.time()})
        _wait_done(sizes.latency)
    finally:
        workers.stop()
    values = sorted(probe.latencies_ms())
    return {
        "p50_ms": statistics.median(values),
        "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
        "max_ms": values[-1],
    }


def io(system: System, sizes: Sizes) -> dict[str, Any]:
    system.clear()
    workers = _start_workers(system, "io")
    try:
        _warm(system)
        started = time.perf_counter()
        system.enqueue_many("sleep10ms", [{} for _ in range(sizes.io)])
        _wait_done(sizes.io)
        wall = time.perf_counter() - started
    finally:
        workers.stop()
    return {"wall_s": wall}


WORKLOADS: dict[str, Callable[[System, Sizes], dict[str, Any]]] = {
    "enqueue": enqueue,
    "drain": drain,
    "latency": latency,
    "io": io,
    "http": http,
    "memory": memory,
}
