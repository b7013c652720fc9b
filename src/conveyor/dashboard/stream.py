"""Server-Sent Events for open dashboards: each tick's snapshot is built and encoded once,
then handed to every subscriber, so 20 open pages cost about what one does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson

from conveyor.task import JSONObject

KEEPALIVE_S = 15.0
BACKLOG = 4
"""Snapshots a slow subscriber may fall behind before it misses the oldest."""


_END = b""
"""Put in a subscriber's queue to end its stream."""


def encode(snapshot: JSONObject) -> bytes:
    return b"event: snapshot\ndata: " + orjson.dumps(snapshot) + b"\n\n"


class SnapshotHub:
    def __init__(self, build: Callable[[JSONObject], Awaitable[JSONObject]]) -> None:
        self._build = build
        self._subscribers: set[asyncio.Queue[bytes]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self.latest: bytes | None = None

    def close_streams(self) -> None:
        """End every open stream now (from any thread, e.g. a signal handler): the server's
        graceful stop waits for open requests, and a stream would otherwise never end."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._end_all)

    def _end_all(self) -> None:
        self._closing = True
        for queue in self._subscribers:
            _offer(queue, _END)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def publish(self, point: JSONObject) -> None:
        """Build this tick's snapshot, once, if anyone is watching."""
        if not self._subscribers:
            self.latest = None
            return
        message = encode(await self._build(point))
        self.latest = message
        for queue in self._subscribers:
            _offer(queue, message)

    async def events(self, disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[bytes]:
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes] = asyncio.Queue(BACKLOG)
        self._subscribers.add(queue)
        try:
            yield b"retry: 2000\n\n"
            if self.latest is not None:
                yield self.latest
            while not self._closing and not await disconnected():
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    message = b": keepalive\n\n"
                if message is _END:
                    return
                yield message
        finally:
            self._subscribers.discard(queue)


def _offer(queue: asyncio.Queue[bytes], message: bytes) -> None:
    """Queue a message; a slow reader loses its oldest, never the newest state, and the
    backlog never grows."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(message)
