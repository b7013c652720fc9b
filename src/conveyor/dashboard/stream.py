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


def encode(snapshot: JSONObject) -> bytes:
    return b"event: snapshot\ndata: " + orjson.dumps(snapshot) + b"\n\n"


class SnapshotHub:
    def __init__(self, build: Callable[[JSONObject], Awaitable[JSONObject]]) -> None:
        self._build = build
        self._subscribers: set[asyncio.Queue[bytes]] = set()
        self.latest: bytes | None = None

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
            if queue.full():  # a slow reader gets the newest state, not a growing backlog
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)

    async def events(self, disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(BACKLOG)
        self._subscribers.add(queue)
        try:
            yield b"retry: 2000\n\n"
            if self.latest is not None:
                yield self.latest
            while not await disconnected():
                try:
                    yield await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield b": keepalive\n\n"
        finally:
            self._subscribers.discard(queue)
