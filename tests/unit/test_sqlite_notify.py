"""SQLite wake-ups cross processes: a submit elsewhere wakes a waiting worker here."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from conveyor.backends.sqlite import SQLiteBackend
from conveyor.backends.sqlite.notify import Broadcast
from conveyor.backends.waiters import Waiters


async def test_a_submit_from_another_process_wakes_wait_for_work(
    backend: SQLiteBackend, db_url: str
) -> None:
    script = (
        f"import time, conveyor; app = conveyor.App(backend={db_url!r}); time.sleep(1.0);"
        " app.submit('echo'); app.close()"
    )
    producer = subprocess.Popen([sys.executable, "-c", script])  # noqa: ASYNC220
    try:
        started = time.monotonic()
        await backend.wait_for_work(["default"], timeout_s=30)
        waited = time.monotonic() - started
    finally:
        producer.wait(timeout=60)
    assert producer.returncode == 0
    assert (await backend.stats()).by_status["pending"] == 1
    assert waited < 20  # woken by the other process's notice, not the 30 s timeout


async def test_a_worker_that_starts_listening_is_woken_by_the_next_commit(
    tmp_path: Path,
) -> None:
    """A producer that listed its peers a moment ago wakes a worker that began listening
    since with its very next commit (it once waited out a 0.5 s cache of the listing)."""
    directory = tmp_path / "notify"
    directory.mkdir()
    producer = Broadcast(directory, Waiters())
    producer.publish(True, [])  # lists the folder: nobody listens yet
    await asyncio.sleep(0.02)  # past the folder's mtime tick
    waiters = Waiters()
    worker = Broadcast(directory, waiters)
    worker.listen()
    try:
        armed = waiters.arm_work()
        producer.publish(True, [])
        await asyncio.wait_for(armed, 0.4)
    finally:
        worker.close()
        producer.close()


def test_each_waiting_loop_receives_and_a_closed_loop_lets_go_of_its_socket(
    tmp_path: Path,
) -> None:
    """Notices are read on the waiting loops themselves, one socket each: a notice wakes
    waiters on every loop, and a loop that closed without close() has its socket
    removed by the next loop that starts listening."""
    directory = tmp_path / "notify"
    waiters = Waiters()
    worker = Broadcast(directory, waiters)
    producer = Broadcast(directory, Waiters())

    async def listen_then_wait() -> None:
        worker.listen()
        armed = waiters.arm_work()
        await asyncio.sleep(0.02)  # past the folder's mtime tick
        producer.publish(True, [])
        await asyncio.wait_for(armed, 2)

    try:
        asyncio.run(listen_then_wait())  # this loop closes, its socket still bound
        assert len(list(directory.glob("*.sock"))) == 1
        asyncio.run(listen_then_wait())  # a new loop: the closed one's socket goes
        assert len(list(directory.glob("*.sock"))) == 1
    finally:
        worker.close()
        producer.close()
    assert list(directory.glob("*.sock")) == []
