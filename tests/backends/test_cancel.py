"""cancel and retry: state changes by status."""

from __future__ import annotations

from datetime import timedelta

from conveyor.backends import Backend
from conveyor.backends.base import Outcome, OutcomeKind, Renewal
from conveyor.task import Status, utcnow
from tests.backends.conftest import MakeTask


async def test_a_pending_task_is_canceled_at_once_and_never_claimed(
    backend: Backend, make_task: MakeTask
) -> None:
    task = make_task()
    await backend.submit([task])
    [change] = await backend.cancel([task.id], utcnow())
    assert change is not None
    assert change.previous is Status.PENDING
    assert change.task.status is Status.CANCELED
    assert change.task.finished_at is not None
    assert await backend.claim("w", ["default"], ["echo"], 10, 30, utcnow()) == []


async def test_a_running_task_gets_a_cancel_request(backend: Backend, make_task: MakeTask) -> None:
    await backend.submit([make_task()])
    [task] = await backend.claim("w", ["default"], ["echo"], 1, 30, utcnow())
    [change] = await backend.cancel([task.id], utcnow())
    assert change is not None
    assert change.previous is Status.PROCESSING
    assert change.task.status is Status.PROCESSING
    assert change.task.cancel_requested
    [state] = await backend.extend([Renewal(task.id, task.lease_token or "")], 30, utcnow())
    assert state.held
    assert state.cancel_requested


async def test_finished_tasks_are_left_alone(backend: Backend, make_task: MakeTask) -> None:
    await backend.submit([make_task()])
    [task] = await backend.claim("w", ["default"], ["echo"], 1, 30, utcnow())
    await backend.finish(
        [Outcome(task.id, task.lease_token or "", OutcomeKind.COMPLETED, 1)], utcnow()
    )
    [change] = await backend.cancel([task.id], utcnow())
    assert change is not None
    assert change.previous is Status.COMPLETED
    assert change.task.status is Status.COMPLETED
    assert await backend.cancel(["no-such-id"], utcnow()) == [None]


async def test_retry_puts_failed_and_canceled_tasks_back(
    backend: Backend, make_task: MakeTask
) -> None:
    canceled, pending = make_task(), make_task()
    await backend.submit([canceled, pending])
    await backend.cancel([canceled.id], utcnow())
    changes = await backend.retry([canceled.id, pending.id, "no-such-id"], utcnow())
    assert changes[2] is None
    back, untouched = changes[0], changes[1]
    assert back is not None
    assert untouched is not None
    assert (back.previous, back.task.status, back.task.attempts) == (
        Status.CANCELED,
        Status.PENDING,
        0,
    )
    assert back.task.finished_at is None
    assert (untouched.previous, untouched.task.status) == (Status.PENDING, Status.PENDING)
    assert len(await backend.claim("w", ["default"], ["echo"], 10, 30, utcnow())) == 2


async def test_a_canceled_delayed_task_is_never_claimed(
    backend: Backend, make_task: MakeTask
) -> None:
    task = make_task(run_at=utcnow() + timedelta(seconds=1))
    await backend.submit([task])
    await backend.cancel([task.id], utcnow())
    later = utcnow() + timedelta(seconds=5)
    assert await backend.claim("w", ["default"], ["echo"], 10, 30, later) == []


async def test_a_retried_task_is_claimed_again(backend: Backend, make_task: MakeTask) -> None:
    task = make_task()
    await backend.submit([task])
    await backend.cancel([task.id], utcnow())
    await backend.retry([task.id], utcnow())
    [claimed] = await backend.claim("w", ["default"], ["echo"], 10, 30, utcnow())
    assert claimed.id == task.id
    assert claimed.attempts == 1
