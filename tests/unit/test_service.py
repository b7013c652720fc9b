"""The service: validation before storage, group commit, idempotency, cancel rules."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from conveyor.backends.sqlite import SQLiteBackend
from conveyor.demo import builtin_registry
from conveyor.errors import InvalidTask, TaskFinished, TaskNotFound, TaskRunning
from conveyor.service import TaskRequest, TaskService
from conveyor.task import Status, Task, utcnow


class CountingBackend(SQLiteBackend):
    """The real SQLite backend, counting submit calls."""

    submit_calls = 0

    async def submit(self, tasks: Sequence[Task]) -> list[Task]:
        self.submit_calls += 1
        return await super().submit(tasks)


@pytest.fixture
async def counting(db_url: str):  # type: ignore[no-untyped-def]
    backend = CountingBackend(db_url)
    await backend.open()
    yield backend
    await backend.close()


def service(backend: SQLiteBackend) -> TaskService:
    return TaskService(backend, builtin_registry(), "node-a")


async def test_concurrent_submits_share_commits(counting: CountingBackend) -> None:
    svc = service(counting)
    results = await asyncio.gather(
        *(svc.submit([TaskRequest("echo", {"n": i})]) for i in range(200))
    )
    assert len({r[0].task.id for r in results}) == 200
    assert counting.submit_calls < 20  # group commit: far fewer transactions than requests
    stats = await counting.stats()
    assert stats.by_status["pending"] == 200


async def test_defaults_and_identity(backend: SQLiteBackend) -> None:
    [done] = await service(backend).submit([TaskRequest("echo")])
    task = done.task
    assert (task.priority, task.queue, task.payload, task.max_attempts) == (5, "default", {}, 3)
    assert task.initiated_by == "node-a"
    assert task.status is Status.PENDING
    assert done.created


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (TaskRequest("nope"), "type"),
        (TaskRequest("echo", priority=10), "priority"),
        (TaskRequest("echo", priority=-1), "priority"),
        (TaskRequest("echo", queue="bad queue!"), "queue"),
        (TaskRequest("echo", max_attempts=0), "max_attempts"),
        (TaskRequest("echo", timeout_s=0), "timeout"),
        (TaskRequest("echo", delay_s=-1), "delay"),
        (TaskRequest("add", {"a": 1}), "payload.b"),
    ],
)
async def test_invalid_requests_name_the_field_and_store_nothing(
    backend: SQLiteBackend, request_: TaskRequest, field: str
) -> None:
    with pytest.raises(InvalidTask) as caught:
        await service(backend).submit([request_])
    assert caught.value.field == field
    assert (await backend.stats()).by_status["pending"] == 0


async def test_a_batch_with_one_bad_task_stores_none(backend: SQLiteBackend) -> None:
    with pytest.raises(InvalidTask) as caught:
        await service(backend).submit([TaskRequest("echo"), TaskRequest("echo", priority=99)])
    assert caught.value.field == "tasks[1].priority"
    assert sum((await backend.stats()).by_status.values()) == 0


async def test_idempotency_key_returns_the_first_task(backend: SQLiteBackend) -> None:
    svc = service(backend)
    [first] = await svc.submit([TaskRequest("echo", idempotency_key="order-7")])
    [again] = await svc.submit([TaskRequest("echo", {"other": 1}, idempotency_key="order-7")])
    assert first.created
    assert not again.created
    assert again.task.id == first.task.id
    assert (await backend.stats()).by_status["pending"] == 1


async def test_delay_sets_run_at(backend: SQLiteBackend) -> None:
    before = utcnow()
    [done] = await service(backend).submit([TaskRequest("echo", delay_s=60)])
    assert done.task.run_at - before >= timedelta(seconds=59)


async def test_cancel_rules(backend: SQLiteBackend) -> None:
    svc = service(backend)
    [done] = await svc.submit([TaskRequest("echo")])
    outcome = await svc.cancel(done.task.id)
    assert outcome.task.status is Status.CANCELED
    with pytest.raises(TaskFinished):
        await svc.cancel(done.task.id)
    with pytest.raises(TaskNotFound):
        await svc.cancel("0000")


async def test_retry_rules(backend: SQLiteBackend) -> None:
    svc = service(backend)
    [done] = await svc.submit([TaskRequest("echo")])
    with pytest.raises(TaskRunning):
        await svc.retry(done.task.id)  # still pending
    await svc.cancel(done.task.id)
    change = await svc.retry(done.task.id)
    assert change.previous is Status.CANCELED
    assert change.task.status is Status.PENDING
    assert change.task.attempts == 0
    assert change.task.finished_at is None
    with pytest.raises(TaskNotFound):
        await svc.retry("0000")
