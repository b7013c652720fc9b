"""Workload 5, HTTP: `POST /tasks` with one task and with 100 tasks per request, driven by
`wrk` at 16 and 64 connections, against `conveyor serve --no-workers` and against the
same route in a raw ASGI app that stores nothing (the ceiling).

A run with any non-2xx answer or socket error is a failed run, not a figure; afterwards
Conveyor must hold at least every task wrk saw acknowledged. Besides wrk's figures, the
server's CPU time per request (all its threads, from /proc) says what each request costs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import servers
from bench.procfs import cpu_seconds
from bench.sizes import Sizes
from bench.systems.base import Skipped, System
from bench.systems.ceiling_sys import Ceiling
from bench.systems.conveyor_sys import ConveyorSQLite

WRK_SCRIPTS = Path(__file__).parent / "wrk"
SHAPES = {"one": ("submit_one.lua", 1), "hundred": ("submit_hundred.lua", 100)}
CONNECTIONS = (16, 64)
WRK_THREADS = 1
"""One wrk thread leaves the other core to the server (uvicorn's loop and SQLite's
writer thread): on this 2-core machine -t1 measured at least as high as -t2."""
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    p99_ms: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds


def _ms(number: str, unit: str) -> float:
    return float(number) * _UNITS_MS[unit]


def run_wrk(url: str, script: str, connections: int, seconds: int) -> WrkRun:
    """One wrk run; raises if any request failed (non-2xx, or a socket error)."""
    done = subprocess.run(
        ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "--latency", "-s", str(WRK_SCRIPTS / script), url],
        capture_output=True, text=True, timeout=seconds + 60, check=False,
    )  # fmt: skip
    out = done.stdout
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if done.returncode or failed or (sockets and any(int(n) for n in sockets.groups())):
        raise RuntimeError(f"wrk {script} -c{connections}: failed requests\n{out}{done.stderr}")
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m|h)", out)
    if total is None or p99 is None or not int(total.group(1)):
        raise RuntimeError(f"no requests answered, or unexpected wrk output:\n{out}")
    return WrkRun(
        int(total.group(1)), _ms(total.group(2), total.group(3)) / 1000, _ms(*p99.groups())
    )


def _stored(base: str) -> int:
    tasks = httpx.get(f"{base}/status", timeout=30).json()["tasks"]
    return sum(int(n) for n in tasks.values())


def _server(system: System, workdir: Path) -> tuple[servers.Server, str]:
    if isinstance(system, ConveyorSQLite):
        system.forget("http")
        return servers.conveyor_serve(system.scratch_url("http"), workdir, "--no-workers")
    if isinstance(system, Ceiling):
        return servers.ceiling(workdir)
    raise TypeError(f"{system.name} has no HTTP submit route")


def http(system: System, sizes: Sizes) -> dict[str, float]:
    """Requests/s, tasks/s, p99 and server CPU per request for each (shape, connections),
    one server for all four runs."""
    if shutil.which("wrk") is None:
        raise Skipped("wrk is not installed (Debian: apt-get install wrk)")
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-http-") as tmp:
        server, base = _server(system, Path(tmp))
        try:
            with server:
                url = f"{base}/tasks"
                warm_s = max(1, sizes.http_seconds // 5)
                acknowledged = run_wrk(url, "submit_one.lua", CONNECTIONS[0], warm_s).requests
                for shape, (script, per_request) in SHAPES.items():
                    for connections in CONNECTIONS:
                        cpu_s = cpu_seconds(server.pid)
                        run = run_wrk(url, script, connections, sizes.http_seconds)
                        cpu_s = cpu_seconds(server.pid) - cpu_s
                        acknowledged += run.requests * per_request
                        key = f"{shape}_c{connections}"
                        result[f"{key}_requests_per_s"] = run.requests_per_s
                        result[f"{key}_tasks_per_s"] = run.requests_per_s * per_request
                        result[f"{key}_p99_ms"] = run.p99_ms
                        # robust where wall-clock figures are not (a shared machine)
                        result[f"{key}_cpu_us_per_request"] = cpu_s / run.requests * 1e6
                if isinstance(system, ConveyorSQLite) and (stored := _stored(base)) < acknowledged:
                    raise RuntimeError(f"{acknowledged} tasks acknowledged, {stored} stored")
        finally:
            if isinstance(system, ConveyorSQLite):
                system.forget("http")
    return result
