"""SQLite wake-ups cross processes: a submit elsewhere wakes a waiting worker here."""

from __future__ import annotations

import subprocess
import sys
import time

from conveyor.backends.sqlite import SQLiteBackend


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
