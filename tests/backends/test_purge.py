"""purge: retention deletes old final tasks only, in bounded batches."""

from __future__ import annotations

from datetime import timedelta

from conveyor.backends import Backend
from conveyor.task import Status, utcnow
from tests.backends.conftest import MakeTask


async def test_purge_deletes_only_old_final_tasks(backend: Backend, make_task: MakeTask) -> None:
    old = [make_task() for _ in range(5)]
    await backend.submit([*old, make_task(), make_task()])
    await backend.cancel([t.id for t in old], utcnow())
    await backend.claim("w", ["default"], ["echo"], 1, 30, utcnow())  # one processing, one pending
    later = utcnow() + timedelta(days=8)
    assert await backend.purge(utcnow() - timedelta(days=1), 100) == 0  # none that old yet
    assert await backend.purge(later, 3) == 3
    assert await backend.purge(later, 3) == 2
    stats = await backend.stats()
    assert stats.by_status[Status.CANCELED] == 0
    assert stats.by_status[Status.PENDING] + stats.by_status[Status.PROCESSING] == 2
    assert await backend.get([old[0].id]) == [None]


async def test_a_purged_tasks_idempotency_key_can_be_used_again(
    backend: Backend, make_task: MakeTask
) -> None:
    first = make_task(idempotency_key="order-7")
    await backend.submit([first])
    await backend.cancel([first.id], utcnow())
    assert await backend.purge(utcnow() + timedelta(seconds=1), 10) == 1
    second = make_task(idempotency_key="order-7")
    [stored] = await backend.submit([second])
    assert stored.id == second.id
