"""One metrics registry per process: it feeds /metrics (Prometheus or JSON) and the dashboard."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import accumulate

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.openmetrics.exposition import (
    CONTENT_TYPE_LATEST as OPENMETRICS_CONTENT_TYPE,
)
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.registry import Collector

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
        self._http_series()

    def _http_series(self) -> None:
        """HTTP server series (conveyor.web), updated per request on the event loop."""
        self.http = HttpStats()
        self.registry.register(self.http)
        self.http_limit = Gauge(
            "conveyor_http_max_concurrent_requests",
            "Requests served at once before 503s (0: no limit)",
            registry=self.registry,
        )
        self.http_shed = Counter(
            "conveyor_http_requests_shed",
            "Requests refused with a 503 at the concurrency limit",
            registry=self.registry,
        )
        self.http_visitors = Gauge(
            "conveyor_http_unique_visitors",
            "Distinct session cookies seen by this process (an estimate)",
            registry=self.registry,
        )
        self.cache_enabled = Gauge(
            "conveyor_static_cache_enabled",
            "1 when the static file cache is on",
            registry=self.registry,
        )
        self.cache_entries = Gauge(
            "conveyor_static_cache_entries",
            "Files held by the static file cache",
            registry=self.registry,
        )
        self.cache_bytes = Gauge(
            "conveyor_static_cache_bytes",
            "Bytes held by the static file cache",
            registry=self.registry,
        )
        self.cache_hits = Counter(
            "conveyor_static_cache_hits", "Static files served from memory", registry=self.registry
        )
        self.cache_misses = Counter(
            "conveyor_static_cache_misses",
            "Static files served from disk while the cache was on",
            registry=self.registry,
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
            "http": self.http_snapshot(),
        }

    def http_snapshot(self) -> JSONObject:
        """The HTTP server's numbers: in flight, by status, device and route, cache."""
        hits = int(_value(self.cache_hits))
        misses = int(_value(self.cache_misses))
        return {
            "in_flight": self.http.in_flight,
            "max_concurrent_requests": int(_value(self.http_limit)),
            "requests_total": sum(self.http.responses.values()),
            "responses": {str(status): n for status, n in sorted(self.http.responses.items())},
            "devices": dict(self.http.devices),
            "shed_total": int(_value(self.http_shed)),
            "unique_visitors": int(_value(self.http_visitors)),
            "latency_seconds": self.http.latency_summary(),
            "routes": {
                f"{method} {route}": self.http.latency_summary((method, route))
                for method, route in sorted(self.http.latency)
            },
            "cache": {
                "enabled": bool(_value(self.cache_enabled)),
                "entries": int(_value(self.cache_entries)),
                "bytes": int(_value(self.cache_bytes)),
                "hits": hits,
                "misses": misses,
                "hit_ratio": round(hits / (hits + misses), 4) if hits + misses else None,
            },
        }


class HttpStats(Collector):
    """Per-request HTTP numbers as plain integers, updated on the event loop only: about
    1 µs a request, where prometheus_client's locked values cost 5. The registry reads
    them as a collector; names and types are those its own classes would give."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.responses: dict[int, int] = {}
        self.devices: dict[str, int] = {}
        self.latency: dict[tuple[str, str], list[float]] = {}
        """(method, route) -> a count per bucket of _SECONDS_BUCKETS then +Inf, then the sum."""

    def observe(self, method: str, route: str, status: int, device: str, seconds: float) -> None:
        self.responses[status] = self.responses.get(status, 0) + 1
        self.devices[device] = self.devices.get(device, 0) + 1
        counts = self.latency.get((method, route))
        if counts is None:
            counts = self.latency[(method, route)] = [0.0] * (len(_SECONDS_BUCKETS) + 2)
        counts[bisect_left(_SECONDS_BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def latency_summary(self, key: tuple[str, str] | None = None) -> JSONObject:
        """Count, sum, p50/p95/p99 of one (method, route), or of all."""
        rows = [self.latency[key]] if key is not None else list(self.latency.values())
        per_bucket = [sum(row[i] for row in rows) for i in range(len(_SECONDS_BUCKETS) + 1)]
        cumulative = dict(
            zip((*_SECONDS_BUCKETS, float("inf")), accumulate(per_bucket), strict=True)
        )
        return _summary(cumulative, sum(per_bucket), sum(row[-1] for row in rows))

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "conveyor_http_requests_in_flight",
            "Requests being served now (active clients)",
            value=self.in_flight,
        )
        responses = CounterMetricFamily(
            "conveyor_http_responses", "Responses by status code", labels=["status"]
        )
        for status, count in sorted(self.responses.items()):
            responses.add_metric([str(status)], count)
        yield responses
        devices = CounterMetricFamily(
            "conveyor_http_requests_by_device",
            "Requests by device type from the User-Agent",
            labels=["device"],
        )
        for device, count in self.devices.items():
            devices.add_metric([device], count)
        yield devices
        latency = HistogramMetricFamily(
            "conveyor_http_request_duration_seconds",
            "Time to serve a request, by method and route template",
            labels=["method", "route"],
        )
        bounds = [*(str(bound) for bound in _SECONDS_BUCKETS), "+Inf"]  # as Histogram writes them
        for (method, route), counts in sorted(self.latency.items()):
            buckets = list(zip(bounds, accumulate(counts[:-1]), strict=True))
            latency.add_metric([method, route], buckets, counts[-1])
        yield latency


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
    return _summary(buckets, count, total)


def _summary(buckets: dict[float, float], count: float, total: float) -> JSONObject:
    bounds = sorted(buckets)
    return {
        "count": count,
        "sum": round(total, 6),
        "p50": _quantile(bounds, buckets, count, 0.50),
        "p95": _quantile(bounds, buckets, count, 0.95),
        "p99": _quantile(bounds, buckets, count, 0.99),
    }


def _value(metric: Counter | Gauge) -> float:
    """The one sample of an unlabelled counter or gauge (a gauge's function, if set)."""
    for family in metric.collect():
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                return float(sample.value)
    return 0.0


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
