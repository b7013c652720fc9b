"""Supervised threads: a stuck one is abandoned and replaced; one that waits is left alone."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from conveyor.worker.roster import Role, Roster, ThreadState
from conveyor.worker.supervised import SupervisedThread

STUCK_S = 1.0


class Looper(SupervisedThread):
    """Loops as the producer and the monitor do; its first thread can be made to block
    where it never heartbeats (as in a call that never returns)."""

    def __init__(self, roster: Roster, block_first: bool, wait_s: float) -> None:
        super().__init__(roster, "looper", Role.PRODUCER)
        self.gate = threading.Event()
        self.rounds: dict[threading.Thread, int] = {}
        self._block_first = block_first
        self._wait_s = wait_s

    def _serve(self) -> None:
        me = threading.current_thread()
        self.rounds[me] = 0
        if self._block_first:
            self._block_first = False
            self.gate.wait(30)
        while not self._stopping.wait(self._wait_s):
            self.rounds[me] += 1
            self.record.touch(ThreadState.RUNNING)


def supervise_for(looper: Looper, seconds: float, until: threading.Event | None = None) -> None:
    """Call the check as the monitor does, every 50 ms."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (until and until.is_set()):
        looper.restart_if_dead_or_stuck(STUCK_S)
        time.sleep(0.05)


def test_a_thread_blocked_forever_is_replaced_within_the_stuck_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    looper = Looper(Roster(), block_first=True, wait_s=0.05)
    looper.start()
    first = looper.record.thread
    assert first is not None
    try:
        begun = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="conveyor.worker.supervised"):
            deadline = begun + 5
            while looper.record.restarts == 0 and time.monotonic() < deadline:
                looper.restart_if_dead_or_stuck(STUCK_S)
                time.sleep(0.05)
        took = time.monotonic() - begun
        assert looper.record.restarts == 1
        assert STUCK_S - 0.1 <= took < STUCK_S + 1.5
        assert [r.getMessage() for r in caplog.records] == ["thread stuck; replacing it"]
        replacement = looper.record.thread
        assert replacement is not None
        assert replacement is not first
        assert replacement.is_alive()
        time.sleep(0.3)
        assert looper.rounds[replacement] > 0  # the new thread does the work
        # The blocked thread, once it wakes, sees it was replaced and ends.
        looper.gate.set()
        first.join(2)
        assert not first.is_alive()
        assert looper.rounds[first] == 0
        supervise_for(looper, 1.5)
        assert looper.record.restarts == 1  # the replacement is healthy
    finally:
        looper.gate.set()
        looper.stop()


def test_a_thread_that_waits_long_between_rounds_is_not_taken_for_stuck() -> None:
    # Like a producer at one task a minute: it waits far longer than the stuck time.
    looper = Looper(Roster(), block_first=False, wait_s=60)
    looper.start()
    first = looper.record.thread
    try:
        supervise_for(looper, 4 * STUCK_S)
        assert looper.record.restarts == 0
        assert looper.record.thread is first
    finally:
        looper.stop()
    assert first is not None
    assert not first.is_alive()  # stop wakes the wait at once
