"""Leases: renewal with the token, stale tokens, the reaper."""

from __future__ import annotations

from datetime import timedelta

from conveyor.backends import Backend
from conveyor.backends.base import Outcome, OutcomeKind, Renewal
from conveyor.task import Status, Task, utcnow
from tests.backends.conftest import MakeTask


async def claimed(backend: Backend, make_task: MakeTask, **fields: object) -> Task:
    await backend.submit([make_task(**fields)])
    [task] = await backend.claim("w", ["default"], ["echo"], 1, 30, utcnow())
    return task


async def test_extend_moves_the_lease_and_stores_progress(
    backend: Backend, make_task: MakeTask
) -> None:
    task = await claimed(backend, make_task)
    later = utcnow() + timedelta(seconds=20)
    assert task.lease_token is not None
    [state] = await backend.extend([Renewal(task.id, task.lease_token, 0.4, "reading")], 30, later)
    assert state.held
    assert not state.cancel_requested
    [after] = await backend.get([task.id])
    assert after is not None
    assert after.lease_expires_at is not None
    assert abs((after.lease_expires_at - later).total_seconds() - 30) < 0.01
    assert (after.progress, after.progress_message) == (0.4, "reading")


async def test_a_stale_token_changes_nothing(backend: Backend, make_task: MakeTask) -> None:
    task = await claimed(backend, make_task)
    [state] = await backend.extend([Renewal(task.id, "stale", 0.9)], 30, utcnow())
    assert not state.held
    assert await backend.finish(
        [Outcome(task.id, "stale", OutcomeKind.COMPLETED, "x")], utcnow()
    ) == [False]
    [after] = await backend.get([task.id])
    assert after is not None
    assert after.status is Status.PROCESSING
    assert after.progress is None
    assert after.result is None


async def test_reap_returns_expired_tasks_to_pending(backend: Backend, make_task: MakeTask) -> None:
    task = await claimed(backend, make_task)
    assert await backend.reap(utcnow()) == 0  # not expired yet
    assert await backend.reap(utcnow() + timedelta(seconds=31)) == 1
    [after] = await backend.get([task.id])
    assert after is not None
    assert after.status is Status.PENDING
    assert after.attempts == 1
    assert after.lease_token is None
    assert "lease expired" in (after.error or "")
    # the old lease holder can no longer record an outcome
    assert task.lease_token is not None
    assert await backend.finish(
        [Outcome(task.id, task.lease_token, OutcomeKind.COMPLETED)], utcnow()
    ) == [False]
    [again] = await backend.claim("w2", ["default"], ["echo"], 1, 30, utcnow())
    assert again.attempts == 2
    assert again.lease_token != task.lease_token


async def test_reap_fails_a_task_whose_attempts_are_used_up(
    backend: Backend, make_task: MakeTask
) -> None:
    task = await claimed(backend, make_task, max_attempts=1)
    assert await backend.reap(utcnow() + timedelta(seconds=31)) == 1
    [after] = await backend.get([task.id])
    assert after is not None
    assert after.status is Status.FAILED
    assert after.finished_at is not None
    assert "lease expired" in (after.error or "")


async def test_an_expired_lease_on_a_cancel_requested_task_ends_canceled(
    backend: Backend, make_task: MakeTask
) -> None:
    task = await claimed(backend, make_task)
    await backend.cancel([task.id], utcnow())
    await backend.reap(utcnow() + timedelta(seconds=31))
    [after] = await backend.get([task.id])
    assert after is not None
    assert after.status is Status.CANCELED


async def test_reclaim_takes_back_what_dead_workers_held(
    backend: Backend, make_task: MakeTask
) -> None:
    await backend.submit([make_task(), make_task(), make_task()])
    await backend.claim("dead-1", ["default"], ["echo"], 2, 30, utcnow())
    [kept] = await backend.claim("alive", ["default"], ["echo"], 1, 30, utcnow())
    assert await backend.reclaim(["dead-1", "never-seen"], "it died", utcnow()) == 2
    stats = await backend.stats()
    assert (stats.by_status[Status.PENDING], stats.by_status[Status.PROCESSING]) == (2, 1)
    [still] = await backend.get([kept.id])
    assert still is not None
    assert still.handled_by == "alive"
    assert await backend.reclaim([], "it died", utcnow()) == 0


async def test_reclaim_records_how_the_worker_died_and_keeps_it_through_the_retry(
    backend: Backend, make_task: MakeTask
) -> None:
    retried, last, asked = make_task(), make_task(max_attempts=1), make_task()
    await backend.submit([retried, last, asked])
    await backend.claim("killed", ["default"], ["echo"], 3, 30, utcnow())
    await backend.cancel([asked.id], utcnow())
    why = "the worker process running it was killed by SIGKILL (out of memory)"
    assert await backend.reclaim(["killed"], why, utcnow()) == 3
    after = {t.id: t for t in await backend.get([retried.id, last.id, asked.id]) if t}
    # The attempt stays counted, and the error says what ended it.
    assert after[retried.id].status is Status.PENDING
    assert after[retried.id].attempts == 1
    assert after[retried.id].error == f"{why} (attempt 1 of 3, worker killed)"
    assert after[last.id].status is Status.FAILED
    assert after[last.id].error == f"{why} (attempt 1 of 1, worker killed)"
    assert after[last.id].finished_at is not None
    assert after[asked.id].status is Status.CANCELED
    assert after[asked.id].error is None  # canceled on request, not by the death
    # Claimed again, the task still shows why its last attempt ended.
    [again] = await backend.claim("next", ["default"], ["echo"], 1, 30, utcnow())
    assert again.id == retried.id
    assert (again.attempts, again.error) == (2, f"{why} (attempt 1 of 3, worker killed)")
    [stored] = await backend.get([retried.id])
    assert stored is not None
    assert stored.error == again.error
