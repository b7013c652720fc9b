"""`make bench`: every workload for Conveyor and each peer, interleaved repetitions,
medians, ratios to the best peer (and, for HTTP, to the raw-ASGI ceiling); JSON,
markdown and a PNG in bench/results/."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from bench.report import durability_table, http_table, memory_table, ratios_table, write_chart
from bench.sizes import QUICK, Sizes
from bench.systems.base import Skipped, System
from bench.systems.ceiling_sys import Ceiling
from bench.systems.conveyor_sys import ConveyorRedis, ConveyorRedisAof, ConveyorSQLite
from bench.systems.peers import RQ, Arq, Celery, Dramatiq, Huey, Saq
from bench.workloads import WORKLOADS

RESULTS = Path(__file__).parent / "results"
PEERS = ("celery", "rq", "dramatiq", "huey", "arq", "saq")


def systems() -> list[System]:
    return [
        ConveyorSQLite("FULL"),
        ConveyorSQLite("NORMAL"),
        ConveyorRedis(),
        ConveyorRedisAof(),
        Huey(),
        Dramatiq(),
        RQ(),
        Celery(),
        Arq(),
        Saq(),
        Ceiling(),
    ]


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "versions": {name: version(name) for name in ("conveyor", *PEERS, "redis")},
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = {key for run in runs for key in run if isinstance(run[key], int | float)}
    return {key: statistics.median(run[key] for run in runs if key in run) for key in keys}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="tiny counts, one repetition")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", help="comma-separated system names")
    parser.add_argument("--workloads", help="comma-separated: " + ",".join(WORKLOADS))
    options = parser.parse_args()
    sizes = QUICK if options.quick else Sizes()
    reps = 1 if options.quick else options.reps
    chosen = [s for s in systems() if not options.only or s.name in options.only.split(",")]
    wanted = options.workloads.split(",") if options.workloads else list(WORKLOADS)
    plan = {s.name: [w for w in wanted if w in s.workloads] for s in chosen}
    chosen = [s for s in chosen if plan[s.name]]
    console = Console(width=200)
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {
        s.name: {w: [] for w in plan[s.name]} for s in chosen
    }
    failures: list[dict[str, str]] = []
    skipped: dict[str, str] = {}  # workload -> why it could not run here
    opened: list[System] = []
    try:
        for system in chosen:
            system.open()
            opened.append(system)
        with Progress(console=console) as progress:
            steps = reps * sum(len(w) for w in plan.values())
            bar = progress.add_task("benchmarks", total=steps)
            for rep in range(reps):  # interleaved: every system once, then again
                for system in chosen:
                    for workload in plan[system.name]:
                        progress.update(bar, description=f"rep {rep + 1}: {system.name} {workload}")
                        try:
                            raw[system.name][workload].append(WORKLOADS[workload](system, sizes))
                        except Skipped as why:
                            skipped[workload] = str(why)
                        except Exception as exc:  # recorded, never a hang
                            failures.append(
                                {
                                    "system": system.name,
                                    "workload": workload,
                                    "error": f"{type(exc).__name__}: {exc}",
                                }
                            )
                        progress.advance(bar)
    finally:
        for system in opened:
            system.close()
    medians = {
        name: {w: median_of(runs) for w, runs in by_w.items() if runs}
        for name, by_w in raw.items()
        if any(by_w.values())  # a system whose every workload was skipped has no row
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = RESULTS / "quick" if options.quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    configs = {s.name: {w: s.config(w) for w in plan[s.name]} for s in chosen}
    durability = {s.name: s.durability for s in chosen}
    report = {
        "when": stamp,
        "quick": options.quick,
        "sizes": sizes.__dict__,
        "reps": reps,
        "machine": machine(),
        "configs": configs,
        "durability": durability,
        "raw": raw,
        "medians": medians,
        "failures": failures,
        "skipped": skipped,
    }
    (folder / f"{stamp}.json").write_text(json.dumps(report, indent=2))
    sections = [
        (
            "Queue workloads (1-4): Conveyor and the peers",
            ratios_table(medians, durability, configs),
        ),
        ("HTTP submit (5)", http_table(medians)),
        ("Durability price (6)", durability_table(medians, durability)),
        ("Memory (7)", memory_table(medians)),
    ]
    markdown = "\n".join(f"#### {title}\n\n{body}" for title, body in sections if body)
    (folder / f"{stamp}.md").write_text(markdown)
    write_chart(medians, folder / f"{stamp}.png")
    console.print(markdown)
    for workload, why in skipped.items():
        console.print(f"[yellow]skipped {workload}:[/yellow] {why}")
    for failure in failures:
        console.print(f"[red]failed:[/red] {failure}")
    console.print(f"results: {folder / stamp}.json .md .png")


if __name__ == "__main__":
    main()
