"""A named thread with a roster record, which a supervisor restarts when it dies or gets
stuck."""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod

from conveyor.worker.roster import Role, Roster, ThreadRecord, ThreadState

logger = logging.getLogger(__name__)

BEAT_S = 0.25
"""How often a supervised thread that waits shows it is alive; stuck thresholds are
several of these (the setting's minimum is 1 s)."""


class StopSignal:
    """What a supervised thread waits on between rounds of work. `wait` works as
    threading.Event's, with two differences: it heartbeats the thread's record while it
    waits, so a thread that merely sleeps is never taken for stuck; and it is also true
    for a thread that was replaced, so an abandoned thread ends when it wakes."""

    def __init__(self, record: ThreadRecord) -> None:
        self._record = record
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._replaced():
            left = BEAT_S if deadline is None else min(BEAT_S, deadline - time.monotonic())
            if left <= 0:
                return self._event.is_set()
            if self._event.wait(left):
                return True
            if not self._replaced():
                self._record.beat()
        return True

    def _replaced(self) -> bool:
        return self._record.thread is not threading.current_thread()


class SupervisedThread(ABC):
    def __init__(self, roster: Roster, name: str, role: Role) -> None:
        self.record = roster.add(ThreadRecord(name, role))
        self._stopping = StopSignal(self.record)

    def start(self) -> None:
        thread = threading.Thread(target=self._serve, name=self.record.name, daemon=True)
        self.record.thread = thread
        self.record.touch(ThreadState.RUNNING)
        thread.start()

    def restart_if_dead_or_stuck(self, stuck_after_s: float) -> None:
        """Start a new thread if this one died, or showed no life for `stuck_after_s`
        (blocked somewhere it was never meant to wait). A stuck thread cannot be stopped:
        it is abandoned, and ends by itself if it ever wakes."""
        thread = self.record.thread
        if self._stopping.is_set() or thread is None:
            return
        if not thread.is_alive():
            event = "thread died; restarting it"
        elif self.record.stuck(stuck_after_s, time.monotonic()):
            event = "thread stuck; replacing it"
        else:
            return
        self.record.restarts += 1
        self.record.generation += 1
        logger.warning(
            event,
            extra={
                "thread_name": self.record.name,
                "restarts": self.record.restarts,
                "stuck_after_s": stuck_after_s,
            },
        )
        self.start()

    def stop(self) -> None:
        self._stopping.set()
        if self.record.thread is not None:
            self.record.thread.join(timeout=5)
        self.record.touch(ThreadState.STOPPED)

    @abstractmethod
    def _serve(self) -> None:
        """The thread's body: loop on `self._stopping.wait(...)`, and return when it is
        true (stopping, or this thread was replaced)."""
