"""The one interface every benchmarked system implements."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REDIS = "redis://127.0.0.1:6379"

Workload = str  # "enqueue", "drain", "latency", "io", "http", "memory"
QUEUE_WORKLOADS: tuple[Workload, ...] = ("enqueue", "drain", "latency", "io")


class Skipped(Exception):
    """A workload that cannot run on this machine; the message says why (and is shown)."""


class System(ABC):
    """A task queue under test: how to enqueue, and how to run its workers."""

    name: str
    has_bulk: bool = False
    durability: str = ""
    workloads: tuple[Workload, ...] = QUEUE_WORKLOADS
    """The workloads this system takes part in (HTTP and memory are Conveyor's own)."""

    def open(self) -> None:  # noqa: B027  # most systems need no set-up
        """Prepare (connect, clear the system's own storage)."""

    def close(self) -> None:  # noqa: B027
        """Release connections."""

    @abstractmethod
    def clear(self) -> None:
        """Empty this system's own queue storage (its db only)."""

    @abstractmethod
    def enqueue(self, kind: str, args: dict[str, Any]) -> None:
        """Submit one task; `kind` is noop, stamp or sleep10ms."""

    def enqueue_many(self, kind: str, args: list[dict[str, Any]]) -> None:
        """Submit many: through the bulk API where the system has one."""
        for one in args:
            self.enqueue(kind, one)

    @abstractmethod
    def worker_commands(self, workload: Workload) -> list[list[str]]:
        """One command per worker process to start for this workload."""

    def worker_env(self) -> dict[str, str]:
        """Environment the workers need beyond the harness's own."""
        return {}

    def config(self, workload: Workload) -> str:
        """The worker command as a person would type it, and how many were started."""
        commands = self.worker_commands(workload)
        words = [Path(commands[0][0]).name, *commands[0][1:]]
        shown = " ".join("<db>" if word.startswith("sqlite:") else word for word in words)
        return f"{shown} (x{len(commands)})"


class Workers:
    """Worker processes started for one measurement, stopped by PID."""

    def __init__(self, commands: list[list[str]], env: dict[str, str] | None = None) -> None:
        self.processes = [
            subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for command in commands
        ]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
