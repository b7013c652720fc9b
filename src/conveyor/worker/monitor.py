"""The monitor thread: restarts dead supervised threads so pools never shrink."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from conveyor.worker.roster import Role, Roster, ThreadRecord, ThreadState

logger = logging.getLogger(__name__)


class Monitor:
    """Every `interval_s`, run each check; a check restarts what it supervises."""

    def __init__(self, roster: Roster, interval_s: float, name: str = "monitor") -> None:
        self._interval_s = interval_s
        self._checks: list[Callable[[], object]] = []
        self._stopping = threading.Event()
        self.record = roster.add(ThreadRecord(name, Role.MONITOR))

    def watch(self, check: Callable[[], object]) -> None:
        self._checks.append(check)

    def start(self) -> None:
        thread = threading.Thread(target=self._serve, name=self.record.name, daemon=True)
        self.record.thread = thread
        thread.start()

    def ensure_alive(self) -> None:
        """Called by the worker's heartbeat: the monitor is supervised too."""
        thread = self.record.thread
        if not self._stopping.is_set() and thread is not None and not thread.is_alive():
            self.record.restarts += 1
            self.start()

    def stop(self) -> None:
        self._stopping.set()
        if self.record.thread is not None:
            self.record.thread.join(timeout=5)
        self.record.touch(ThreadState.STOPPED)

    def _serve(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self.record.touch(ThreadState.RUNNING)
            for check in self._checks:
                try:
                    check()
                except Exception:
                    logger.exception("monitor check failed")
