"""The worker: claims tasks in batches, runs them on thread slots or the event loop,
keeps their leases, and records outcomes in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from conveyor.backends.base import Backend, Outcome, OutcomeKind, WorkerRecord
from conveyor.errors import BackendUnavailable
from conveyor.metrics import Metrics
from conveyor.registry import Registry
from conveyor.task import Task, utcnow
from conveyor.worker.execution import Running, no_handler, run_async
from conveyor.worker.inbox import Inbox
from conveyor.worker.leases import keep_leases
from conveyor.worker.monitor import Monitor
from conveyor.worker.predecessors import reclaim_from_dead_predecessors
from conveyor.worker.recycling import (
    ABANDONED_EXIT,
    ABANDONED_REASON,
    RECYCLE_EXIT,
    recycle_reason,
)
from conveyor.worker.roster import Roster
from conveyor.worker.slots import SlotPool

logger = logging.getLogger(__name__)

_IDLE_WAIT_S = 5.0
_RETRY_BACKEND_S = 0.5
_MAX_CLAIM = 256
_PURGE_BATCH = 1000
_PURGE_ROUNDS = 10


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    worker_id: str
    node: str
    queues: tuple[str, ...] = ("default",)
    threads: int = 5
    prefetch: int = 0
    """Sync tasks claimed beyond the free slots, so slots never wait for a claim."""
    async_concurrency: int = 100
    lease_s: float = 30.0
    reap_interval_s: float = 2.0
    heartbeat_s: float = 2.0
    monitor_interval_s: float = 0.5
    retention_s: float = 7 * 86_400
    max_tasks: int | None = None
    cancel_grace_s: float = 10.0
    max_memory_mb: float | None = None
    retire_on_abandon: bool = False
    """Leave (see `retired`) once a handler's thread was abandoned, so that ending the
    process stops it: for supervised processes, whose parent starts a fresh one."""
    predecessor_exit: str | None = None
    """How this worker id's previous process ended, told by its supervisor."""
    stuck_thread_s: float = 60.0
    """A supervised thread silent this long while not running a task is replaced."""
    info: dict[str, object] = field(default_factory=dict)


class Worker:
    """One process's consumer: thread slots for sync handlers, the loop for async ones."""

    def __init__(
        self,
        backend: Backend,
        registry: Registry,
        config: WorkerConfig,
        roster: Roster | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.backend = backend
        self.registry = registry
        self.config = config
        self.roster = roster or Roster()
        self.metrics = metrics or Metrics()
        self.monitor = Monitor(self.roster, config.monitor_interval_s)
        self.slots = SlotPool(
            config.threads,
            self.roster,
            self._deliver_threadsafe,
            "consumer",
            cancel_grace_s=config.cancel_grace_s,
            stuck_after_s=config.stuck_thread_s,
        )
        self.monitor.watch(self.slots.restart_dead_or_stuck)
        self.monitor.watch(self._enforce_timeouts)
        self._has_sync = any(not h.is_async for h in registry)
        self._has_async = any(h.is_async for h in registry)
        self._running: dict[str, Running] = {}
        self._sync_busy = 0
        self._async_busy = 0
        self._outcomes: list[tuple[Running, Outcome]] = []
        self._inbound = Inbox[tuple[Running, Outcome]](lambda item: self._deliver(*item))
        self._outcome_ready = asyncio.Event()
        self._capacity = asyncio.Event()
        self._drained = asyncio.Event()
        self._no_claim_in_flight = asyncio.Event()
        self._no_claim_in_flight.set()
        self._finished = 0
        self._dispatched = 0
        self.retired = asyncio.Event()
        """Set when this process should retire (see worker/recycling.py)."""
        self.exit_code: int | None = None
        """The exit status a retiring process leaves with (its parent reads the reason)."""
        self._retiring: str | None = None
        self._claiming = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._started_at = utcnow()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._inbound.bind(self._loop)
        await reclaim_from_dead_predecessors(
            self.backend,
            self.config.worker_id,
            self.config.heartbeat_s,
            self.config.predecessor_exit,
        )
        self.slots.start()
        self.monitor.start()
        await self._heartbeat_once()
        for name, body in (
            ("claim", self._claim_loop),
            ("finish", self._finish_loop),
            ("lease", self._lease_loop),
            ("reap", self._reap_loop),
            ("heartbeat", self._heartbeat_loop),
        ):
            self._loops.append(asyncio.create_task(self._supervised(name, body)))

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop claiming, let running tasks finish within `grace_s`, give the rest back."""
        self._claiming = False
        self._capacity.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._no_claim_in_flight.wait(), grace_s)
        if self._running:
            self._drained.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), grace_s)
        unfinished = [r for r in self._running.values() if not r.has_outcome]
        for running in unfinished:
            if running.asyncio_task is not None:
                running.asyncio_task.cancel()
            running.has_outcome = True
            self._outcomes.append(
                (running, Outcome(running.task.id, running.token, OutcomeKind.RELEASE))
            )
        await self._flush_outcomes()
        await _cancel_all(self._loops)
        self.monitor.stop()
        self.slots.stop(timeout_s=1.0)
        with contextlib.suppress(BackendUnavailable):
            await self.backend.remove_worker(self.config.worker_id)
        if unfinished:
            logger.warning(
                "released unfinished tasks on shutdown", extra={"count": len(unfinished)}
            )

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def _supervised(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        """Keep a loop running through unexpected errors: a worker must not silently stop."""
        while True:
            try:
                await body()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("worker loop failed; restarting it", extra={"loop": name})
                await asyncio.sleep(_RETRY_BACKEND_S)

    def _free(self, is_async: bool) -> int:
        """How many tasks of one kind (sync or async handlers) to claim now: none until a
        quarter of that kind's capacity is free, so a busy worker claims in batches rather
        than one by one; anything when it is idle."""
        if is_async:
            capacity, busy = self.config.async_concurrency, self._async_busy
        else:
            capacity, busy = self.config.threads + self.config.prefetch, self._sync_busy
        free = max(capacity - busy, 0)
        if self.config.max_tasks is not None:  # a process retiring takes no more than its share
            free = min(free, max(self.config.max_tasks - self._dispatched, 0))
            if free == 0:
                return 0
        elif busy and free < max(1, capacity // 4):
            return 0
        return min(free, _MAX_CLAIM)

    async def _claim_loop(self) -> None:
        # Each kind is claimed by its own types and capacity, so async capacity never
        # pulls in sync tasks that would then wait for a thread.
        kinds = [
            (is_async, types)
            for is_async, types in (
                (False, tuple(h.name for h in self.registry if not h.is_async)),
                (True, tuple(h.name for h in self.registry if h.is_async)),
            )
            if types
        ]
        while self._claiming:
            limits = [(types, self._free(is_async)) for is_async, types in kinds]
            if all(limit == 0 for _, limit in limits):
                self._capacity.clear()
                await self._capacity.wait()
                continue
            claimed = 0
            try:
                for types, limit in limits:
                    if limit:
                        # `stop` waits for this: a claim cancelled in flight would strand
                        # its tasks (or their outcomes) until their leases expire.
                        self._no_claim_in_flight.clear()
                        try:
                            tasks = await self.backend.claim(
                                self.config.worker_id,
                                self.config.queues,
                                types,
                                limit,
                                self.config.lease_s,
                                utcnow(),
                            )
                            claimed += self._start(tasks)
                        finally:
                            self._no_claim_in_flight.set()
                if not claimed:
                    await self.backend.wait_for_work(self.config.queues, _IDLE_WAIT_S)
            except BackendUnavailable as exc:
                logger.warning("claim failed; retrying", extra={"error": str(exc)})
                await asyncio.sleep(_RETRY_BACKEND_S)

    def _start(self, tasks: list[Task]) -> int:
        now = utcnow()
        for task in tasks:
            self.metrics.wait_seconds.observe(max((now - task.run_at).total_seconds(), 0))
            self._dispatch(Running(task, self.registry.find(task.type)))
        return len(tasks)

    def _dispatch(self, running: Running) -> None:
        self._dispatched += 1
        self._running[running.task.id] = running
        handler = running.handler
        if handler is None:
            self._deliver(running, no_handler(running, self.config.worker_id), counted=False)
        elif handler.is_async:
            self._async_busy += 1
            running.asyncio_task = asyncio.create_task(run_async(running))
            running.asyncio_task.add_done_callback(lambda done: self._on_async_done(running, done))
        else:
            self._sync_busy += 1
            self.slots.put(running)

    def _on_async_done(self, running: Running, done: asyncio.Task[Outcome]) -> None:
        if done.cancelled():
            outcome = Outcome(running.task.id, running.token, OutcomeKind.RELEASE)
        elif (error := done.exception()) is not None:
            outcome = Outcome(
                running.task.id,
                running.token,
                OutcomeKind.FAILED,
                error=f"{type(error).__name__}: {error}",
            )
        else:
            outcome = done.result()
        self._deliver(running, outcome)

    def _deliver_threadsafe(self, running: Running, outcome: Outcome) -> None:
        """From a slot's thread (if the loop has closed, the lease will expire)."""
        self._inbound.put((running, outcome))

    def _deliver(self, running: Running, outcome: Outcome, counted: bool = True) -> None:
        if running.has_outcome:  # timed out, or released on shutdown, before it returned
            return
        if counted and running.handler is not None:
            if running.handler.is_async:
                self._async_busy -= 1
            else:
                self._sync_busy -= 1
        elapsed = time.monotonic() - running.started_monotonic
        self.metrics.run_seconds.labels(running.task.type).observe(elapsed)
        running.has_outcome = True
        self._finished += 1
        self._outcomes.append((running, outcome))
        self._outcome_ready.set()
        self._capacity.set()

    async def _finish_loop(self) -> None:
        while True:
            await self._outcome_ready.wait()
            self._outcome_ready.clear()
            await self._flush_outcomes()
            self._check_recycle()

    async def _flush_outcomes(self) -> None:
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            try:
                accepted = await self.backend.finish([o for _, o in batch], utcnow())
            except BackendUnavailable as exc:
                # Keep the outcomes (and their leases, renewed meanwhile) and try again.
                logger.warning("recording outcomes failed; retrying", extra={"error": str(exc)})
                self._outcomes = batch + self._outcomes
                await asyncio.sleep(_RETRY_BACKEND_S)
                continue
            for (running, outcome), ok in zip(batch, accepted, strict=True):
                self._running.pop(running.task.id, None)
                if not self._running:
                    self._drained.set()
                if ok:
                    self.metrics.finished.labels(running.task.type, outcome.kind.value).inc()
                else:
                    self.metrics.lost_leases.inc()
                    logger.warning(
                        "lease lost; outcome discarded", extra={"task_id": running.task.id}
                    )

    def _check_recycle(self) -> None:
        if self.retired.is_set():
            return
        config = self.config
        reason = recycle_reason(config.max_tasks, config.max_memory_mb, self._finished)
        if reason is not None:
            self._retire(reason, RECYCLE_EXIT)

    def _enforce_timeouts(self) -> None:
        """On the monitor thread: overdue sync tasks end now; a supervised process that
        had to abandon a thread then retires, since only its exit stops that thread."""
        if self.slots.enforce_timeouts() and self.config.retire_on_abandon:
            assert self._loop is not None
            with contextlib.suppress(RuntimeError):  # the loop closed: already leaving
                self._loop.call_soon_threadsafe(self._retire, ABANDONED_REASON, ABANDONED_EXIT)

    def _retire(self, reason: str, exit_code: int) -> None:
        """Stop claiming; the process then stops as on SIGTERM (running tasks get the
        grace period) and exits with `exit_code`, for its parent to replace it."""
        if self.retired.is_set():
            return
        logger.info("worker process retiring", extra={"reason": reason})
        self._retiring = reason
        self.exit_code = exit_code
        self._claiming = False
        self._capacity.set()
        self.retired.set()

    async def _lease_loop(self) -> None:
        await keep_leases(self.backend, self._running, self.config.lease_s)

    async def _reap_loop(self) -> None:
        while True:
            try:
                reaped = await self.backend.reap(utcnow())
                if reaped:
                    logger.info("returned tasks with expired leases", extra={"count": reaped})
                await self._purge_old_tasks()
            except BackendUnavailable as exc:
                logger.warning("reap failed", extra={"error": str(exc)})
            await asyncio.sleep(self.config.reap_interval_s)

    async def _purge_old_tasks(self) -> None:
        """Delete finished tasks past retention, a bounded amount per round."""
        cutoff = utcnow() - timedelta(seconds=self.config.retention_s)
        for _ in range(_PURGE_ROUNDS):
            if await self.backend.purge(cutoff, _PURGE_BATCH) < _PURGE_BATCH:
                return

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            self.monitor.restart_if_dead_or_stuck(self.config.stuck_thread_s)
            self._check_recycle()
            try:
                await self._heartbeat_once()
            except BackendUnavailable as exc:
                logger.warning("heartbeat failed", extra={"error": str(exc)})

    async def _heartbeat_once(self) -> None:
        await self.backend.record_worker(self.record())

    def record(self) -> WorkerRecord:
        return WorkerRecord(
            id=self.config.worker_id,
            node=self.config.node,
            pid=os.getpid(),
            started_at=self._started_at,
            last_seen=utcnow(),
            threads=self.roster.snapshot(),
            info={
                "hostname": socket.gethostname(),
                "queues": list(self.config.queues),
                "threads": self.config.threads,
                "async_concurrency": self.config.async_concurrency,
                "in_flight": self.in_flight,
                **({"retiring": self._retiring} if self._retiring is not None else {}),
                **self.config.info,
            },
        )


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel tasks and wait until they end, cancelling again while one runs on: a
    cancellation that lands inside a client library's I/O can be swallowed there."""
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
    for task in tasks:
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.warning("worker loop ended with an error", extra={"error": repr(error)})
