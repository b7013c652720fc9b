"""The SQLite writer shares the file with other processes' writers: it waits for their
write lock (in short steps of its own, not SQLite's 1-100 ms sleeps) rather than failing,
whether the submit comes from an event loop or from a sync caller's own thread; and its
multi-row inserts store batches of any size whole; and the WAL stays bounded. At FULL,
an event loop's submit is answered only once the WAL is fsync'd."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.backends.sqlite import SQLiteBackend
from conveyor.demo import builtin_registry
from conveyor.errors import BackendUnavailable
from conveyor.service import Submitted, TaskRequest, TaskService
from conveyor.task import Status, utcnow


@contextlib.contextmanager
def another_writer(path: Path) -> Iterator[None]:
    """Hold the file's write lock, as another process writing would."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("COMMIT")
        other.close()


@pytest.mark.parametrize("caller", ["event loop", "sync thread"])
async def test_a_submit_waits_for_another_writers_lock(backend: SQLiteBackend, caller: str) -> None:
    service = TaskService(backend, builtin_registry(), "node-a")
    requests = [TaskRequest("echo")]
    with another_writer(backend.path):
        submitting: asyncio.Future[list[Submitted]] = asyncio.ensure_future(
            service.submit(requests)
            if caller == "event loop"
            else asyncio.to_thread(service.submit_blocking, requests)
        )
        await asyncio.sleep(0.3)
        assert not submitting.done()  # neither stored nor failed: waiting
    [stored] = await asyncio.wait_for(submitting, 10)
    assert (await backend.get([stored.task.id]))[0] is not None
    assert (await backend.stats()).by_status[Status.PENDING] == 1


async def test_an_idle_workers_claim_waits_for_another_writers_lock(
    backend: SQLiteBackend,
) -> None:
    """A claim waits for another process's lock on the writer thread: the worker's
    event loop runs on meanwhile, and the claim then takes the task."""
    service = TaskService(backend, builtin_registry(), "node-a")
    [submitted] = await service.submit([TaskRequest("echo")])
    with another_writer(backend.path):
        claiming = asyncio.ensure_future(
            backend.claim("w1", ["default"], ["echo"], 10, 30.0, utcnow())
        )
        started = time.monotonic()
        for _ in range(30):
            await asyncio.sleep(0.01)
        assert time.monotonic() - started < 2  # the loop ran on (blocked, it would take 30 s)
        assert not claiming.done()
    [claimed] = await asyncio.wait_for(claiming, 10)
    assert claimed.id == submitted.task.id
    assert claimed.status is Status.PROCESSING


async def test_a_file_with_the_old_per_row_count_triggers_counts_each_submit_once(
    db_url: str,
) -> None:
    """Files made before counts moved out of per-row insert triggers lose the triggers
    on open, so a submit is not counted twice."""
    first = SQLiteBackend(db_url)
    await first.open()
    await first.close()
    old = sqlite3.connect(first.path, isolation_level=None)
    old.executescript(
        "CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN"
        " INSERT INTO task_counts (queue, status, n) VALUES (new.queue, new.status, 1)"
        " ON CONFLICT (queue, status) DO UPDATE SET n = n + 1; END;"
        "CREATE TRIGGER tasks_total_insert AFTER INSERT ON tasks BEGIN"
        " INSERT INTO task_totals (event, n) VALUES ('submitted', 1)"
        " ON CONFLICT (event) DO UPDATE SET n = n + 1; END;"
    )
    old.close()
    backend = SQLiteBackend(db_url)
    await backend.open()
    try:
        service = TaskService(backend, builtin_registry(), "node-a")
        await service.submit([TaskRequest("echo"), TaskRequest("echo")], batch=True)
        await service.submit([TaskRequest("echo", idempotency_key="k")])
        await service.submit([TaskRequest("echo", idempotency_key="k")])  # the same task
        stats = await backend.stats()
        assert stats.by_status[Status.PENDING] == 3
        assert stats.totals["submitted"] == 3
    finally:
        await backend.close()


async def test_a_batch_of_any_size_is_stored_whole_in_order(backend: SQLiteBackend) -> None:
    """Rows go in by multi-row statements of power-of-two sizes (at most 256 rows each):
    every size splits into statements that store each task once."""
    service = TaskService(backend, builtin_registry(), "node-a")
    submitted = 0
    for size in (1, 3, 255, 256, 257, 600):
        requests = [TaskRequest("echo", {"n": n}) for n in range(size)]
        tasks = [s.task for s in await service.submit(requests, batch=True)]
        submitted += size
        stored = await backend.get([task.id for task in tasks])
        assert [task.payload if task else None for task in stored] == [
            {"n": n} for n in range(size)
        ]
    stats = await backend.stats()
    assert stats.by_status[Status.PENDING] == submitted
    assert stats.totals["submitted"] == submitted


@pytest.mark.parametrize("caller", ["event loop", "sync thread"])
async def test_the_wal_stays_bounded_under_steady_commits_off_the_writer_thread(
    db_url: str, caller: str
) -> None:
    """Commits on the side connections (an event loop's own at NORMAL, a sync caller's)
    skip SQLite's automatic checkpoints; the writer checkpoints between them, so the WAL
    starts over instead of growing by every commit (1,500 of these: about 40 MB)."""
    backend = SQLiteBackend(f"{db_url}?synchronous=NORMAL")
    await backend.open()
    try:
        service = TaskService(backend, builtin_registry(), "node-a")
        wal = backend.path.with_name(backend.path.name + "-wal")
        largest = 0
        for _ in range(1500):
            if caller == "event loop":
                await service.submit([TaskRequest("echo")])
            else:
                await asyncio.to_thread(service.submit_blocking, [TaskRequest("echo")])
            largest = max(largest, wal.stat().st_size)
        assert largest < 8_000_000
        assert (await backend.stats()).by_status[Status.PENDING] == 1500
    finally:
        await backend.close()


async def test_claims_from_two_event_loops_each_take_a_task(backend: SQLiteBackend) -> None:
    """An idle claim runs on its caller's thread on a connection of that thread's own; a
    claim from another thread's event loop queues for the writer thread instead."""
    service = TaskService(backend, builtin_registry(), "node-a")
    await service.submit([TaskRequest("echo"), TaskRequest("echo")], batch=True)

    async def claim(worker: str) -> list[str]:
        return [t.id for t in await backend.claim(worker, ["default"], ["echo"], 1, 30, utcnow())]

    here = await claim("w1")
    there = await asyncio.to_thread(asyncio.run, claim("w2"))
    assert len(here) == len(there) == 1
    assert here != there
    assert (await backend.stats()).by_status[Status.PROCESSING] == 2


async def test_at_full_an_event_loops_submit_is_answered_after_the_wal_is_fsynced(
    backend: SQLiteBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submit from an event loop at FULL commits on the loop without a sync, then the
    WAL file itself is fsync'd off the loop: the caller is answered only after that
    fsync, and the loop runs on while it takes."""
    wal = backend.path.with_name(backend.path.name + "-wal")
    synced: list[int] = []
    real_fsync = os.fsync

    def slow_fsync(descriptor: int) -> None:
        time.sleep(0.3)
        real_fsync(descriptor)
        synced.append(os.fstat(descriptor).st_ino)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    service = TaskService(backend, builtin_registry(), "node-a")
    submitting = asyncio.ensure_future(service.submit([TaskRequest("echo")]))
    ticks = 0
    while not submitting.done():
        await asyncio.sleep(0.01)
        ticks += 1
    [stored] = submitting.result()
    assert synced == [wal.stat().st_ino]
    assert ticks >= 10  # the loop ran during the 0.3 s fsync
    assert (await backend.get([stored.task.id]))[0] is not None


async def test_at_full_a_failed_wal_fsync_is_not_acknowledged(
    backend: SQLiteBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(descriptor: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    service = TaskService(backend, builtin_registry(), "node-a")
    with pytest.raises(BackendUnavailable, match=r"fsync of .*-wal failed"):
        await service.submit([TaskRequest("echo")])
