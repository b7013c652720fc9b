"""Request metrics: what /metrics (JSON and Prometheus) says matches what was sent."""

from __future__ import annotations

import concurrent.futures
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.web_support import DESKTOP, GOOGLEBOT, IPAD, IPHONE, http_metrics
from tests.servers import Server, ServerFactory, wait_until

UNKNOWN_ID = "0192f0a0-0000-7000-8000-000000000000"


@pytest.fixture
def api(server: ServerFactory, tmp_path: Path) -> Server:
    static = tmp_path / "static"
    static.mkdir()
    (static / "a.txt").write_text("a")
    return server("--no-workers", "--static-dir", str(static))


def _delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, int]:
    return {
        key: after.get(key, 0) - before.get(key, 0)
        for key in set(after) | set(before)
        if after.get(key, 0) != before.get(key, 0)
    }


def test_counts_by_status_device_and_route_match_what_was_sent(api: Server) -> None:
    sent: list[tuple[str, str, str, dict[str, Any], int, str]] = [
        # (user agent, method, path, request options, expected status, route)
        (DESKTOP, "GET", "/health", {}, 200, "/health"),
        (DESKTOP, "GET", "/static/a.txt", {}, 200, "/static/{path}"),
        (DESKTOP, "POST", "/tasks", {"json": {"type": "no-such-type"}}, 422, "/tasks"),
        (IPHONE, "POST", "/tasks", {"json": {"type": "echo"}}, 201, "/tasks"),
        (IPHONE, "GET", f"/tasks/{UNKNOWN_ID}", {}, 404, "/tasks/{task_id}"),
        (IPHONE, "GET", "/static/missing.txt", {}, 404, "/static/{path}"),
        (IPAD, "POST", "/tasks", {"content": b"{not json"}, 400, "/tasks"),
        (IPAD, "GET", "/", {}, 200, "/"),
        (GOOGLEBOT, "GET", "/no/such/page", {}, 404, "unrouted"),
        (GOOGLEBOT, "GET", "/static/a.txt", {}, 200, "/static/{path}"),
        (GOOGLEBOT, "DELETE", "/health", {}, 405, "/health"),
    ]
    before = http_metrics(api)  # counted itself once it has answered
    with httpx.Client(base_url=api.base_url) as client:
        for agent, method, path, options, status, _ in sent:
            response = client.request(method, path, headers={"User-Agent": agent}, **options)
            assert response.status_code == status, (method, path, response.text)
    after = http_metrics(api)

    statuses = Counter(str(status) for *_, status, _ in sent)
    statuses["200"] += 1  # the first GET /metrics
    assert _delta(after["responses"], before["responses"]) == dict(statuses)
    assert after["requests_total"] - before["requests_total"] == len(sent) + 1
    assert _delta(after["devices"], before["devices"]) == {
        "desktop": 3,
        "mobile": 3,
        "tablet": 2,
        "bot": 3,
        "other": 1,  # the first GET /metrics, by httpx
    }
    routes = Counter(f"{method} {route}" for _, method, _, _, _, route in sent)
    routes["GET /metrics"] += 1
    counts = {
        key: after["routes"][key]["count"] - before["routes"].get(key, {"count": 0})["count"]
        for key in after["routes"]
    }
    assert {key: count for key, count in counts.items() if count} == dict(routes)
    assert after["in_flight"] == 1  # this request
    assert after["latency_seconds"]["count"] == after["requests_total"]
    assert not any(UNKNOWN_ID in key or "no/such" in key for key in after["routes"])

    text = api.get("/metrics", headers={"Accept": "text/plain"}).text
    after["responses"]["200"] += 1  # the second GET /metrics, by httpx
    after["devices"]["other"] += 1
    for status, count in after["responses"].items():
        assert f'conveyor_http_responses_total{{status="{status}"}} {float(count)}' in text
    for device, count in after["devices"].items():
        line = f'conveyor_http_requests_by_device_total{{device="{device}"}} {float(count)}'
        assert line in text
    count = 'conveyor_http_request_duration_seconds_count{method="GET",route="/tasks/{task_id}"}'
    assert f"{count} 1.0" in text


def test_in_flight_counts_open_requests(api: Server) -> None:
    task = api.submit({"type": "echo"})  # stays pending: no workers
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        waits = [
            pool.submit(httpx.get, f"{api.base_url}/tasks/{task['id']}?wait=2", timeout=10)
            for _ in range(3)
        ]
        wait_until(lambda: http_metrics(api)["in_flight"] == 4, 5, "3 waits in flight")
        assert all(w.result().status_code == 200 for w in waits)
    assert http_metrics(api)["in_flight"] == 1
