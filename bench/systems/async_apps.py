"""arq's and saq's benchmark tasks (both run only async functions)."""

import asyncio
from typing import Any

from arq.connections import RedisSettings
from saq import Queue

from bench import probe

ARQ_DB = 10
SAQ_DB = 9


async def noop(ctx: Any) -> None:
    probe.noop()


async def stamp(ctx: Any, submitted_at: float) -> None:
    probe.stamp(submitted_at)


async def sleep10ms(ctx: Any) -> None:
    await asyncio.sleep(0.01)
    probe.done()


class ArqWorker:
    functions = [noop, stamp, sleep10ms]
    redis_settings = RedisSettings(host="127.0.0.1", port=6379, database=ARQ_DB)
    max_jobs = 50
    poll_delay = 0.01  # the default 0.5 s would dominate every latency figure
    keep_result = 0


saq_queue = Queue.from_url(f"redis://127.0.0.1:6379/{SAQ_DB}")
saq_settings = {"queue": saq_queue, "functions": [noop, stamp, sleep10ms], "concurrency": 50}
