"""Fixtures for unit tests: a real SQLite backend in tmp_path and workers that clean up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conveyor.backends.sqlite import SQLiteBackend
from conveyor.registry import Registry
from conveyor.worker.runner import Worker, WorkerConfig
from tests.support import StartWorker


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'unit.db'}"


@pytest.fixture
async def backend(db_url: str) -> AsyncIterator[SQLiteBackend]:
    opened = SQLiteBackend(db_url)
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
async def start_worker(backend: SQLiteBackend) -> AsyncIterator[StartWorker]:
    """Start workers on the test's backend; every one is stopped at teardown."""
    started: list[Worker] = []

    async def start(registry: Registry, **config: object) -> Worker:
        options: dict[str, object] = {
            "worker_id": f"test-worker-{len(started)}",
            "node": "test",
            "monitor_interval_s": 0.05,
            "heartbeat_s": 0.2,
        }
        options.update(config)
        worker = Worker(backend, registry, WorkerConfig(**options))  # type: ignore[arg-type]
        await worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop(grace_s=0.5)
