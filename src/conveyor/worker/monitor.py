"""The monitor thread: restarts dead or stuck supervised threads so pools never shrink."""

from __future__ import annotations

import logging
from collections.abc import Callable

from conveyor.worker.roster import Role, Roster, ThreadState
from conveyor.worker.supervised import SupervisedThread

logger = logging.getLogger(__name__)


class Monitor(SupervisedThread):
    """Every `interval_s`, run each check; a check restarts what it supervises. The
    worker's heartbeat restarts the monitor itself (`restart_if_dead_or_stuck`)."""

    def __init__(self, roster: Roster, interval_s: float, name: str = "monitor") -> None:
        super().__init__(roster, name, Role.MONITOR)
        self._interval_s = interval_s
        self._checks: list[Callable[[], object]] = []

    def watch(self, check: Callable[[], object]) -> None:
        self._checks.append(check)

    def _serve(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self.record.touch(ThreadState.RUNNING)
            for check in self._checks:
                try:
                    check()
                except Exception:
                    logger.exception("monitor check failed")
