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


def _value(medians: dict[str, Any], system: str, workload: str, metric: str) -> float | None:
    value = medians.get(system, {}).get(workload, {}).get(metric)
    return None if value is None else float(value)


def ratios_table(
    medians: dict[str, Any], durability: dict[str, str], configs: dict[str, Any]
) -> str:
    systems = list(medians)
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


def write_chart(medians: dict[str, Any], path: Path) -> None:
    systems = list(medians)
    shown = [m for m in METRICS if any(_value(medians, s, m[0], m[1]) is not None for s in systems)]
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
