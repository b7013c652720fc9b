"""submit: round trip, all or none, idempotency keys."""

from __future__ import annotations

import asyncio
import concurrent.futures
from datetime import timedelta

import pytest

from conveyor.backends import Backend
from conveyor.errors import InvalidTask
from conveyor.task import Status, utcnow
from tests.backends.conftest import MakeTask


async def test_every_field_round_trips(backend: Backend, make_task: MakeTask) -> None:
    now = utcnow()
    task = make_task(
        type="resize",
        payload={"name": "naïve ☃", "nested": {"list": [1, 2.5, None, True]}},
        priority=9,
        queue="images",
        max_attempts=7,
        timeout_s=2.5,
        idempotency_key=None,
        initiated_by="node-a",
        now=now,
        run_at=now + timedelta(seconds=30),
    )
    [stored] = await backend.submit([task])
    assert stored == task
    [fetched] = await backend.get([task.id])
    assert fetched == task


async def test_a_batch_is_stored_in_order(backend: Backend, make_task: MakeTask) -> None:
    tasks = [make_task(payload={"n": n}) for n in range(50)]
    stored = await backend.submit(tasks)
    assert [t.id for t in stored] == [t.id for t in tasks]
    fetched = await backend.get([t.id for t in tasks])
    assert [t.payload["n"] for t in fetched if t] == list(range(50))
    assert (await backend.stats()).by_status[Status.PENDING] == 50


async def test_a_failing_batch_stores_nothing(backend: Backend, make_task: MakeTask) -> None:
    first = make_task()
    with pytest.raises(InvalidTask) as caught:
        await backend.submit([make_task(), first, first])
    assert caught.value.field == "id"
    assert sum((await backend.stats()).by_status.values()) == 0


async def test_an_idempotency_key_returns_the_stored_task(
    backend: Backend, make_task: MakeTask
) -> None:
    original = make_task(idempotency_key="order-1", payload={"v": 1})
    [stored] = await backend.submit([original])
    repeat = make_task(idempotency_key="order-1", payload={"v": 2})
    other = make_task()
    again, fresh = await backend.submit([repeat, other])
    assert stored.id == original.id
    assert again.id == original.id
    assert again.payload == {"v": 1}
    assert fresh.id == other.id
    assert (await backend.get([repeat.id])) == [None]
    assert (await backend.stats()).by_status[Status.PENDING] == 2


async def test_a_blocking_submit_stores_like_submit(backend: Backend, make_task: MakeTask) -> None:
    """A sync producer's thread stores through the blocking path, keyed tasks included;
    an id already stored is refused there too, storing nothing."""
    task, keyed = make_task(), make_task(idempotency_key="once")
    await backend.submit([make_task(idempotency_key="once")])
    stored = await asyncio.to_thread(backend.submit_blocking, [task, keyed])
    assert stored[0] == task
    assert stored[1].id != keyed.id  # the task stored earlier under that key
    [fetched] = await backend.get([task.id])
    assert fetched == task
    fresh = make_task()
    with pytest.raises(InvalidTask):
        await asyncio.to_thread(backend.submit_blocking, [fresh, task])
    assert await backend.get([fresh.id]) == [None]


async def test_blocking_submits_from_many_threads_at_once_all_land(
    backend: Backend, make_task: MakeTask
) -> None:
    """Threads that find the fast path taken by another (SQLite's caller-thread commit,
    Redis's dedicated connection) go the shared way instead: every task is stored once."""
    batches = [[make_task() for _ in range(5)] for _ in range(40)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        stored = await asyncio.gather(
            *(asyncio.wrap_future(pool.submit(backend.submit_blocking, b)) for b in batches)
        )
    assert stored == batches
    ids = [task.id for batch in batches for task in batch]
    assert None not in await backend.get(ids)
    assert (await backend.stats()).by_status[Status.PENDING] == len(ids)
