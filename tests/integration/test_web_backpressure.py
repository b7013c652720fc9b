"""Backpressure: past the concurrency limit a fast 503 problem with Retry-After; probes
and metrics still answer."""

from __future__ import annotations

import concurrent.futures
import time

import httpx

from tests.integration.web_support import http_metrics
from tests.servers import ServerFactory, assert_problem, wait_until


def test_past_the_limit_requests_get_a_fast_503(server: ServerFactory) -> None:
    api = server("--no-workers", "--max-concurrent-requests", "2")
    task = api.submit({"type": "echo"})  # stays pending: no workers
    slow = f"{api.base_url}/tasks/{task['id']}?wait=3"
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        waits = [pool.submit(httpx.get, slow, timeout=10) for _ in range(2)]
        wait_until(lambda: http_metrics(api)["in_flight"] == 3, 5, "2 waits in flight")

        started = time.monotonic()
        refused = api.get(f"/tasks/{task['id']}")
        took = time.monotonic() - started
        body = assert_problem(refused, 503)
        assert refused.headers["retry-after"] == "1"
        assert body["type"] == "/problems/overloaded"
        assert took < 1.0
        assert_problem(api.post("/tasks", json={"type": "echo"}), 503)  # the fast path too

        assert api.get("/health").status_code == 200
        assert api.get("/ready").status_code == 200
        shown = http_metrics(api)
        assert shown["shed_total"] == 2
        assert shown["max_concurrent_requests"] == 2
        assert shown["responses"]["503"] == 2
        assert all(w.result().status_code == 200 for w in waits)
    assert api.get(f"/tasks/{task['id']}").status_code == 200  # room again
    assert api.total() == 1  # the refused submit stored nothing


def test_zero_means_unlimited(server: ServerFactory) -> None:
    api = server("--no-workers", env={"CONVEYOR_MAX_CONCURRENT_REQUESTS": "0"})
    task = api.submit({"type": "echo"})
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        waits = [
            pool.submit(httpx.get, f"{api.base_url}/tasks/{task['id']}?wait=1", timeout=10)
            for _ in range(8)
        ]
        assert all(w.result().status_code == 200 for w in waits)
    shown = http_metrics(api)
    assert shown["shed_total"] == 0
    assert shown["max_concurrent_requests"] == 0
