"""finish: each outcome kind, applied only under the current lease."""

from __future__ import annotations

from datetime import timedelta

from conveyor.backends import Backend
from conveyor.backends.base import Outcome, OutcomeKind
from conveyor.task import Status, Task, utcnow
from tests.backends.conftest import MakeTask


async def claim_one(backend: Backend, make_task: MakeTask) -> Task:
    await backend.submit([make_task()])
    [task] = await backend.claim("w", ["default"], ["echo"], 1, 30, utcnow())
    assert task.lease_token is not None
    return task


async def finished(backend: Backend, task: Task, outcome: Outcome) -> Task:
    assert await backend.finish([outcome], utcnow()) == [True]
    [after] = await backend.get([task.id])
    assert after is not None
    return after


async def test_completed_keeps_the_result(backend: Backend, make_task: MakeTask) -> None:
    task = await claim_one(backend, make_task)
    after = await finished(
        backend,
        task,
        Outcome(task.id, task.lease_token or "", OutcomeKind.COMPLETED, {"sum": [1, 2]}),
    )
    assert (after.status, after.result) == (Status.COMPLETED, {"sum": [1, 2]})
    assert after.finished_at is not None
    assert after.lease_token is None


async def test_failed_keeps_error_and_traceback(backend: Backend, make_task: MakeTask) -> None:
    task = await claim_one(backend, make_task)
    outcome = Outcome(
        task.id,
        task.lease_token or "",
        OutcomeKind.FAILED,
        error="ValueError: x",
        traceback="Traceback ...",
    )
    after = await finished(backend, task, outcome)
    assert (after.status, after.error, after.traceback) == (
        Status.FAILED,
        "ValueError: x",
        "Traceback ...",
    )
    assert after.finished_at is not None


async def test_retry_goes_back_to_pending_at_run_at(backend: Backend, make_task: MakeTask) -> None:
    task = await claim_one(backend, make_task)
    run_at = utcnow() + timedelta(seconds=60)
    after = await finished(
        backend,
        task,
        Outcome(task.id, task.lease_token or "", OutcomeKind.RETRY, error="boom", run_at=run_at),
    )
    assert after.status is Status.PENDING
    assert after.attempts == 1
    assert after.error == "boom"
    assert await backend.claim("w", ["default"], ["echo"], 1, 30, utcnow()) == []
    [again] = await backend.claim("w", ["default"], ["echo"], 1, 30, run_at + timedelta(seconds=1))
    assert again.attempts == 2


async def test_release_does_not_count_the_attempt(backend: Backend, make_task: MakeTask) -> None:
    task = await claim_one(backend, make_task)
    after = await finished(
        backend, task, Outcome(task.id, task.lease_token or "", OutcomeKind.RELEASE)
    )
    assert (after.status, after.attempts) == (Status.PENDING, 0)
    assert len(await backend.claim("w", ["default"], ["echo"], 1, 30, utcnow())) == 1


async def test_canceled(backend: Backend, make_task: MakeTask) -> None:
    task = await claim_one(backend, make_task)
    after = await finished(
        backend,
        task,
        Outcome(task.id, task.lease_token or "", OutcomeKind.CANCELED, error="canceled"),
    )
    assert after.status is Status.CANCELED
    assert after.finished_at is not None


async def test_only_one_of_two_outcomes_for_the_same_lease_applies(
    backend: Backend, make_task: MakeTask
) -> None:
    task = await claim_one(backend, make_task)
    token = task.lease_token or ""
    accepted = await backend.finish(
        [
            Outcome(task.id, token, OutcomeKind.COMPLETED, 1),
            Outcome(task.id, token, OutcomeKind.FAILED, error="late"),
        ],
        utcnow(),
    )
    assert accepted == [True, False]
    [after] = await backend.get([task.id])
    assert after is not None
    assert (after.status, after.result) == (Status.COMPLETED, 1)


async def test_a_mixed_batch_applies_each_outcome_by_its_own_lease(
    backend: Backend, make_task: MakeTask
) -> None:
    await backend.submit([make_task() for _ in range(5)])
    done, failed, retried, released, stale = await backend.claim(
        "w", ["default"], ["echo"], 5, 30, utcnow()
    )
    later = utcnow() + timedelta(seconds=60)

    def token(task: Task) -> str:
        return task.lease_token or ""

    outcomes = [
        Outcome(done.id, token(done), OutcomeKind.COMPLETED, {"ok": True}),
        Outcome(failed.id, token(failed), OutcomeKind.FAILED, error="E", traceback="T"),
        Outcome(retried.id, token(retried), OutcomeKind.RETRY, error="again", run_at=later),
        Outcome(released.id, token(released), OutcomeKind.RELEASE),
        Outcome(stale.id, "not-the-token", OutcomeKind.COMPLETED, {"ok": False}),
        Outcome(done.id, token(done), OutcomeKind.FAILED, error="a second outcome"),
    ]
    assert await backend.finish(outcomes, utcnow()) == [True, True, True, True, False, False]
    after = {
        t.id: t
        for t in await backend.get([t.id for t in (done, failed, retried, released, stale)])
        if t
    }
    assert (after[done.id].status, after[done.id].result) == (Status.COMPLETED, {"ok": True})
    assert after[done.id].error is None
    assert (after[failed.id].status, after[failed.id].error) == (Status.FAILED, "E")
    assert after[failed.id].traceback == "T"
    assert (after[retried.id].status, after[retried.id].error) == (Status.PENDING, "again")
    assert after[retried.id].run_at >= later - timedelta(milliseconds=1)
    assert (after[released.id].status, after[released.id].attempts) == (Status.PENDING, 0)
    assert after[stale.id].status is Status.PROCESSING
    assert after[stale.id].lease_token == stale.lease_token
