"""Consumer slots: idle slots heartbeat, so only a slot blocked outside a task is replaced."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import uuid_utils

from conveyor.backends.base import Outcome
from conveyor.registry import Registry, TaskContext
from conveyor.task import Status, Task, utcnow
from conveyor.worker.execution import Running
from conveyor.worker.roster import Roster, ThreadState
from conveyor.worker.slots import SlotPool

STUCK_S = 1.0


def running(registry: Registry, task_type: str, n: int) -> Running:
    now = utcnow()
    task = Task(
        id=str(uuid_utils.uuid7()),
        type=task_type,
        payload={"n": n},
        priority=5,
        queue="default",
        status=Status.PROCESSING,
        attempts=1,
        max_attempts=3,
        created_at=now,
        run_at=now,
        lease_token="token",
    )
    return Running(task, registry.find(task_type))


def restart_for(pool: SlotPool, seconds: float) -> None:
    """Run the monitor's check every 50 ms for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pool.restart_dead_or_stuck()
        time.sleep(0.05)


def test_an_idle_pool_is_not_restarted_over_several_stuck_intervals() -> None:
    roster = Roster()
    pool = SlotPool(3, roster, lambda running, outcome: None, "c", stuck_after_s=STUCK_S)
    pool.start()
    threads = [record.thread for record in roster.records()]
    try:
        restart_for(pool, 4 * STUCK_S)
        assert [record.restarts for record in roster.records()] == [0, 0, 0]
        assert [record.thread for record in roster.records()] == threads
    finally:
        pool.stop(timeout_s=2)


def test_a_slot_blocked_outside_a_task_is_replaced_and_the_next_task_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = Registry()

    def double(ctx: TaskContext, n: int) -> int:
        return 2 * n

    registry.register(double)
    gate = threading.Event()
    delivered: list[Outcome] = []

    def deliver(running: Running, outcome: Outcome) -> None:
        delivered.append(outcome)
        if len(delivered) == 1:  # the first hand-off blocks, as a stuck call would
            gate.wait(30)

    roster = Roster()
    pool = SlotPool(1, roster, deliver, "c", stuck_after_s=STUCK_S)
    pool.start()
    [record] = roster.records()
    first = record.thread
    assert first is not None
    try:
        pool.put(running(registry, "double", 1))
        deadline = time.monotonic() + 5
        with caplog.at_level(logging.WARNING, logger="conveyor.worker.slots"):
            while record.restarts == 0 and time.monotonic() < deadline:
                pool.restart_dead_or_stuck()
                time.sleep(0.05)
        assert record.restarts == 1
        assert "consumer thread stuck; replacing it" in [r.getMessage() for r in caplog.records]
        assert record.thread is not first
        pool.put(running(registry, "double", 21))
        deadline = time.monotonic() + 5
        while len(delivered) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [o.result for o in delivered] == [2, 42]
        gate.set()
        first.join(2)
        assert not first.is_alive()  # it woke, saw it was replaced, and left
        restart_for(pool, 1.5)
        assert record.restarts == 1
    finally:
        gate.set()
        pool.stop(timeout_s=2)


def test_progress_counts_as_a_sign_of_life() -> None:
    registry = Registry()
    reported = threading.Event()

    def report(ctx: TaskContext, n: int) -> int:
        time.sleep(0.2)
        ctx.progress(0.5)
        reported.set()
        time.sleep(0.2)
        return n

    registry.register(report)
    roster = Roster()
    pool = SlotPool(1, roster, lambda running, outcome: None, "c", stuck_after_s=STUCK_S)
    pool.start()
    [record] = roster.records()
    try:
        pool.put(running(registry, "report", 1))
        deadline = time.monotonic() + 5
        while record.state is not ThreadState.BUSY and time.monotonic() < deadline:
            time.sleep(0.01)
        before = record.active_monotonic  # busy threads do not heartbeat by themselves
        assert reported.wait(5)
        assert record.state is ThreadState.BUSY
        assert record.active_monotonic > before
    finally:
        pool.stop(timeout_s=2)
