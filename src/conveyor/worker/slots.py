"""Consumer thread slots for sync handlers: a fixed pool that the monitor keeps full."""

from __future__ import annotations

import logging
import queue
import threading

from conveyor.backends.base import Outcome, OutcomeKind
from conveyor.worker.execution import DeliverOutcome, Running, run_sync
from conveyor.worker.roster import Role, Roster, ThreadRecord, ThreadState

logger = logging.getLogger(__name__)


class SlotPool:
    """`size` consumer threads taking tasks from one inbox."""

    def __init__(self, size: int, roster: Roster, deliver: DeliverOutcome, prefix: str) -> None:
        self.size = size
        self._roster = roster
        self._deliver = deliver
        self._prefix = prefix
        # Highest priority first, then oldest: prefetched tasks keep the queue's order.
        self._inbox: queue.PriorityQueue[tuple[int, str, Running | None]] = queue.PriorityQueue()
        self._records: list[ThreadRecord] = []
        self._stopping = threading.Event()

    def start(self) -> None:
        for index in range(self.size):
            record = self._roster.add(ThreadRecord(f"{self._prefix}-{index + 1}", Role.CONSUMER))
            self._records.append(record)
            self._spawn(record)

    def put(self, running: Running) -> None:
        self._inbox.put((-running.task.priority, running.task.id, running))

    def replace_dead(self) -> list[ThreadRecord]:
        """Start a new thread for every slot whose thread died; the pool never shrinks."""
        if self._stopping.is_set():
            return []
        replaced = []
        for record in self._records:
            if record.thread is not None and not record.thread.is_alive():
                record.restarts += 1
                logger.warning(
                    "consumer thread died; restarting it",
                    extra={"thread_name": record.name, "restarts": record.restarts},
                )
                self._spawn(record)
                replaced.append(record)
        return replaced

    def stop(self, timeout_s: float) -> None:
        self._stopping.set()
        for _ in self._records:
            self._inbox.put((-(10**9), "", None))  # ahead of any task
        for record in self._records:
            if record.thread is not None:
                record.thread.join(timeout=timeout_s)
            record.touch(ThreadState.STOPPED)

    def _spawn(self, record: ThreadRecord) -> None:
        thread = threading.Thread(target=self._serve, args=(record,), name=record.name, daemon=True)
        record.thread = thread
        record.touch(ThreadState.IDLE)
        thread.start()

    def _serve(self, record: ThreadRecord) -> None:
        while True:
            _, _, running = self._inbox.get()
            if running is None:
                return
            record.touch(ThreadState.BUSY, running.task.id)
            try:
                outcome = run_sync(running)
            except BaseException as exc:
                # SystemExit and friends end this thread, as they would any thread; the
                # task is failed (not lost) and the monitor starts a replacement.
                record.touch(ThreadState.DEAD, running.task.id)
                error = f"{type(exc).__name__} raised by the handler ended its thread: {exc}"
                self._deliver(
                    running,
                    Outcome(running.task.id, running.token, OutcomeKind.FAILED, error=error),
                )
                return
            record.touch(ThreadState.IDLE)
            self._deliver(running, outcome)
