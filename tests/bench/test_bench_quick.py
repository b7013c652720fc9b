"""`make bench QUICK=1` runs end to end, so the harness cannot rot: every system, every
workload it takes part in (HTTP, durability variants, memory included), every table."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / "bench" / ".venv" / "bin" / "python"


@pytest.mark.timeout(600)  # eleven systems' workers and servers start and stop in turn
def test_quick_bench_measures_every_system_and_workload() -> None:
    if not PYTHON.exists():
        message = "bench/.venv is missing: run `make bench-install` (CI does)"
        if os.environ.get("CONVEYOR_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    folder = ROOT / "bench" / "results" / "quick"
    before = set(folder.glob("*.json")) if folder.exists() else set()
    run = subprocess.run(
        [str(PYTHON), "-m", "bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    [written] = set(folder.glob("*.json")) - before
    report = json.loads(written.read_text())
    assert report["failures"] == []
    queue = {"enqueue", "drain", "latency", "io"}
    expected = {
        "conveyor-sqlite-full": queue | {"http", "memory"},
        "conveyor-sqlite-normal": queue | {"http"},
        "conveyor-redis": queue | {"http"},
        "conveyor-redis-aof": {"enqueue", "drain"},
        "huey": queue,
        "dramatiq": queue,
        "rq": queue,
        "celery": queue,
        "arq": queue,
        "saq": queue,
        "raw-asgi-ceiling": {"http"},
    }
    skipped = set(report["skipped"])
    assert skipped <= {"http"}, report["skipped"]  # only for want of wrk, said so
    expected = {name: ws - skipped for name, ws in expected.items() if ws - skipped}
    assert {name: set(ws) for name, ws in report["medians"].items()} == expected
    for system, workloads in report["medians"].items():
        if "drain" in workloads:
            assert workloads["drain"]["tasks_per_s"] > 0, system
        if "latency" in workloads:
            assert workloads["latency"]["p50_ms"] > 0, system
        if "http" in workloads:
            assert workloads["http"]["hundred_c64_tasks_per_s"] > 0, system
    memory = report["medians"]["conveyor-sqlite-full"]["memory"]
    assert 0 < memory["total_start_mb"] <= memory["total_peak_mb"]
    assert memory["children"] >= 1
    markdown = written.with_suffix(".md").read_text()
    assert "conveyor-sqlite-full vs best" in markdown
    assert "what a power cut loses" in markdown
    assert "| RSS (MB) |" in markdown
    if "http" not in skipped:
        assert "requests/s vs ceiling" in markdown
        assert "| conveyor-redis | 100 tasks per request | 64 |" in markdown
    assert written.with_suffix(".png").stat().st_size > 10_000
