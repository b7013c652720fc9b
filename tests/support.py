"""Helpers shared by test folders (fixtures stay in each folder's conftest)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

import uuid_utils

from conveyor.service import TaskService
from conveyor.task import Status, Task, utcnow
from conveyor.worker.runner import Worker

StartWorker = Callable[..., Awaitable[Worker]]


def new_task(**fields: object) -> Task:
    """A new pending task with a time-ordered id; keyword arguments override fields
    (`now` sets its created and run times)."""
    now: datetime = fields.pop("now", None) or utcnow()  # type: ignore[assignment]
    base: dict[str, object] = {
        "id": str(uuid_utils.uuid7()),
        "type": "echo",
        "payload": {},
        "priority": 5,
        "queue": "default",
        "status": Status.PENDING,
        "attempts": 0,
        "max_attempts": 3,
        "created_at": now,
        "run_at": now,
    }
    base.update(fields)
    return Task(**base)  # type: ignore[arg-type]


async def wait_final(service: TaskService, task_id: str, timeout_s: float = 10.0) -> Task:
    task = await service.wait(task_id, timeout_s)
    assert task.status.is_final, f"task still {task.status} after {timeout_s} s"
    return task


async def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
