"""Cross-process wake-ups over Redis pub/sub.

Scripts PUBLISH "w" when work may be ready and "f<id>,<id>..." when tasks became final;
one subscriber per process turns those into local wake-ups. A message lost while the
subscriber reconnects only costs latency: waits are bounded and re-check storage, and a
reconnect wakes every waiter at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from conveyor.backends.waiters import Waiters

logger = logging.getLogger(__name__)

_SUBSCRIBE_WAIT_S = 2.0
_RECONNECT_MAX_S = 5.0
_CLOSE_WAIT_S = 1.0


class Events:
    def __init__(self, client: Redis, channel: str, waiters: Waiters) -> None:
        self._client = client
        self._channel = channel
        self._waiters = waiters
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def listen(self) -> None:
        """Start the subscriber if needed and wait (bounded) until it is subscribed, so a
        wake-up published after this returns is not missed."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="conveyor-redis-events")
        if not self._subscribed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), _SUBSCRIBE_WAIT_S)

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            # Bounded: a cancel that lands inside redis-py's connect can be swallowed;
            # the loop then sees _closing and ends on its own.
            await asyncio.wait({self._task}, timeout=_CLOSE_WAIT_S)
            self._task = None

    def dispatch(self, data: str) -> None:
        if data.startswith("w"):
            self._waiters.notify_work()
        elif data.startswith("f"):
            self._waiters.notify_final(data[1:].split(","))

    async def _run(self) -> None:
        delay = 0.1
        while not self._closing:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                self._waiters.wake_all()  # anything published while we were away
                delay = 0.1
                while not self._closing:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self.dispatch(message["data"])
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                logger.warning(
                    "redis subscriber lost its connection; reconnecting",
                    extra={"error": str(exc), "retry_in_s": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RECONNECT_MAX_S)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
