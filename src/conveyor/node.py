"""One Conveyor process: backend, service, and (unless API-only) a worker and demo producer."""

from __future__ import annotations

import asyncio
import logging
import time

from conveyor.backends import Backend, open_backend
from conveyor.config import Settings
from conveyor.demo import DemoProducer
from conveyor.metrics import Metrics
from conveyor.registry import Registry
from conveyor.service import TaskRequest, TaskService
from conveyor.worker.roster import Roster
from conveyor.worker.runner import Worker, WorkerConfig

logger = logging.getLogger(__name__)


class Node:
    """What `conveyor serve` and `conveyor worker` run, started and stopped as one."""

    def __init__(self, settings: Settings, registry: Registry, *, run_workers: bool) -> None:
        self.settings = settings
        self.registry = registry
        self.run_workers = run_workers
        self.started_monotonic = time.monotonic()
        self.metrics = Metrics()
        self.roster = Roster()
        self.backend: Backend = open_backend(settings.backend)
        self.service = TaskService(self.backend, registry, settings.node_id, self.metrics)
        self.worker: Worker | None = None
        self.producer: DemoProducer | None = None

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_monotonic

    async def start(self) -> None:
        await self.backend.open()
        if self.run_workers:
            s = self.settings
            self.worker = Worker(
                self.backend,
                self.registry,
                WorkerConfig(
                    worker_id=s.node_id,
                    node=s.node_id,
                    queues=tuple(s.queues),
                    threads=s.threads,
                    async_concurrency=s.async_concurrency,
                    lease_s=s.lease_seconds,
                    reap_interval_s=s.reap_interval_seconds,
                    heartbeat_s=s.heartbeat_seconds,
                    retention_s=s.retention_seconds,
                    monitor_interval_s=s.monitor_interval_seconds,
                ),
                roster=self.roster,
                metrics=self.metrics,
            )
            await self.worker.start()
        if self.settings.demo:
            self._start_demo()
        logger.info(
            "node started",
            extra={
                "node": self.settings.node_id,
                "backend": self.settings.backend,
                "workers": self.run_workers,
            },
        )

    def _start_demo(self) -> None:
        loop = asyncio.get_running_loop()

        def submit(task_type: str, payload: dict[str, object], priority: int) -> None:
            request = TaskRequest(type=task_type, payload=payload, priority=priority)
            asyncio.run_coroutine_threadsafe(self.service.submit([request]), loop).result(30)

        self.producer = DemoProducer(submit, self.settings.demo_rate, self.roster)
        self.producer.start()
        if self.worker is not None:
            self.worker.monitor.watch(self.producer.restart_if_dead)

    async def stop(self) -> None:
        if self.producer is not None:
            await asyncio.to_thread(self.producer.stop)
        if self.worker is not None:
            await self.worker.stop(self.settings.shutdown_grace_seconds)
        await self.backend.close()
        logger.info("node stopped", extra={"node": self.settings.node_id})
