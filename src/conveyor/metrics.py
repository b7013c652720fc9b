"""One metrics registry per process: it feeds /metrics (Prometheus or JSON) and the dashboard."""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.openmetrics.exposition import (
    CONTENT_TYPE_LATEST as OPENMETRICS_CONTENT_TYPE,
)
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from conveyor.task import JSONObject

_SECONDS_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)


class Metrics:
    """Counters and histograms this process updates, plus gauges set from backend stats."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` series double the output and nobody graphs them
        self.registry = CollectorRegistry(auto_describe=True)
        self.started = time.time()
        self.submitted = Counter(
            "conveyor_tasks_submitted", "Tasks accepted", ["type"], registry=self.registry
        )
        self.finished = Counter(
            "conveyor_tasks_finished",
            "Task outcomes recorded by workers",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "conveyor_task_run_seconds",
            "Handler run time",
            ["type"],
            buckets=_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.wait_seconds = Histogram(
            "conveyor_task_queue_wait_seconds",
            "Time from due to started",
            buckets=_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.tasks = Gauge(
            "conveyor_tasks",
            "Tasks by status (from the backend)",
            ["status"],
            registry=self.registry,
        )
        self.workers = Gauge(
            "conveyor_workers", "Worker processes seen recently", registry=self.registry
        )
        self.lost_leases = Counter(
            "conveyor_leases_lost", "Outcomes discarded for a lost lease", registry=self.registry
        )

    def set_task_counts(self, by_status: dict[str, int]) -> None:
        for status, count in by_status.items():
            self.tasks.labels(status).set(count)

    def prometheus(self, openmetrics: bool) -> tuple[bytes, str]:
        if openmetrics:
            text: bytes = generate_openmetrics(self.registry)  # type: ignore[no-untyped-call]
            return text, OPENMETRICS_CONTENT_TYPE
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def snapshot(self) -> JSONObject:
        """A JSON view of the same numbers, for curl users and the dashboard."""
        totals: dict[str, float] = {}
        for sample in _samples(self.registry, "conveyor_tasks_finished_total"):
            outcome = sample[0]["outcome"]
            totals[outcome] = totals.get(outcome, 0) + sample[1]
        submitted = sum(
            value for _, value in _samples(self.registry, "conveyor_tasks_submitted_total")
        )
        return {
            "uptime_seconds": round(time.time() - self.started, 3),
            "submitted_total": submitted,
            "finished_total": totals,
            "run_seconds": _histogram_summary(self.registry, "conveyor_task_run_seconds"),
            "queue_wait_seconds": _histogram_summary(
                self.registry, "conveyor_task_queue_wait_seconds"
            ),
            "leases_lost_total": self.lost_leases._value.get(),
        }


def _samples(registry: CollectorRegistry, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in registry.collect()
        for sample in family.samples
        if sample.name == name
    ]


def _histogram_summary(registry: CollectorRegistry, name: str) -> JSONObject:
    """Count, sum and bucket-interpolated p50/p95/p99 over all label sets."""
    buckets: dict[float, float] = {}
    count = total = 0.0
    for labels, value in _samples(registry, f"{name}_bucket"):
        bound = float(labels["le"])
        buckets[bound] = buckets.get(bound, 0.0) + value
    for _, value in _samples(registry, f"{name}_count"):
        count += value
    for _, value in _samples(registry, f"{name}_sum"):
        total += value
    bounds = sorted(buckets)
    return {
        "count": count,
        "sum": round(total, 6),
        "p50": _quantile(bounds, buckets, count, 0.50),
        "p95": _quantile(bounds, buckets, count, 0.95),
        "p99": _quantile(bounds, buckets, count, 0.99),
    }


def _quantile(
    bounds: Sequence[float], cumulative: dict[float, float], count: float, q: float
) -> float | None:
    if count == 0:
        return None
    rank = q * count
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        upper_count = cumulative[bound]
        if upper_count >= rank:
            if bound == float("inf"):
                return lower_bound
            span = upper_count - lower_count
            fraction = (rank - lower_count) / span if span else 1.0
            return round(lower_bound + (bound - lower_bound) * fraction, 6)
        lower_bound, lower_count = bound, upper_count
    return lower_bound
