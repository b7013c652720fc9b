"""Consumer thread slots for sync handlers: a fixed pool that the monitor keeps full."""

from __future__ import annotations

import logging
import queue
import threading
import time

from conveyor.backends.base import Outcome, OutcomeKind
from conveyor.worker.execution import DeliverOutcome, Running, errored, run_sync
from conveyor.worker.roster import Role, Roster, ThreadRecord, ThreadState

logger = logging.getLogger(__name__)


class SlotPool:
    """`size` consumer threads taking tasks from one inbox."""

    def __init__(
        self,
        size: int,
        roster: Roster,
        deliver: DeliverOutcome,
        prefix: str,
        cancel_grace_s: float = 10.0,
        stuck_after_s: float = 60.0,
    ) -> None:
        self.size = size
        self.cancel_grace_s = cancel_grace_s
        self.stuck_after_s = stuck_after_s
        # Idle slots heartbeat this often while waiting for work, so that only a slot
        # blocked elsewhere ever goes silent for `stuck_after_s`.
        self._idle_beat_s = min(1.0, stuck_after_s / 4)
        self._roster = roster
        self._deliver = deliver
        self._prefix = prefix
        # Highest priority first, then oldest: prefetched tasks keep the queue's order.
        self._inbox: queue.PriorityQueue[tuple[int, str, Running | None]] = queue.PriorityQueue()
        self._records: list[ThreadRecord] = []
        self._current: dict[str, Running] = {}  # slot name -> the task its thread runs
        self._lock = threading.Lock()  # a timeout and a handler returning may race
        self._stopping = threading.Event()

    def start(self) -> None:
        for index in range(self.size):
            record = self._roster.add(ThreadRecord(f"{self._prefix}-{index + 1}", Role.CONSUMER))
            self._records.append(record)
            self._spawn(record)

    def put(self, running: Running) -> None:
        self._inbox.put((-running.task.priority, running.task.id, running))

    def restart_dead_or_stuck(self) -> list[ThreadRecord]:
        """Start a new thread for every slot whose thread died, or sat silent for
        `stuck_after_s` while not running a task; the pool never shrinks. A stuck thread
        is abandoned: it exits if it ever wakes, handing on what it took."""
        if self._stopping.is_set():
            return []
        now = time.monotonic()
        replaced = []
        for record in self._records:
            with self._lock:
                if record.thread is None:
                    continue
                if not record.thread.is_alive():
                    event = "consumer thread died; restarting it"
                elif record.stuck(self.stuck_after_s, now):
                    event = "consumer thread stuck; replacing it"
                else:
                    continue
                self._abandon(record)
            logger.warning(
                event,
                extra={
                    "thread_name": record.name,
                    "restarts": record.restarts,
                    "stuck_after_s": self.stuck_after_s,
                },
            )
            self._spawn(record)
            replaced.append(record)
        return replaced

    def _overdue(self, running: Running, now: float) -> Outcome | None:
        """The outcome to record now for a task that overstayed, if it did."""
        timeout = running.task.timeout_s
        if timeout is not None and now - running.started_monotonic >= timeout:
            return errored(running, TimeoutError(f"timed out after {timeout:g} s"))
        seen = running.cancel_seen_monotonic
        if seen is not None and now - seen >= self.cancel_grace_s:
            return Outcome(
                running.task.id,
                running.token,
                OutcomeKind.CANCELED,
                error=f"canceled: the handler did not stop within"
                f" {self.cancel_grace_s:g} s of the request, so it was abandoned",
            )
        return None

    def enforce_timeouts(self) -> list[ThreadRecord]:
        """Fail (or retry) sync tasks past their timeout, and cancel those that ignored a
        cancel for the grace period, now; their slots get a new thread: Python cannot stop
        a thread, so the old one is abandoned to finish alone and its late outcome is
        ignored."""
        if self._stopping.is_set():
            return []
        now = time.monotonic()
        abandoned = []
        for record in self._records:
            with self._lock:
                running = self._current.get(record.name)
                overdue = self._overdue(running, now) if running is not None else None
                if running is None or overdue is None:
                    continue
                del self._current[record.name]
                self._abandon(record)
            self._deliver(running, overdue)
            logger.warning(
                "task overdue; its thread is abandoned and replaced",
                extra={"task_id": running.task.id, "thread_name": record.name},
            )
            self._spawn(record)
            abandoned.append(record)
        return abandoned

    def stop(self, timeout_s: float) -> None:
        """Ask every slot's thread to end; wait `timeout_s` in all for them."""
        self._stopping.set()
        for _ in self._records:
            self._inbox.put((-(10**9), "", None))  # ahead of any task
        deadline = time.monotonic() + timeout_s
        for record in self._records:
            if record.thread is not None:
                record.thread.join(timeout=max(0.0, deadline - time.monotonic()))
            record.touch(ThreadState.STOPPED)

    def _abandon(self, record: ThreadRecord) -> None:
        """Retire the slot's current thread (the caller holds the lock): a thread whose
        generation is stale stops taking work."""
        record.generation += 1
        record.restarts += 1

    def _spawn(self, record: ThreadRecord) -> None:
        thread = threading.Thread(
            target=self._serve, args=(record, record.generation), name=record.name, daemon=True
        )
        record.thread = thread
        record.touch(ThreadState.IDLE)
        thread.start()

    def _serve(self, record: ThreadRecord, generation: int) -> None:
        def progressed() -> None:
            if record.generation == generation:  # an abandoned handler speaks for no one
                record.beat()

        while True:
            try:
                item = self._inbox.get(timeout=self._idle_beat_s)
            except queue.Empty:
                if record.generation != generation:
                    return
                record.beat()
                continue
            running = item[2]
            with self._lock:
                if record.generation != generation:
                    # Taken for stuck while it waited: what it took is the new thread's.
                    self._inbox.put(item)
                    return
                if running is None:
                    return
                running.started_monotonic = time.monotonic()
                running.on_progress = progressed
                self._current[record.name] = running
                record.touch(ThreadState.BUSY, running.task.id)
            try:
                outcome = run_sync(running)
            except BaseException as exc:
                # SystemExit and friends end this thread, as they would any thread; the
                # task is failed (not lost) and the monitor starts a replacement.
                with self._lock:
                    if record.generation == generation:
                        self._current.pop(record.name, None)
                        record.touch(ThreadState.DEAD, running.task.id)
                error = f"{type(exc).__name__} raised by the handler ended its thread: {exc}"
                self._deliver(
                    running,
                    Outcome(running.task.id, running.token, OutcomeKind.FAILED, error=error),
                )
                return
            with self._lock:
                abandoned = record.generation != generation
                if not abandoned:
                    self._current.pop(record.name, None)
                    record.touch(ThreadState.IDLE)
            # Delivered either way: the worker keeps the first outcome of a task and
            # ignores a second, so a handler finishing just as it times out is not lost.
            self._deliver(running, outcome)
            if abandoned:
                return
