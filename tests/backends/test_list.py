"""list and stats: filters, newest first, cursor paging, counts."""

from __future__ import annotations

from conveyor.backends import Backend
from conveyor.backends.base import Outcome, OutcomeKind, TaskFilter
from conveyor.task import Status, utcnow
from tests.backends.conftest import MakeTask


async def test_filters_and_newest_first(backend: Backend, make_task: MakeTask) -> None:
    tasks = [make_task(type="a" if n % 2 else "b", queue="q1" if n < 3 else "q2") for n in range(6)]
    await backend.submit(tasks)
    await backend.cancel([tasks[0].id], utcnow())
    everything = await backend.list(TaskFilter(), None, 100)
    assert [t.id for t in everything.tasks] == [t.id for t in reversed(tasks)]
    assert everything.next_cursor is None
    only_a = await backend.list(TaskFilter(type="a"), None, 100)
    assert {t.id for t in only_a.tasks} == {tasks[1].id, tasks[3].id, tasks[5].id}
    only_q1 = await backend.list(TaskFilter(queue="q1"), None, 100)
    assert len(only_q1.tasks) == 3
    canceled = await backend.list(TaskFilter(status=Status.CANCELED), None, 100)
    assert [t.id for t in canceled.tasks] == [tasks[0].id]
    both = await backend.list(TaskFilter(status=Status.PENDING, type="b", queue="q2"), None, 100)
    assert [t.id for t in both.tasks] == [tasks[4].id]


async def test_cursor_paging_visits_every_task_once(backend: Backend, make_task: MakeTask) -> None:
    tasks = [make_task() for _ in range(23)]
    await backend.submit(tasks)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await backend.list(TaskFilter(), cursor, 5)
        seen.extend(t.id for t in page.tasks)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [t.id for t in reversed(tasks)]


async def test_stats_by_status_and_queue(backend: Backend, make_task: MakeTask) -> None:
    empty = await backend.stats()
    assert empty.by_status == {s.value: 0 for s in Status}
    await backend.submit([make_task(queue="a"), make_task(queue="a"), make_task(queue="b")])
    await backend.claim("w", ["b"], ["echo"], 1, 30, utcnow())
    stats = await backend.stats()
    assert stats.by_status[Status.PENDING] == 2
    assert stats.by_status[Status.PROCESSING] == 1
    assert stats.by_queue["a"][Status.PENDING] == 2
    assert stats.by_queue["b"] == {**{s.value: 0 for s in Status}, "processing": 1}


async def test_counts_and_lists_stay_exact_through_batches_of_thousands(
    backend: Backend, make_task: MakeTask
) -> None:
    """Batches far larger than any single write a backend makes (Redis writes its index
    changes in slices of 1,000 values), through submit, claim and finish."""
    tasks = [make_task() for _ in range(2_100)]
    await backend.submit(tasks)
    claimed = await backend.claim("w", ["default"], ["echo"], 2_100, 30, utcnow())
    assert len(claimed) == 2_100
    kinds = [OutcomeKind.COMPLETED, OutcomeKind.FAILED, OutcomeKind.RELEASE]
    outcomes = [
        Outcome(task.id, task.lease_token or "", kinds[n % 3], error="x" if n % 3 == 1 else None)
        for n, task in enumerate(claimed)
    ]
    assert await backend.finish(outcomes, utcnow()) == [True] * 2_100
    stats = await backend.stats()
    assert stats.by_status[Status.COMPLETED] == 700
    assert stats.by_status[Status.FAILED] == 700
    assert stats.by_status[Status.PENDING] == 700
    assert stats.by_status[Status.PROCESSING] == 0
    assert stats.by_queue["default"][Status.COMPLETED] == 700
    assert stats.totals["processing"] == 2_100
    listed = await backend.list(TaskFilter(status=Status.COMPLETED), None, 2_100)
    assert {t.id for t in listed.tasks} == {o.task_id for o in outcomes[::3]}
    everything = await backend.list(TaskFilter(), None, 2_100)
    assert len(everything.tasks) == 2_100
    again = await backend.claim("w", ["default"], ["echo"], 2_100, 30, utcnow())
    assert {t.id for t in again} == {o.task_id for o in outcomes[2::3]}
    assert all(t.attempts == 1 for t in again)  # a release gives its attempt back
