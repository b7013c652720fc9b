"""Worker child processes: start N, restart any that dies, hurry those that retire too
slowly, stop them all by PID."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from conveyor.task import JSONObject
from conveyor.worker.recycling import ABANDONED_EXIT, ABANDONED_REASON, RECYCLE_EXIT

logger = logging.getLogger(__name__)


PARENT_PID_ENV = "CONVEYOR_SUPERVISOR_PID"
PREDECESSOR_ENV = "CONVEYOR_PREDECESSOR_EXIT"
"""How the child's previous incarnation ended: the new one records it on the tasks it
reclaims from it (see Settings.predecessor_exit)."""
WORKER_COMMAND = (sys.executable, "-m", "conveyor", "worker")
KILL_AFTER_TERM_S = 3.0
"""How long a child SIGTERMed for overstaying its retirement gets before SIGKILL."""


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
    """How a worker process ended, worded to follow "the worker process ..." (the tasks
    it held are told so when its successor reclaims them)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        if -returncode == signal.SIGKILL:
            return f"was killed by {name} (the OS kills this way when out of memory)"
        return f"was killed by {name}"
    if returncode == RECYCLE_EXIT:
        return "was recycled: reached --max-tasks-per-child or --max-memory-per-child"
    if returncode == ABANDONED_EXIT:
        return f"was replaced: {ABANDONED_REASON}"
    return f"exited with status {returncode}"


@dataclass
class Child:
    index: int
    node_id: str
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    last_exit: str | None = None
    started_at: float = field(default_factory=time.time)
    retiring: str | None = None
    """Why the running process said it retires, once the parent has seen it say so."""
    exit_due: float | None = None
    """Monotonic time by which a retiring process must be gone, else it is signalled."""
    kill_reason: str | None = None
    """Set when the parent signals the process itself, so its exit is not blamed on the OS."""

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

    def __init__(
        self,
        count: int,
        node_id: str,
        settings_env: Mapping[str, str],
        command: Sequence[str] = WORKER_COMMAND,
    ) -> None:
        self.children = [Child(i, f"{node_id}-w{i + 1}") for i in range(count)]
        self._env = {**os.environ, **settings_env}
        self._command = list(command)
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def check(self) -> None:
        """Restart every child that exited, and hurry any past its exit deadline (never
        while stopping)."""
        with self._lock:
            if self._stopping.is_set():
                return
            for child in self.children:
                if child.process is None:
                    continue
                if child.process.poll() is None:
                    self._hurry(child)
                    continue
                child.last_exit = child.kill_reason or describe_exit(child.process.returncode)
                child.restarts += 1
                logger.warning(
                    "worker process exited; starting a new one",
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

    def kill(self, child: Child, why: str) -> None:
        """Kill a child that stopped working (`why`: "it stopped heartbeating"); `check`
        restarts it."""
        with self._lock:
            if child.process is not None and child.process.poll() is None:
                child.kill_reason = f"was killed by its supervisor: {why}"
                child.process.kill()

    def note_retiring(self, child: Child, pid: int, reason: str, within_s: float) -> None:
        """The child with this pid said it is retiring, so it will exit: it has `within_s`
        from now to do so, after which `check` sends SIGTERM, then SIGKILL."""
        with self._lock:
            process = child.process
            if process is None or process.pid != pid or child.exit_due is not None:
                return
            child.retiring = reason
            child.exit_due = time.monotonic() + within_s
            logger.info(
                "worker process retiring",
                extra={"node": child.node_id, "reason": reason, "within_s": within_s},
            )

    def _hurry(self, child: Child) -> None:
        # A retiring child normally exits once its running tasks finish; one that does not
        # (an abandoned handler holding the interpreter, a stuck shutdown) is ended here.
        assert child.process is not None
        if child.exit_due is None or time.monotonic() < child.exit_due:
            return
        if child.kill_reason is None:
            child.kill_reason = (
                "was stopped by its supervisor: it did not exit in time after retiring"
                f" ({child.retiring})"
            )
            logger.warning(
                "retiring worker process did not exit in time; terminating it",
                extra={"node": child.node_id, "pid": child.process.pid},
            )
            child.process.send_signal(signal.SIGTERM)
            child.exit_due = time.monotonic() + KILL_AFTER_TERM_S
        else:
            logger.warning(
                "worker process ignored SIGTERM; killing it",
                extra={"node": child.node_id, "pid": child.process.pid},
            )
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
        env.pop(PREDECESSOR_ENV, None)
        if child.last_exit is not None:
            env[PREDECESSOR_ENV] = child.last_exit
        child.process = subprocess.Popen(self._command, env=env)
        child.started_at = time.time()
        child.retiring = child.exit_due = child.kill_reason = None
