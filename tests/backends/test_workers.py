"""The worker registry: register, heartbeat, list, remove."""

from __future__ import annotations

from datetime import timedelta

from conveyor.backends import Backend
from conveyor.backends.base import WorkerRecord
from conveyor.task import utcnow


async def test_register_heartbeat_list_remove(backend: Backend) -> None:
    start = utcnow()
    first = WorkerRecord("w1", "node-a", 11, start, start, [{"name": "consumer-1"}], {"x": 1})
    second = WorkerRecord(
        "w2", "node-b", 12, start + timedelta(seconds=1), start + timedelta(seconds=1)
    )
    await backend.record_worker(first)
    await backend.record_worker(second)
    beat = WorkerRecord(
        "w1",
        "node-a",
        11,
        start,
        start + timedelta(seconds=5),
        [{"name": "consumer-1"}, {"name": "consumer-2"}],
        {"x": 2},
    )
    await backend.record_worker(beat)
    listed = await backend.workers()
    assert [w.id for w in listed] == ["w1", "w2"]
    assert listed[0].last_seen == beat.last_seen
    assert listed[0].started_at == start
    assert len(listed[0].threads) == 2
    assert listed[0].info == {"x": 2}
    await backend.remove_worker("w1")
    assert [w.id for w in await backend.workers()] == ["w2"]
