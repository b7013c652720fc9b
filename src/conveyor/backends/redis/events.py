"""Cross-process wake-ups over Redis pub/sub.

Scripts PUBLISH "w" on the work channel when work may be ready, and "<id>,<id>..." on
the finals channel when tasks became final. One subscriber per process turns those into
local wake-ups; it takes the finals channel only once something in the process waits for
a task, so that workers are not sent every finished id. A message lost while the
subscriber reconnects only costs latency: waits are bounded and re-check storage, and a
reconnect wakes every waiter at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from conveyor.backends.waiters import Waiters

logger = logging.getLogger(__name__)

_SUBSCRIBE_WAIT_S = 2.0
_RECONNECT_MAX_S = 5.0
_CLOSE_WAIT_S = 1.0


class Events:
    def __init__(self, client: Redis, work: str, finals: str, waiters: Waiters) -> None:
        self._client = client
        self._work, self._finals = work, finals
        self._waiters = waiters
        self._wanted: set[str] = set()
        self._confirmed = {work: asyncio.Event(), finals: asyncio.Event()}
        self._pubsub: PubSub | None = None
        # One SUBSCRIBE at a time: the first one opens the subscriber's connection.
        self._subscribing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def listen(self, finals: bool = False) -> None:
        """Start the subscriber if needed, take the work channel (and the finals one if
        asked), and wait (bounded) until Redis confirms it, so a wake-up published after
        this returns is not missed."""
        channel = self._finals if finals else self._work
        if channel not in self._wanted:
            self._wanted.add(channel)
            if self._pubsub is not None:  # running: add it (a reconnect takes every wanted)
                with contextlib.suppress(RedisError, OSError):
                    await self._subscribe(self._pubsub, [channel])
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="conveyor-redis-events")
        if not self._confirmed[channel].is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._confirmed[channel].wait(), _SUBSCRIBE_WAIT_S)

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            # Bounded: a cancel that lands inside redis-py's connect can be swallowed;
            # the loop then sees _closing and ends on its own.
            await asyncio.wait({self._task}, timeout=_CLOSE_WAIT_S)
            self._task = None

    async def _subscribe(self, pubsub: PubSub, channels: list[str]) -> None:
        async with self._subscribing:
            await pubsub.subscribe(*channels)

    def _receive(self, message: dict[str, Any]) -> None:
        channel, data = message["channel"], message["data"]
        if message["type"] == "subscribe":
            if channel in self._confirmed and not self._confirmed[channel].is_set():
                self._confirmed[channel].set()
                self._waiters.wake_all()  # anything published while we were away
        elif message["type"] == "message":
            if channel == self._work:
                self._waiters.notify_work()
            elif channel == self._finals:
                self._waiters.notify_final(data.split(","))

    async def _run(self) -> None:
        delay = 0.1
        while not self._closing:
            pubsub = self._client.pubsub()
            try:
                self._pubsub = pubsub
                await self._subscribe(pubsub, sorted(self._wanted))
                delay = 0.1
                while not self._closing:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._receive(message)
            except (RedisError, OSError) as exc:
                logger.warning(
                    "redis subscriber lost its connection; reconnecting",
                    extra={"error": str(exc), "retry_in_s": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RECONNECT_MAX_S)
            finally:
                self._pubsub = None
                for confirmed in self._confirmed.values():
                    confirmed.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
