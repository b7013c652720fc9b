"""Request metrics in this process: a failing route is a counted 500; the series parse."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

from conveyor.api import problems
from conveyor.config import Settings
from conveyor.metrics import Metrics
from conveyor.web import install


async def test_an_unexpected_error_is_a_counted_500_problem() -> None:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom/{n}")
    async def boom(n: int) -> None:
        raise RuntimeError(f"boom {n}")

    metrics = Metrics()
    served = install(app, Settings(max_concurrent_requests=4), metrics, app)
    transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom/1")
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert (await client.get("/boom/2")).status_code == 500
    shown = metrics.http_snapshot()
    assert shown["responses"] == {"500": 2}
    assert shown["routes"]["GET /boom/{n}"]["count"] == 2
    assert shown["in_flight"] == 0


def test_http_series_parse_as_prometheus_and_openmetrics_text() -> None:
    metrics = Metrics()
    metrics.http.observe("GET", "/tasks/{task_id}", 404, "mobile", 0.003)
    metrics.http.observe("GET", "/tasks/{task_id}", 200, "mobile", 0.0005)
    metrics.http.observe("POST", "/tasks", 201, "desktop", 7.0)
    for openmetrics, parse in ((False, parse_prometheus), (True, parse_openmetrics)):
        body, _ = metrics.prometheus(openmetrics)
        samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in parse(body.decode())
            for sample in family.samples
        }

        def value(name: str, **labels: str) -> float:
            return samples[(name, frozenset(labels.items()))]  # noqa: B023

        assert value("conveyor_http_responses_total", status="404") == 1
        assert value("conveyor_http_requests_by_device_total", device="mobile") == 2
        assert value("conveyor_http_requests_in_flight") == 0
        route = {"method": "GET", "route": "/tasks/{task_id}"}
        assert value("conveyor_http_request_duration_seconds_count", **route) == 2
        assert value("conveyor_http_request_duration_seconds_bucket", le="0.0005", **route) == 1
        assert value("conveyor_http_request_duration_seconds_bucket", le="0.005", **route) == 2
        assert value("conveyor_http_request_duration_seconds_bucket", le="+Inf", **route) == 2
    shown = metrics.http_snapshot()
    assert shown["latency_seconds"]["count"] == 3
    assert 5.0 <= shown["routes"]["POST /tasks"]["p50"] <= 10.0
