"""Wake-ups: waits return when the change happens, not by polling, and always end."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from conveyor.backends import Backend, open_backend
from conveyor.backends.base import Outcome, OutcomeKind
from conveyor.task import Status, Task, utcnow
from tests.backends.conftest import MakeTask


async def test_wait_for_work_returns_at_once_when_work_is_due(
    backend: Backend, make_task: MakeTask
) -> None:
    await backend.submit([make_task()])
    started = time.monotonic()
    await backend.wait_for_work(["default"], 5)
    assert time.monotonic() - started < 0.5


async def test_a_submit_wakes_a_waiting_worker(backend: Backend, make_task: MakeTask) -> None:
    async def submit_later() -> None:
        await asyncio.sleep(0.2)
        await backend.submit([make_task()])

    started = time.monotonic()
    await asyncio.gather(backend.wait_for_work(["default"], 10), submit_later())
    assert time.monotonic() - started < 2


async def test_wait_for_work_times_out(backend: Backend, make_task: MakeTask) -> None:
    await backend.submit([make_task(queue="elsewhere")])
    started = time.monotonic()
    await backend.wait_for_work(["default"], 0.3)
    assert 0.25 <= time.monotonic() - started < 2


async def test_wait_for_work_wakes_when_a_delayed_task_comes_due(
    backend: Backend, make_task: MakeTask
) -> None:
    await backend.submit([make_task(run_at=utcnow() + timedelta(seconds=0.4))])
    started = time.monotonic()
    await backend.wait_for_work(["default"], 10)
    assert 0.3 <= time.monotonic() - started < 2


async def test_wait_for_final_wakes_on_completion(backend: Backend, make_task: MakeTask) -> None:
    await backend.submit([make_task()])
    [task] = await backend.claim("w", ["default"], ["echo"], 1, 30, utcnow())

    async def complete_later() -> None:
        await asyncio.sleep(0.2)
        await backend.finish(
            [Outcome(task.id, task.lease_token or "", OutcomeKind.COMPLETED, "done")], utcnow()
        )

    started = time.monotonic()
    final, _ = await asyncio.gather(backend.wait_for_final(task.id, 10), complete_later())
    assert time.monotonic() - started < 2
    assert final is not None
    assert (final.status, final.result) == (Status.COMPLETED, "done")


async def test_wait_for_final_times_out_and_knows_unknown_ids(
    backend: Backend, make_task: MakeTask
) -> None:
    task = make_task()
    await backend.submit([task])
    started = time.monotonic()
    current = await backend.wait_for_final(task.id, 0.3)
    assert time.monotonic() - started >= 0.25
    assert current is not None
    assert current.status is Status.PENDING
    assert await backend.wait_for_final("no-such-id", 1) is None


async def _woken_by_a_submit(waiting: Backend, other: Backend, task: Task) -> None:
    async def submit_later() -> None:
        await asyncio.sleep(0.2)
        await other.submit([task])

    started = time.monotonic()
    await asyncio.gather(waiting.wait_for_work(["default"], 10), submit_later())
    assert time.monotonic() - started < 1


async def _woken_by_a_completion(waiting: Backend, other: Backend) -> None:
    [claimed] = await other.claim("w", ["default"], ["echo"], 1, 30, utcnow())
    assert claimed.lease_token is not None

    async def complete_later() -> None:
        await asyncio.sleep(0.2)
        done = Outcome(claimed.id, claimed.lease_token or "", OutcomeKind.COMPLETED, result=1)
        await other.finish([done], utcnow())

    started = time.monotonic()
    final, _ = await asyncio.gather(waiting.wait_for_final(claimed.id, 10), complete_later())
    assert final is not None
    assert final.status is Status.COMPLETED
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("first", ["work", "task"])
async def test_another_process_wakes_waiters(
    backend: Backend, make_task: MakeTask, first: str
) -> None:
    """Two opens of one URL stand for two processes: a submit and a completion made
    through one wake a worker and a waiter on the other, each in well under a second,
    whichever it waited for first (a worker waits for work, an API server for a task)."""
    other = open_backend(backend.url)
    await other.open()
    try:
        if first == "work":
            await _woken_by_a_submit(backend, other, make_task())
            await _woken_by_a_completion(backend, other)
        else:
            await other.submit([make_task()])
            await _woken_by_a_completion(backend, other)
            await _woken_by_a_submit(backend, other, make_task())
    finally:
        await other.close()
