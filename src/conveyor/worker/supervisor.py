"""Worker child processes: start N, restart any that dies, stop them all by PID."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.task import JSONObject
from conveyor.worker.recycling import RECYCLE_EXIT

logger = logging.getLogger(__name__)


PARENT_PID_ENV = "CONVEYOR_SUPERVISOR_PID"


def die_with_parent() -> None:
    """In a worker child: get SIGTERM (a graceful stop) when the supervisor dies, even by
    kill -9, so no orphan keeps working unsupervised. Linux only; elsewhere a no-op."""
    expected = os.environ.get(PARENT_PID_ENV)
    if not expected or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != int(expected):  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        if -returncode == signal.SIGKILL:
            return f"killed by {name} (the OS kills this way when out of memory)"
        return f"killed by {name}"
    if returncode == RECYCLE_EXIT:
        return "recycled: reached --max-tasks-per-child or --max-memory-per-child"
    return f"exited with status {returncode}"


@dataclass
class Child:
    index: int
    node_id: str
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    last_exit: str | None = None
    started_at: float = field(default_factory=time.time)

    def to_json(self) -> JSONObject:
        alive = self.process is not None and self.process.poll() is None
        return {
            "index": self.index,
            "node": self.node_id,
            "restarts": self.restarts,
            "pid": self.process.pid if self.process else None,
            "alive": alive,
            "last_exit": self.last_exit,
        }


class ProcessSupervisor:
    """Runs `conveyor worker` children with the parent's settings (passed as CONVEYOR_*
    variables); the monitor thread calls `check` to restart the dead."""

    def __init__(self, count: int, node_id: str, settings_env: Mapping[str, str]) -> None:
        self.children = [Child(i, f"{node_id}-w{i + 1}") for i in range(count)]
        self._env = {**os.environ, **settings_env}
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def check(self) -> None:
        """Restart every child that exited (never while stopping)."""
        with self._lock:
            if self._stopping.is_set():
                return
            for child in self.children:
                if child.process is None or child.process.poll() is None:
                    continue
                child.last_exit = describe_exit(child.process.returncode)
                child.restarts += 1
                logger.warning(
                    "worker process died; restarting it",
                    extra={
                        "node": child.node_id,
                        "exit": child.last_exit,
                        "restarts": child.restarts,
                    },
                )
                self._spawn(child)

    def stop(self, grace_s: float) -> None:
        """SIGTERM every child (they finish or release their tasks), then SIGKILL those
        still running after the grace period."""
        with self._lock:
            self._stopping.set()
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s + 5
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning(
                    "worker process did not stop in time; killing it", extra={"pid": process.pid}
                )
                process.kill()
                process.wait(5)

    def kill(self, child: Child) -> None:
        """Kill a child that stopped working; `check` restarts it."""
        if child.process is not None and child.process.poll() is None:
            child.process.kill()

    def snapshot(self) -> list[JSONObject]:
        return [child.to_json() for child in self.children]

    def _spawn(self, child: Child) -> None:
        env = {
            **self._env,
            "CONVEYOR_NODE_ID": child.node_id,
            "CONVEYOR_PROCESSES": "0",
            "CONVEYOR_DEMO": "false",
            "CONVEYOR_SUPERVISED": "true",
            PARENT_PID_ENV: str(os.getpid()),
        }
        child.process = subprocess.Popen([sys.executable, "-m", "conveyor", "worker"], env=env)
        child.started_at = time.time()
