"""What every thread a process owns is doing: the data behind /workers and the monitor."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from conveyor.task import JSONObject, format_time


class Role(StrEnum):
    CONSUMER = "consumer"
    PRODUCER = "producer"
    MONITOR = "monitor"


class ThreadState(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    RUNNING = "running"
    STOPPED = "stopped"
    DEAD = "dead"


@dataclass
class ThreadRecord:
    """One supervised thread (or the async runner). Updated by its owner, read by all."""

    name: str
    role: Role
    state: ThreadState = ThreadState.IDLE
    task_id: str | None = None
    last_active: float = field(default_factory=time.time)
    active_monotonic: float = field(default_factory=time.monotonic, repr=False)
    """`last_active` on the monotonic clock: a wall-clock jump must not look like a stall."""
    restarts: int = 0
    thread: threading.Thread | None = field(default=None, repr=False)
    generation: int = 0
    """Bumped when the slot's thread is abandoned (a timed-out handler keeps running in
    it); a thread whose generation is stale exits instead of taking more work."""

    def touch(self, state: ThreadState, task_id: str | None = None) -> None:
        self.state = state
        self.task_id = task_id
        self.beat()

    def beat(self) -> None:
        """A sign of life that changes nothing else: an idle thread still waiting for
        work, or a handler reporting progress."""
        self.last_active = time.time()
        self.active_monotonic = time.monotonic()

    def stuck(self, after_s: float, now: float) -> bool:
        """Silent for `after_s` (monotonic `now`) where it should show life: waiting for
        work or looping. A thread busy with a task is left to the task's own timeout."""
        waiting = self.state in (ThreadState.IDLE, ThreadState.RUNNING)
        return waiting and now - self.active_monotonic >= after_s

    def to_json(self) -> JSONObject:
        return {
            "name": self.name,
            "role": self.role.value,
            "state": self.state.value,
            "task_id": self.task_id,
            "last_active": format_time(datetime.fromtimestamp(self.last_active, UTC)),
            "restarts": self.restarts,
            "alive": self.thread.is_alive() if self.thread is not None else None,
        }


class Roster:
    """The records of one process's threads, in a stable order."""

    def __init__(self) -> None:
        self._records: dict[str, ThreadRecord] = {}
        self._lock = threading.Lock()

    def add(self, record: ThreadRecord) -> ThreadRecord:
        with self._lock:
            self._records[record.name] = record
        return record

    def remove(self, name: str) -> None:
        with self._lock:
            self._records.pop(name, None)

    def records(self) -> list[ThreadRecord]:
        with self._lock:
            return list(self._records.values())

    def snapshot(self) -> list[JSONObject]:
        return [record.to_json() for record in self.records()]
