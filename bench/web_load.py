"""HTTP server figures: the cost of POST /tasks per request, and static files per second
with the file cache on and off. Each figure is the median of three runs, each on a fresh
`conveyor serve --no-workers` on loopback; loads are bounded in count or time.

    .venv/bin/python -m bench.web_load submit [--count 5000]
    .venv/bin/python -m bench.web_load static [--seconds 5] [--size 4096]
    .venv/bin/python -m bench.web_load middleware     # in-process: µs a request, no HTTP

`static` uses `wrk` (Debian's package) when it is installed, else a threaded httpx loop.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.procfs import cpu_seconds
from bench.servers import conveyor_serve

RUNS = 3


@contextmanager
def serve(workdir: Path, *args: str) -> Iterator[tuple[str, int]]:
    """A `conveyor serve --no-workers` on SQLite on a free loopback port: (base URL, pid)."""
    server, base = conveyor_serve(
        f"sqlite:///{workdir / 'bench.db'}", workdir, "--no-workers", *args
    )
    with server:
        yield base, server.pid


def submit_run(workdir: Path, count: int) -> tuple[float, float]:
    """(wall µs per POST, server CPU µs per POST) over `count` sequential submits."""
    body = b'{"type": "echo", "payload": {"n": 1}}'
    headers = {"content-type": "application/json"}
    with serve(workdir) as (base, pid), httpx.Client(base_url=base) as client:
        for _ in range(300):  # warm-up: imports, caches, the SQLite file
            client.post("/tasks", content=body, headers=headers)
        cpu = cpu_seconds(pid)
        started = time.perf_counter()
        for _ in range(count):
            response = client.post("/tasks", content=body, headers=headers)
            assert response.status_code == 201, response.text
        wall = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu
    (workdir / "bench.db").unlink(missing_ok=True)
    return wall / count * 1e6, cpu / count * 1e6


def static_run(base: str, path: str, seconds: int) -> float:
    """Requests per second for GET `path`, 16 connections for `seconds`."""
    if shutil.which("wrk"):
        done = subprocess.run(
            ["wrk", "-t2", "-c16", f"-d{seconds}s", f"{base}{path}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        )
        if "Non-2xx" in done.stdout:
            raise RuntimeError(done.stdout)
        match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
        assert match, done.stdout
        return float(match.group(1))
    deadline = time.monotonic() + seconds
    counts = [0] * 16
    lock = threading.Lock()

    def loop(slot: int) -> None:
        with httpx.Client(base_url=base) as client:
            while time.monotonic() < deadline:
                assert client.get(path).status_code == 200
                with lock:
                    counts[slot] += 1

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(loop, range(16)))
    return sum(counts) / (time.monotonic() - started)


def middleware_cost(count: int = 100_000) -> tuple[float, float]:
    """(µs a request of a bare ASGI handler, µs with conveyor.web's middleware around it),
    in this process: a POST /tasks scope answered 201 at once, no sockets."""
    import asyncio

    from starlette.routing import Router

    from conveyor.metrics import Metrics
    from conveyor.web.backpressure import ConcurrencyLimit
    from conveyor.web.devices import DeviceClassifier
    from conveyor.web.request_metrics import ROUTE_TEMPLATE, RequestMetrics
    from conveyor.web.sessions import SessionCookies, VisitorEstimate

    headers = [(b"content-type", b"application/json"), (b"content-length", b"20")]
    start = {"type": "http.response.start", "status": 201, "headers": headers}
    body = {"type": "http.response.body", "body": b"{}" * 10}

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        scope[ROUTE_TEMPLATE] = "/tasks"
        await send(start)
        await send(body)

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    async def per_request(app: Any) -> float:
        started = time.perf_counter()
        for _ in range(count):
            scope = {
                "type": "http",
                "method": "POST",
                "path": "/tasks",
                "scheme": "http",
                "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"python-httpx/0.28")],
            }
            await app(scope, receive, send)
        return (time.perf_counter() - started) / count * 1e6

    async def measure() -> tuple[float, float]:
        metrics = Metrics()
        devices = DeviceClassifier()
        devices.warm()
        stack = RequestMetrics(
            ConcurrencyLimit(SessionCookies(handler, VisitorEstimate()), 512, metrics),
            metrics,
            devices,
            Router(),
        )
        bare = [await per_request(handler) for _ in range(RUNS)]
        full = [await per_request(stack) for _ in range(RUNS)]
        return statistics.median(bare), statistics.median(full)

    return asyncio.run(measure())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["submit", "static", "middleware"])
    parser.add_argument("--count", type=int, default=5000, help="POSTs per run (submit)")
    parser.add_argument("--seconds", type=int, default=5, help="load per run (static)")
    parser.add_argument("--size", type=int, default=4096, help="file size in bytes (static)")
    options = parser.parse_args()
    if options.what == "middleware":
        bare, full = middleware_cost()
        print(f"in-process, median of {RUNS} x 100,000 requests:")
        print(
            f"  bare handler {bare:.2f} µs, with metrics, backpressure and sessions {full:.2f} µs"
        )
        print(f"  middleware cost {full - bare:.2f} µs a request")
        return
    with tempfile.TemporaryDirectory(prefix="conveyor-web-bench-") as tmp:
        workdir = Path(tmp)
        if options.what == "submit":
            runs = [submit_run(workdir, options.count) for _ in range(RUNS)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(f"POST /tasks x{options.count}, sequential, median of {RUNS}:")
            print(f"  wall {wall:.1f} µs/request, server CPU {cpu:.1f} µs/request")
            print(f"  runs (wall, cpu): {[(round(w, 1), round(c, 1)) for w, c in runs]}")
            return
        static = workdir / "static"
        static.mkdir()
        (static / "file.bin").write_bytes(os.urandom(options.size))
        results: dict[str, list[float]] = {"off": [], "on": []}
        with serve(workdir, "--static-dir", str(static)) as (base, _):
            for _ in range(RUNS):  # interleaved, so drift hits both alike
                for state in ("off", "on"):
                    answer = httpx.get(f"{base}/cache").json()
                    if answer["enabled"] != (state == "on"):
                        httpx.post(f"{base}/cache/toggle")
                    results[state].append(static_run(base, "/static/file.bin", options.seconds))
        tool = "wrk -t2 -c16" if shutil.which("wrk") else "httpx, 16 threads"
        print(f"GET /static/file.bin ({options.size} bytes), {tool}, {options.seconds} s x{RUNS}:")
        for state, values in results.items():
            print(
                f"  cache {state}: median {statistics.median(values):.0f} req/s"
                f" (runs {[round(v) for v in values]})"
            )


if __name__ == "__main__":
    main()
