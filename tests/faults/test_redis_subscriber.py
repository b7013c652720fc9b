"""The Redis wake-up subscriber rides out a Redis restart: once Redis is back it takes
every channel it had again, so a process waiting for a task and for work is woken by
another process's completion and submit, without waiting out its timeout."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from conveyor.backends import open_backend
from conveyor.backends.base import Outcome, OutcomeKind
from conveyor.task import Status, utcnow
from tests.redis_support import RedisServer
from tests.servers import free_port
from tests.support import new_task


async def _restart_then_wake(server: RedisServer) -> None:
    waiting, other = open_backend(server.url), open_backend(server.url)
    await waiting.open()
    await other.open()
    try:
        await other.submit([new_task()])
        [claimed] = await other.claim("w", ["default"], ["echo"], 1, 30, utcnow())
        # subscribe to both channels, then lose the subscriber's connection
        await waiting.wait_for_work(["elsewhere"], 0.05)
        await waiting.wait_for_final("no-such-task", 0.05)
        server.stop(signal.SIGKILL)
        await asyncio.sleep(0.5)
        server.start()
        await asyncio.sleep(1.0)  # the subscriber reconnects (its back-off starts at 0.1 s)

        async def complete_later() -> None:
            await asyncio.sleep(0.3)
            done = Outcome(claimed.id, claimed.lease_token or "", OutcomeKind.COMPLETED)
            await other.finish([done], utcnow())

        started = time.monotonic()
        final, _ = await asyncio.gather(waiting.wait_for_final(claimed.id, 20), complete_later())
        assert final is not None
        assert final.status is Status.COMPLETED
        assert time.monotonic() - started < 2, "woken by the finals channel, not its timeout"

        async def submit_later() -> None:
            await asyncio.sleep(0.3)
            await other.submit([new_task()])

        started = time.monotonic()
        await asyncio.gather(waiting.wait_for_work(["default"], 20), submit_later())
        assert time.monotonic() - started < 2, "woken by the work channel, not its timeout"
    finally:
        await waiting.close()
        await other.close()


def test_waits_are_woken_across_processes_after_a_redis_restart(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", free_port())
    server.start()
    try:
        asyncio.run(_restart_then_wake(server))
    finally:
        server.stop()
