"""The SQLite writer shares the file with other processes' writers: it waits for their
write lock (in short steps of its own, not SQLite's 1-100 ms sleeps) rather than failing."""

from __future__ import annotations

import asyncio
import sqlite3

from conveyor.backends.sqlite import SQLiteBackend
from conveyor.demo import builtin_registry
from conveyor.service import TaskRequest, TaskService
from conveyor.task import Status


async def test_a_submit_waits_for_another_writers_lock(backend: SQLiteBackend) -> None:
    other = sqlite3.connect(backend.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    try:
        service = TaskService(backend, builtin_registry(), "node-a")
        submitting = asyncio.ensure_future(service.submit([TaskRequest("echo")]))
        await asyncio.sleep(0.3)
        assert not submitting.done()  # neither stored nor failed: waiting
    finally:
        other.execute("COMMIT")
        other.close()
    [stored] = await asyncio.wait_for(submitting, 10)
    assert (await backend.get([stored.task.id]))[0] is not None
    assert (await backend.stats()).by_status[Status.PENDING] == 1
