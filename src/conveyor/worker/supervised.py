"""A named thread with a roster record, which a supervisor restarts when it dies."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

from conveyor.worker.roster import Role, Roster, ThreadRecord, ThreadState

logger = logging.getLogger(__name__)


class SupervisedThread(ABC):
    def __init__(self, roster: Roster, name: str, role: Role) -> None:
        self.record = roster.add(ThreadRecord(name, role))
        self._stopping = threading.Event()

    def start(self) -> None:
        thread = threading.Thread(target=self._serve, name=self.record.name, daemon=True)
        self.record.thread = thread
        self.record.touch(ThreadState.RUNNING)
        thread.start()

    def restart_if_dead(self) -> None:
        thread = self.record.thread
        if not self._stopping.is_set() and thread is not None and not thread.is_alive():
            self.record.restarts += 1
            logger.warning(
                "thread died; restarting it",
                extra={"thread_name": self.record.name, "restarts": self.record.restarts},
            )
            self.start()

    def stop(self) -> None:
        self._stopping.set()
        if self.record.thread is not None:
            self.record.thread.join(timeout=5)
        self.record.touch(ThreadState.STOPPED)

    @abstractmethod
    def _serve(self) -> None:
        """The thread's body; return when `self._stopping` is set."""
