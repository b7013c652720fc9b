"""claim: order, due times, queues, limits, one claimer per task."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from conveyor.backends import Backend
from conveyor.backends.base import Outcome, OutcomeKind, Renewal
from conveyor.task import Status, utcnow
from tests.backends.conftest import MakeTask


async def test_highest_priority_first_then_oldest(backend: Backend, make_task: MakeTask) -> None:
    low = [make_task(priority=0) for _ in range(3)]
    high = make_task(priority=9)
    mid = make_task(priority=5)
    await backend.submit([*low, high, mid])
    claimed = await backend.claim("w", ["default"], ["echo"], 10, 30, utcnow())
    assert [t.id for t in claimed] == [high.id, mid.id, *(t.id for t in low)]


async def test_claim_takes_the_lease(backend: Backend, make_task: MakeTask) -> None:
    await backend.submit([make_task()])
    now = utcnow()
    [task] = await backend.claim("worker-7", ["default"], ["echo"], 1, 30, now)
    assert task.status is Status.PROCESSING
    assert task.attempts == 1
    assert task.handled_by == "worker-7"
    assert task.started_at is not None
    assert task.lease_token
    assert task.lease_expires_at is not None
    assert abs((task.lease_expires_at - now).total_seconds() - 30) < 0.01
    assert await backend.claim("other", ["default"], ["echo"], 1, 30, now) == []


async def test_a_claimed_task_reads_back_as_stored(backend: Backend, make_task: MakeTask) -> None:
    task = make_task(
        payload={"name": "naïve ☃", "nested": {"list": [1, 2.5, None, True]}, "big": 2**53},
        timeout_s=2.0,
        idempotency_key="k-1",
        initiated_by="node-a",
    )
    await backend.submit([task])
    [claimed] = await backend.claim("w", ["default"], ["echo"], 1, 30, utcnow())
    assert claimed.payload == task.payload
    assert (claimed.timeout_s, claimed.idempotency_key) == (2.0, "k-1")
    assert isinstance(claimed.timeout_s, float)
    assert (claimed.created_at, claimed.run_at) == (task.created_at, task.run_at)
    [fetched] = await backend.get([task.id])
    assert fetched == claimed


async def test_a_task_claimed_again_after_a_retry_reads_back_as_stored(
    backend: Backend, make_task: MakeTask
) -> None:
    """Every field a task gains on its way (progress, error, traceback) comes back in a
    later claim as a read shows it."""
    task = make_task()
    await backend.submit([task])
    [first] = await backend.claim("w", ["default"], ["echo"], 1, 30, utcnow())
    token = first.lease_token or ""
    await backend.extend([Renewal(task.id, token, 0.5, "half way")], 30, utcnow())
    retry = Outcome(
        task.id, token, OutcomeKind.RETRY, error="boom", traceback="Traceback ...", run_at=utcnow()
    )
    assert await backend.finish([retry], utcnow()) == [True]
    [second] = await backend.claim("w2", ["default"], ["echo"], 1, 30, utcnow())
    assert (second.attempts, second.handled_by, second.error) == (2, "w2", "boom")
    assert (second.progress, second.progress_message) == (0.5, "half way")
    assert second.traceback == "Traceback ..."
    [fetched] = await backend.get([task.id])
    assert fetched == second


async def test_only_due_tasks(backend: Backend, make_task: MakeTask) -> None:
    now = utcnow()
    later = make_task(run_at=now + timedelta(seconds=60), priority=9)
    await backend.submit([later])
    assert await backend.claim("w", ["default"], ["echo"], 5, 30, now) == []
    [task] = await backend.claim("w", ["default"], ["echo"], 5, 30, now + timedelta(seconds=61))
    assert task.id == later.id


async def test_only_the_asked_queues(backend: Backend, make_task: MakeTask) -> None:
    images, mail = make_task(queue="images"), make_task(queue="mail")
    await backend.submit([images, mail, make_task(queue="other")])
    claimed = await backend.claim("w", ["images", "mail"], ["echo"], 10, 30, utcnow())
    assert {t.id for t in claimed} == {images.id, mail.id}


async def test_limit(backend: Backend, make_task: MakeTask) -> None:
    await backend.submit([make_task() for _ in range(5)])
    assert len(await backend.claim("w", ["default"], ["echo"], 2, 30, utcnow())) == 2
    assert len(await backend.claim("w", ["default"], ["echo"], 0, 30, utcnow())) == 0
    assert len(await backend.claim("w", ["default"], ["echo"], 10, 30, utcnow())) == 3


async def test_concurrent_claims_never_share_a_task(backend: Backend, make_task: MakeTask) -> None:
    await backend.submit([make_task() for _ in range(100)])
    now = utcnow()
    batches = await asyncio.gather(
        *(backend.claim(f"w{i}", ["default"], ["echo"], 7, 30, now) for i in range(20))
    )
    ids = [t.id for batch in batches for t in batch]
    assert len(ids) == 100
    assert len(set(ids)) == 100


async def test_only_the_asked_types(backend: Backend, make_task: MakeTask) -> None:
    mine, other = make_task(type="resize"), make_task(type="email", priority=9)
    await backend.submit([mine, other])
    [claimed] = await backend.claim("w", ["default"], ["resize", "crop"], 10, 30, utcnow())
    assert claimed.id == mine.id
    assert await backend.claim("w", ["default"], [], 10, 30, utcnow()) == []
