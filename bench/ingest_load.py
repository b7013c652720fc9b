"""Ingestion figures: records per second acknowledged durably (each 201 means fsync'd),
one record per request and 100 per request, driven by `wrk` at 16 and 64 connections
against a fresh `conveyor serve --no-workers` on loopback. Medians of three runs; after
each run the CSV is counted, so a figure never includes a record that is not on disk.

    bench/.venv/bin/python -m bench.ingest_load [--seconds 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.web_load import serve

WRK = Path(__file__).resolve().parent / "wrk"
SHAPES = {"1 per request": ("ingest_one.lua", 1), "100 per request": ("ingest_hundred.lua", 100)}


def run(workdir: Path, script: str, per_request: int, connections: int, seconds: int) -> float:
    # A queue that holds every connection's batch: 64 x 100 records would pass the
    # default 5,000 and be refused with 503s by design, which is not what this measures.
    with serve(workdir, "--ingest-queue-size", "100000") as (base, _):
        done = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(WRK / script),
             f"{base}/data"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        )  # fmt: skip
    if "Non-2xx" in done.stdout:
        raise RuntimeError(f"refused or failed requests:\n{done.stdout}")
    requests = int(re.search(r"(\d+) requests in", done.stdout).group(1))  # type: ignore[union-attr]
    elapsed = float(re.search(r"requests in ([\d.]+)s", done.stdout).group(1))  # type: ignore[union-attr]
    csv_file = workdir / "ingest" / "data.csv"
    rows = csv_file.read_bytes().count(b"\n") - 1  # the rows hold no newlines here
    csv_file.unlink()
    # wrk may count a request it sent but did not see answered: the file is the truth.
    assert rows >= requests * per_request, (rows, requests)
    return requests * per_request / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conveyor-ingest-bench-") as tmp:
        for name, (script, per_request) in SHAPES.items():
            for connections in (16, 64):
                rates = [
                    run(Path(tmp), script, per_request, connections, options.seconds)
                    for _ in range(3)
                ]
                print(
                    f"{name}, {connections} connections: median"
                    f" {statistics.median(rates):,.0f} records/s"
                    f" (runs {', '.join(f'{r:,.0f}' for r in rates)})"
                )


if __name__ == "__main__":
    main()
