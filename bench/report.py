"""The markdown table (with Conveyor's ratio to the best peer) and the PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# (workload, metric, label, higher is better)
METRICS = [
    ("enqueue", "tasks_per_s", "enqueue one by one (tasks/s)", True),
    ("enqueue", "bulk_tasks_per_s", "enqueue bulk (tasks/s)", True),
    ("drain", "tasks_per_s", "drain (tasks/s)", True),
    ("latency", "p50_ms", "latency p50 (ms)", False),
    ("latency", "p99_ms", "latency p99 (ms)", False),
    ("latency", "max_ms", "latency max (ms)", False),
    ("io", "wall_s", "io wall, 1,000 x 10 ms (s)", False),
]


CEILING = "raw-asgi-ceiling"
HTTP_SHAPES = {"one": "1 task per request", "hundred": "100 tasks per request"}
HTTP_CONNECTIONS = (16, 64)
# a durable setting -> the same backend with less durability (None: nothing to compare)
DURABILITY_PAIRS = {
    "conveyor-sqlite-full": "conveyor-sqlite-normal",
    "conveyor-sqlite-normal": None,
    "conveyor-redis-aof": "conveyor-redis",
    "conveyor-redis": None,
}


def _value(medians: dict[str, Any], system: str, workload: str, metric: str) -> float | None:
    value = medians.get(system, {}).get(workload, {}).get(metric)
    return None if value is None else float(value)


def ratios_table(
    medians: dict[str, Any], durability: dict[str, str], configs: dict[str, Any]
) -> str:
    systems = _queue_systems(medians)
    if not systems:
        return ""
    conveyors = [s for s in systems if s.startswith("conveyor")]
    peers = [s for s in systems if not s.startswith("conveyor")]
    lines = [
        "| metric | "
        + " | ".join(systems)
        + " | best peer | "
        + " | ".join(f"{c} vs best" for c in conveyors)
        + " |",
        "|---" * (len(systems) + 2 + len(conveyors)) + "|",
    ]
    for workload, metric, label, higher in METRICS:
        values = {s: _value(medians, s, workload, metric) for s in systems}
        if all(v is None for v in values.values()):
            continue
        known = {s: v for s, v in values.items() if v is not None and s in peers}
        best = (max if higher else min)(known, key=lambda s: known[s]) if known else None
        cells = [f"{v:,.1f}" if v is not None else "-" for v in values.values()]
        ratio_cells = []
        for conveyor in conveyors:
            mine = values[conveyor]
            if mine is None or best is None or not known[best] or not mine:
                ratio_cells.append("-")
            else:
                ratio = mine / known[best] if higher else known[best] / mine
                ratio_cells.append(f"{ratio:.2f}x")
        lines.append(
            f"| {label} | "
            + " | ".join(cells)
            + f" | {best or '-'} | "
            + " | ".join(ratio_cells)
            + " |"
        )
    lines.append("")
    lines.append("Ratios: above 1.00x Conveyor is better (for times, best peer / Conveyor).")
    lines.append("")
    lines.append("| system | durability | worker configuration (drain) |")
    lines.append("|---|---|---|")
    for system in systems:
        lines.append(
            f"| {system} | {durability.get(system, '')} | "
            f"`{configs.get(system, {}).get('drain', '')}` |"
        )
    return "\n".join(lines) + "\n"


def http_table(medians: dict[str, Any], ceiling: str = CEILING) -> str:
    """Workload 5: each HTTP target per shape and connection count, against the ceiling."""
    targets = [s for s in medians if "http" in medians[s]]
    if not targets:
        return ""
    lines = [
        "| target | POST /tasks | connections | requests/s | tasks/s | p99 (ms)"
        " | server CPU per request (µs) | requests/s vs ceiling |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for target in targets:
        for shape, label in HTTP_SHAPES.items():
            for connections in HTTP_CONNECTIONS:
                key = f"{shape}_c{connections}"
                rps, tps, p99, cpu, top = (
                    _value(medians, name, "http", f"{key}_{metric}")
                    for name, metric in (
                        (target, "requests_per_s"),
                        (target, "tasks_per_s"),
                        (target, "p99_ms"),
                        (target, "cpu_us_per_request"),
                        (ceiling, "requests_per_s"),
                    )
                )
                if rps is None or tps is None or p99 is None or cpu is None:
                    continue
                ratio = f"{rps / top:.2f}x" if top else "-"
                lines.append(
                    f"| {target} | {label} | {connections} | {rps:,.0f} | {tps:,.0f} | {p99:.1f}"
                    f" | {cpu:,.0f} | {ratio} |"
                )
    lines.append("")
    lines.append(
        "The ceiling is a raw ASGI app on the same uvicorn that reads the body and answers 201"
        " without parsing or storing it; wrk -t1, every run checked for 0 non-2xx and 0 socket"
        " errors, and Conveyor checked to hold every task acknowledged."
    )
    return "\n".join(lines) + "\n"


def durability_table(medians: dict[str, Any], durability: dict[str, str]) -> str:
    """Workload 6: each durable setting beside its faster sibling, and what it keeps."""
    rows = [s for s in DURABILITY_PAIRS if {"enqueue", "drain"} & set(medians.get(s, {}))]
    if not rows:
        return ""
    lines = [
        "| system | enqueue one (tasks/s) | enqueue bulk (tasks/s) | drain (tasks/s)"
        " | vs its sibling (one / bulk / drain) | what a power cut loses |",
        "|---|---|---|---|---|---|",
    ]
    for system in rows:
        sibling = DURABILITY_PAIRS[system]
        cells, ratios = [], []
        for workload, metric in (("enqueue", "tasks_per_s"), ("enqueue", "bulk_tasks_per_s"),
                                 ("drain", "tasks_per_s")):  # fmt: skip
            mine = _value(medians, system, workload, metric)
            other = _value(medians, sibling, workload, metric) if sibling else None
            cells.append("-" if mine is None else f"{mine:,.0f}")
            ratios.append(f"{mine / other:.2f}x" if mine and other else "-")
        shown = " / ".join(ratios) + f" of {sibling}" if sibling else "-"
        lines.append(
            f"| {system} | " + " | ".join(cells) + f" | {shown} | {durability.get(system, '')} |"
        )
    return "\n".join(lines) + "\n"


def memory_table(medians: dict[str, Any]) -> str:
    """Workload 7: RSS of `conveyor serve` and its worker children over many tasks."""
    for system, workloads in medians.items():
        if "memory" not in workloads:
            continue
        m = workloads["memory"]
        lines = [
            f"{system}: {m['tasks']:,.0f} no-op tasks over HTTP (batches of 1,000) through one"
            f" `conveyor serve` with {m['children']:.0f} worker processes, drained in"
            f" {m['drained_s']:,.0f} s ({m['tasks_per_s']:,.0f} tasks/s); finished tasks"
            f" purged after {m['retention_s']:g} s (at most {m['finished_rows_peak']:,.0f}"
            f" waiting), all gone {m['purge_after_drain_s']:.0f} s after the last completion;"
            f" database file at the end {m['database_mb']:,.0f} MB.",
            "",
            "| RSS (MB) | start (idle) | warm (10% of tasks) | peak | end (drained, purged) |",
            "|---|---|---|---|---|",
        ]
        for part in ("server", "children", "total"):
            values = [m[f"{part}_{when}_mb"] for when in ("start", "warm", "peak", "end")]
            lines.append(f"| {part} | " + " | ".join(f"{v:,.1f}" for v in values) + " |")
        return "\n".join(lines) + "\n"
    return ""


def _queue_systems(medians: dict[str, Any]) -> list[str]:
    """The systems with a figure in the queue workloads (not the HTTP ceiling)."""
    return [s for s in medians if any(_value(medians, s, w, m) is not None for w, m, *_ in METRICS)]


def write_chart(medians: dict[str, Any], path: Path) -> None:
    systems = _queue_systems(medians)
    shown = [m for m in METRICS if any(_value(medians, s, m[0], m[1]) is not None for s in systems)]
    if not shown:
        return
    figure, axes = plt.subplots(len(shown), 1, figsize=(10, 2.6 * len(shown)))
    for axis, (workload, metric, label, _higher) in zip(
        axes if len(shown) > 1 else [axes], shown, strict=True
    ):
        values = [_value(medians, s, workload, metric) or 0.0 for s in systems]
        colors = ["#2a7ab9" if s.startswith("conveyor") else "#9aa5b1" for s in systems]
        axis.barh(systems, values, color=colors)
        axis.set_title(label, fontsize=10)
        axis.tick_params(labelsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
