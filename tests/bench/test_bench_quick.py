"""`make bench QUICK=1` runs end to end, so the harness cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / "bench" / ".venv" / "bin" / "python"


@pytest.mark.timeout(600)  # eight systems' workers start and stop in turn
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
    expected = {
        "conveyor-sqlite-full",
        "conveyor-sqlite-normal",
        "conveyor-redis",
        "huey",
        "dramatiq",
        "rq",
        "celery",
        "arq",
        "saq",
    }
    assert set(report["medians"]) == expected
    for system, workloads in report["medians"].items():
        assert set(workloads) == {"enqueue", "drain", "latency", "io"}, system
        assert workloads["drain"]["tasks_per_s"] > 0
        assert workloads["latency"]["p50_ms"] > 0
    assert written.with_suffix(".png").stat().st_size > 10_000
    assert "conveyor-sqlite-full vs best" in written.with_suffix(".md").read_text()
