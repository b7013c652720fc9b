"""The process supervisor: how exits are described, and a retiring child that overstays."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.worker.recycling import ABANDONED_EXIT, RECYCLE_EXIT
from conveyor.worker.supervisor import KILL_AFTER_TERM_S, ProcessSupervisor, describe_exit
from tests.servers import pid_alive

# A child that ignores SIGTERM, as one whose handler holds the interpreter would, and
# writes down what its supervisor told it of its predecessor.
STUBBORN = (
    sys.executable,
    "-c",
    "import os, signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "told = os.environ.get('CONVEYOR_PREDECESSOR_EXIT', '-')\n"
    "with open(os.path.join(os.environ['UNIT_DIR'], str(os.getpid())), 'w') as out:\n"
    "    out.write(told)\n"
    "time.sleep(60)\n",
)


def test_exits_are_described_to_follow_the_worker_process() -> None:
    assert describe_exit(-signal.SIGKILL) == (
        "was killed by SIGKILL (the OS kills this way when out of memory)"
    )
    assert describe_exit(-signal.SIGTERM) == "was killed by SIGTERM"
    assert describe_exit(RECYCLE_EXIT).startswith("was recycled: ")
    assert describe_exit(ABANDONED_EXIT) == (
        "was replaced: a handler overran its timeout/cancel grace and was abandoned"
    )
    assert describe_exit(1) == "exited with status 1"


def told(tmp_path: Path, pid: int) -> str:
    """What the child with this pid was told of its predecessor ("-": nothing)."""
    path = tmp_path / str(pid)
    deadline = time.monotonic() + 10
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)
    return path.read_text()


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[ProcessSupervisor]:
    started = ProcessSupervisor(1, "unit", {"UNIT_DIR": str(tmp_path)}, command=STUBBORN)
    started.start()
    yield started
    pids = [c.process.pid for c in started.children if c.process is not None]
    for child in started.children:  # by PID: they ignore SIGTERM
        if child.process is not None and child.process.poll() is None:
            child.process.kill()
            child.process.wait(5)
    started.stop(grace_s=0)
    assert not any(pid_alive(pid) for pid in pids)


def test_a_retiring_child_that_does_not_exit_is_terminated_then_killed_and_replaced(
    supervisor: ProcessSupervisor, tmp_path: Path
) -> None:
    [child] = supervisor.children
    assert child.process is not None
    old = child.process
    # A pid that is not the current process's is stale news, and ignored.
    supervisor.note_retiring(child, old.pid + 1, "testing", within_s=0)
    assert child.exit_due is None
    supervisor.note_retiring(child, old.pid, "testing", within_s=0.2)
    begun = time.monotonic()
    deadline = begun + KILL_AFTER_TERM_S + 5
    while child.process is old and time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.05)
    took = time.monotonic() - begun
    assert child.process is not old, "not replaced"
    assert old.returncode == -signal.SIGKILL  # SIGTERM was ignored
    assert took >= 0.2 + KILL_AFTER_TERM_S - 0.1
    assert not pid_alive(old.pid)
    assert child.restarts == 1
    assert child.last_exit == (
        "was stopped by its supervisor: it did not exit in time after retiring (testing)"
    )
    assert child.process.poll() is None
    assert (child.retiring, child.exit_due, child.kill_reason) == (None, None, None)
    assert told(tmp_path, old.pid) == "-"
    assert told(tmp_path, child.process.pid) == child.last_exit


def test_a_child_killed_for_silence_is_not_blamed_on_the_os(
    supervisor: ProcessSupervisor, tmp_path: Path
) -> None:
    [child] = supervisor.children
    assert child.process is not None
    old = child.process
    supervisor.kill(child, "it stopped heartbeating")
    old.wait(5)
    supervisor.check()
    assert child.last_exit == "was killed by its supervisor: it stopped heartbeating"
    assert child.process is not old
    assert told(tmp_path, child.process.pid) == child.last_exit
