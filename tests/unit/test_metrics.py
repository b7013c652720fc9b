"""Metrics: Prometheus negotiation and the JSON snapshot's percentiles."""

from __future__ import annotations

import pytest

from conveyor.api.system import wants_prometheus
from conveyor.config import redact
from conveyor.metrics import Metrics


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", (False, False)),
        ("application/json", (False, False)),
        ("*/*", (False, False)),
        ("text/plain;version=0.0.4;q=0.5,*/*;q=0.1", (True, False)),
        ("application/openmetrics-text;version=1.0.0,text/plain;q=0.5", (True, True)),
    ],
)
def test_accept_header_negotiation(accept: str, expected: tuple[bool, bool]) -> None:
    assert wants_prometheus(accept) == expected


def test_snapshot_percentiles_follow_observations() -> None:
    metrics = Metrics()
    for _ in range(90):
        metrics.run_seconds.labels("t").observe(0.002)
    for _ in range(10):
        metrics.run_seconds.labels("t").observe(2.0)
    summary = metrics.snapshot()["run_seconds"]
    assert summary["count"] == 100
    assert 0.001 <= summary["p50"] <= 0.0025
    assert 1.0 <= summary["p99"] <= 2.5


def test_prometheus_text_has_our_series() -> None:
    metrics = Metrics()
    metrics.submitted.labels("add").inc(3)
    body, content_type = metrics.prometheus(openmetrics=False)
    assert b'conveyor_tasks_submitted_total{type="add"} 3.0' in body
    assert content_type.startswith("text/plain")
    assert b"_created" not in body


def test_redact_hides_passwords() -> None:
    assert redact("redis://user:secret@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact("sqlite:///conveyor.db") == "sqlite:///conveyor.db"
