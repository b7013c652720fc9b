"""One Conveyor process: backend, service, and (unless API-only) workers and demo producer.

Workers run inside this process, or in child processes that this one supervises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from datetime import UTC, datetime, timedelta

from conveyor.backends import Backend, open_backend
from conveyor.backends.base import WorkerRecord
from conveyor.config import Settings, redact, settings_env
from conveyor.demo import DemoProducer
from conveyor.errors import BackendUnavailable
from conveyor.metrics import Metrics
from conveyor.registry import Registry
from conveyor.service import TaskRequest, TaskService
from conveyor.task import utcnow
from conveyor.worker.monitor import Monitor
from conveyor.worker.roster import Roster
from conveyor.worker.runner import Worker, WorkerConfig
from conveyor.worker.supervisor import ProcessSupervisor

logger = logging.getLogger(__name__)

_RETIRE_MARGIN_S = 5.0
"""Beyond the shutdown grace, what a retiring worker process gets to stop its threads
and close its backend before its supervisor ends it."""


def worker_processes(settings: Settings, *, serving: bool) -> int:
    """How many worker child processes to run (0: the worker runs in this process)."""
    if settings.processes is not None:
        return settings.processes
    cores = os.cpu_count() or 1
    return cores if serving and cores > 1 else 0


class Node:
    """What `conveyor serve` and `conveyor worker` run, started and stopped as one."""

    def __init__(
        self, settings: Settings, registry: Registry, *, run_workers: bool, serving: bool = False
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.run_workers = run_workers
        self.processes = worker_processes(settings, serving=serving) if run_workers else 0
        self.started_monotonic = time.monotonic()
        self.started_at = utcnow()
        self.metrics = Metrics()
        self.roster = Roster()
        self.backend: Backend = open_backend(settings.backend)
        self.service = TaskService(self.backend, registry, settings.node_id, self.metrics)
        self.worker: Worker | None = None
        self.supervisor: ProcessSupervisor | None = None
        self.monitor: Monitor | None = None
        self.producer: DemoProducer | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self.stalled: list[str] = []
        """Worker processes found not heartbeating at the last check (/ready reports them)."""

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_monotonic

    async def start(self) -> None:
        await self._open_backend()
        if self.run_workers and self.processes == 0:
            await self._start_worker()
        elif self.run_workers:
            self._start_supervisor()
        if self.settings.demo:
            self._start_demo()
        logger.info(
            "node started",
            extra={
                "node": self.settings.node_id,
                "backend": self.settings.backend,
                "workers": self.run_workers,
                "processes": self.processes,
            },
        )

    async def _open_backend(self) -> None:
        """Open storage, waiting (with backoff, up to --startup-wait-seconds) for a
        backend server that is not up yet, as when a whole cluster boots at once."""
        deadline = time.monotonic() + self.settings.startup_wait_seconds
        delay = 0.2
        while True:
            try:
                await self.backend.open()
                return
            except BackendUnavailable as exc:
                if time.monotonic() + delay > deadline:
                    raise
                logger.warning(
                    "backend unavailable; retrying",
                    extra={"backend": redact(self.settings.backend), "error": exc.message},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _start_worker(self) -> None:
        s = self.settings
        self.worker = Worker(
            self.backend,
            self.registry,
            WorkerConfig(
                worker_id=s.node_id,
                node=s.node_id,
                queues=tuple(s.queues),
                threads=s.threads,
                prefetch=s.prefetch,
                async_concurrency=s.async_concurrency,
                lease_s=s.lease_seconds,
                reap_interval_s=s.reap_interval_seconds,
                heartbeat_s=s.heartbeat_seconds,
                retention_s=s.retention_seconds,
                cancel_grace_s=s.cancel_grace_seconds,
                max_tasks=s.max_tasks_per_child if s.supervised else None,
                max_memory_mb=s.max_memory_per_child if s.supervised else None,
                retire_on_abandon=s.supervised,
                predecessor_exit=s.predecessor_exit if s.supervised else None,
                monitor_interval_s=s.monitor_interval_seconds,
                stuck_thread_s=s.stuck_thread_seconds,
            ),
            roster=self.roster,
            metrics=self.metrics,
        )
        await self.worker.start()
        self.monitor = self.worker.monitor

    def _start_supervisor(self) -> None:
        self.supervisor = ProcessSupervisor(
            self.processes, self.settings.node_id, settings_env(self.settings)
        )
        self.supervisor.start()
        self.monitor = Monitor(self.roster, self.settings.monitor_interval_seconds)
        self.monitor.watch(self.supervisor.check)
        self.monitor.start()
        self._heartbeat = asyncio.create_task(self._heartbeat_loop())

    def _start_demo(self) -> None:
        loop = asyncio.get_running_loop()

        def submit(task_type: str, payload: dict[str, object], priority: int) -> None:
            request = TaskRequest(type=task_type, payload=payload, priority=priority)
            asyncio.run_coroutine_threadsafe(self.service.submit([request]), loop).result(30)

        self.producer = DemoProducer(submit, self.settings.demo_rate, self.roster)
        self.producer.start()
        if self.monitor is not None:
            producer = self.producer
            stuck_s = self.settings.stuck_thread_seconds
            self.monitor.watch(lambda: producer.restart_if_dead_or_stuck(stuck_s))

    def record(self) -> WorkerRecord:
        """This supervising process as /workers shows it: its threads and its children."""
        children = self.supervisor.snapshot() if self.supervisor else []
        return WorkerRecord(
            id=self.settings.node_id,
            node=self.settings.node_id,
            pid=os.getpid(),
            started_at=self.started_at,
            last_seen=utcnow(),
            threads=self.roster.snapshot(),
            info={"hostname": socket.gethostname(), "role": "supervisor", "processes": children},
        )

    async def _heartbeat_loop(self) -> None:
        while True:
            if self.monitor is not None:
                self.monitor.restart_if_dead_or_stuck(self.settings.stuck_thread_seconds)
            try:
                await self.backend.record_worker(self.record())
                await self._watch_children()
            except BackendUnavailable as exc:
                logger.warning("heartbeat failed", extra={"error": str(exc)})
            await asyncio.sleep(self.settings.heartbeat_seconds)

    async def _watch_children(self) -> None:
        """A child whose process lives but whose heartbeats stopped (its event loop is
        stuck) is killed; the monitor then starts a new one, which reclaims its tasks.
        A child that says it is retiring gets the shutdown grace (and a margin) to exit."""
        if self.supervisor is None:
            return
        seen = {record.id: record for record in await self.backend.workers()}
        silent_after = timedelta(seconds=5 * self.settings.heartbeat_seconds + 5)
        exit_within_s = self.settings.shutdown_grace_seconds + _RETIRE_MARGIN_S
        now = utcnow()
        self.stalled = []
        for child in self.supervisor.children:
            started = datetime.fromtimestamp(child.started_at, UTC)
            record = seen.get(child.node_id)
            last = record.last_seen if record is not None else started
            if max(last, started) < now - silent_after:
                self.stalled.append(child.node_id)
                logger.warning(
                    "worker process stopped heartbeating; restarting it",
                    extra={"node": child.node_id},
                )
                self.supervisor.kill(child, "it stopped heartbeating")
            elif record is not None and isinstance(retiring := record.info.get("retiring"), str):
                self.supervisor.note_retiring(child, record.pid, retiring, exit_within_s)

    async def stop(self) -> None:
        if self.producer is not None:
            await asyncio.to_thread(self.producer.stop)
        if self.worker is not None:
            await self.worker.stop(self.settings.shutdown_grace_seconds)
        if self.supervisor is not None:
            await asyncio.to_thread(self.supervisor.stop, self.settings.shutdown_grace_seconds)
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            if self.monitor is not None:
                self.monitor.stop()
            with contextlib.suppress(BackendUnavailable):
                await self.backend.remove_worker(self.settings.node_id)
        await self.backend.close()
        logger.info("node stopped", extra={"node": self.settings.node_id})
