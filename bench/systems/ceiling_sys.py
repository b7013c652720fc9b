"""The raw-ASGI ceiling as a system of the run: it takes part in the HTTP workload only."""

from __future__ import annotations

from typing import Any

from bench.systems.base import System, Workload


class Ceiling(System):
    name = "raw-asgi-ceiling"
    durability = "stores nothing (the most an ASGI submit route on uvicorn could answer)"
    workloads = ("http",)

    def clear(self) -> None:
        """Nothing stored, nothing to clear."""

    def enqueue(self, kind: str, args: dict[str, Any]) -> None:
        raise NotImplementedError("the ceiling is measured over HTTP only")

    def worker_commands(self, workload: Workload) -> list[list[str]]:
        return []

    def config(self, workload: Workload) -> str:
        return "uvicorn bench.systems.ceiling_app:app; wrk -t1 -c16|64 -s bench/wrk/..."
