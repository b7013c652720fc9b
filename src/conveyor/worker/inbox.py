"""Hand-offs from other threads to the worker's event loop, taken in batches."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    """Items put from any thread, passed to `take` on the loop: one wake-up for every
    item queued meanwhile, not one each (a wake-up is a syscall and a loop turn)."""

    def __init__(self, take: Callable[[T], None]) -> None:
        self._take = take
        self._items: collections.deque[T] = collections.deque()
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def put(self, item: T) -> None:
        assert self._loop is not None, "bind the inbox to its loop first"
        self._items.append(item)
        # Checked after the append, and cleared by the loop before it empties the queue:
        # an item that sees a wake-up pending is taken by that wake-up.
        if not self._wake_pending:
            self._wake_pending = True
            with contextlib.suppress(RuntimeError):  # the loop closed: nothing takes it
                self._loop.call_soon_threadsafe(self._take_all)

    def _take_all(self) -> None:
        self._wake_pending = False
        while self._items:
            self._take(self._items.popleft())
