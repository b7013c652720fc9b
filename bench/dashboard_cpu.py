"""What open dashboards cost: the server's CPU over a stretch with no dashboard open, then
with N event streams open (each reading every snapshot), on an idle
`conveyor serve --no-workers`. Medians of three runs.

    .venv/bin/python -m bench.dashboard_cpu [--streams 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.procfs import cpu_seconds
from bench.web_load import serve


def cpu_percent(pid: int, seconds: float) -> float:
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - started)


def run(workdir: Path, streams: int, seconds: float) -> tuple[float, float, int]:
    """(idle CPU %, CPU % with the streams open, snapshots the streams read)."""
    with serve(workdir) as (base, pid):
        time.sleep(2)  # past start-up
        idle = cpu_percent(pid, seconds)
        stop = threading.Event()
        received = [0] * streams

        def watch(slot: int) -> None:
            with (
                httpx.Client(base_url=base, timeout=30) as client,
                client.stream("GET", "/dashboard/events") as response,
            ):
                for line in response.iter_lines():
                    if line.startswith("event: snapshot"):
                        received[slot] += 1
                    if stop.is_set():
                        return

        threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(streams)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        watched = cpu_percent(pid, seconds)
        stop.set()
        for thread in threads:
            thread.join(5)
    return idle, watched, sum(received)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conveyor-dashboard-bench-") as tmp:
        runs = [run(Path(tmp), options.streams, options.seconds) for _ in range(3)]
    idle = statistics.median(r[0] for r in runs)
    watched = statistics.median(r[1] for r in runs)
    print(
        f"server CPU, median of 3 x {options.seconds:g} s: idle {idle:.2f}%,"
        f" with {options.streams} dashboards {watched:.2f}%"
        f" (+{watched - idle:.2f} points; snapshots read: {[r[2] for r in runs]})"
    )


if __name__ == "__main__":
    main()
