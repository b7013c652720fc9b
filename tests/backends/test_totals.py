"""Totals that only grow, and the durations of recently finished tasks (the dashboard's
rates and percentiles), the same on every backend."""

from __future__ import annotations

from datetime import timedelta

from conveyor.backends import Backend
from conveyor.backends.base import Outcome, OutcomeKind
from conveyor.task import utcnow
from tests.backends.conftest import MakeTask


async def test_totals_count_each_entry_and_survive_a_purge(
    backend: Backend, make_task: MakeTask
) -> None:
    tasks = [make_task() for _ in range(4)]
    await backend.submit(tasks)
    claimed = await backend.claim("w1", ["default"], ["echo"], 3, 30, utcnow())
    assert len(claimed) == 3
    now = utcnow()
    await backend.finish(
        [
            Outcome(claimed[0].id, claimed[0].lease_token or "", OutcomeKind.COMPLETED),
            Outcome(claimed[1].id, claimed[1].lease_token or "", OutcomeKind.FAILED, error="x"),
        ],
        now,
    )
    assert tasks[3].id not in {t.id for t in claimed}  # oldest first
    await backend.cancel([tasks[3].id], now)
    stats = await backend.stats()
    assert stats.totals["submitted"] == 4
    assert stats.totals["processing"] == 3
    assert stats.totals["completed"] == 1
    assert stats.totals["failed"] == 1
    assert stats.totals["canceled"] == 1
    purged = await backend.purge(utcnow() + timedelta(seconds=1), 100)
    assert purged >= 2
    after = await backend.stats()
    assert after.totals["completed"] == 1  # the purge lowered counts, not totals
    assert after.totals["submitted"] == 4
    assert after.by_status["completed"] == 0


async def test_durations_of_recently_finished_tasks_newest_first(
    backend: Backend, make_task: MakeTask
) -> None:
    start = utcnow()
    await backend.submit([make_task() for _ in range(3)])
    claimed = await backend.claim("w1", ["default"], ["echo"], 3, 30, utcnow())
    for index, task in enumerate(claimed):
        await backend.finish(
            [Outcome(task.id, task.lease_token or "", OutcomeKind.COMPLETED)],
            utcnow() + timedelta(milliseconds=100 * (index + 1)),
        )
    durations = await backend.durations(start - timedelta(seconds=1), 2)
    assert len(durations) == 2
    assert durations[0].run_s > durations[1].run_s  # the last to finish comes first
    assert all(d.wait_s >= 0 and 0.05 <= d.run_s < 5 for d in durations)
    assert await backend.durations(utcnow() + timedelta(seconds=5), 10) == []
