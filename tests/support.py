"""Helpers shared by test folders (fixtures stay in each folder's conftest)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from conveyor.service import TaskService
from conveyor.task import Task
from conveyor.worker.runner import Worker

StartWorker = Callable[..., Awaitable[Worker]]


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
