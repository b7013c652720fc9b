"""The supervising node reads its children's heartbeats: who is silent, who is retiring."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conveyor.backends.base import WorkerRecord
from conveyor.config import load_settings
from conveyor.demo import builtin_registry
from conveyor.node import Node
from conveyor.task import utcnow
from conveyor.worker.supervisor import ProcessSupervisor
from tests.servers import pid_alive

SLEEPER = (sys.executable, "-c", "import time; time.sleep(60)")


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    """A node whose one child is a plain sleeper, stopped by PID at the end."""
    settings = load_settings(
        backend=f"sqlite:///{tmp_path / 'node.db'}",
        node_id="n",
        shutdown_grace_seconds=1,
    )
    built = Node(settings, builtin_registry(), run_workers=False)
    await built.backend.open()
    built.supervisor = ProcessSupervisor(1, "n", {}, command=SLEEPER)
    built.supervisor.start()
    yield built
    pids = [c.process.pid for c in built.supervisor.children if c.process is not None]
    built.supervisor.stop(grace_s=0)
    await built.backend.close()
    assert not any(pid_alive(pid) for pid in pids)


async def test_a_child_that_says_it_retires_gets_the_grace_then_is_ended(node: Node) -> None:
    assert node.supervisor is not None
    [child] = node.supervisor.children
    assert child.process is not None
    old = child.process
    now = utcnow()
    retiring = {"retiring": "a handler overran its timeout/cancel grace and was abandoned"}
    await node.backend.record_worker(
        WorkerRecord(child.node_id, "n", old.pid, now, now, info=retiring)
    )
    await node._watch_children()
    assert child.retiring == retiring["retiring"]
    assert child.exit_due is not None
    # the shutdown grace (1 s) and the margin for closing down (5 s)
    assert 5.5 < child.exit_due - time.monotonic() <= 6
    assert node.stalled == []
    child.exit_due = time.monotonic()  # as if that time had passed
    node.supervisor.check()  # SIGTERM: the sleeper dies of it
    old.wait(5)
    node.supervisor.check()
    assert child.process is not old
    assert child.last_exit is not None
    assert child.last_exit.startswith("was stopped by its supervisor")
    assert retiring["retiring"] in child.last_exit
