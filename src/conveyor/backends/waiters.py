"""In-process wake-ups: coroutines on any event loop wait for 'work' or a task's final
state; whatever learns of the change (a commit here, a message from another process)
wakes them from any thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterable

from conveyor.task import Task

_Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


def _wake(waiter: _Waiter) -> None:
    loop, future = waiter

    def resolve() -> None:
        if not future.done():
            future.set_result(None)

    if loop is _running_loop():  # woken on its own loop (a notice read there): no hop
        resolve()
        return
    if loop.is_closed():
        return
    with contextlib.suppress(RuntimeError):  # the loop closed since the check
        loop.call_soon_threadsafe(resolve)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Waiters:
    """Futures to resolve when work arrives or a task becomes final."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: list[_Waiter] = []
        self._final: dict[str, list[_Waiter]] = {}

    def arm_work(self) -> asyncio.Future[None]:
        """Register interest before checking storage, so no wake-up falls in between."""
        waiter = self._new()
        with self._lock:
            self._work.append(waiter)
        return waiter[1]

    def arm_final(self, task_id: str) -> asyncio.Future[None]:
        waiter = self._new()
        with self._lock:
            self._final.setdefault(task_id, []).append(waiter)
        return waiter[1]

    def disarm(self, future: asyncio.Future[None], task_id: str | None = None) -> None:
        with self._lock:
            if task_id is None:
                self._work = [w for w in self._work if w[1] is not future]
                return
            remaining = [w for w in self._final.get(task_id, []) if w[1] is not future]
            if remaining:
                self._final[task_id] = remaining
            else:
                self._final.pop(task_id, None)

    def notify_work(self) -> None:
        with self._lock:
            woken, self._work = self._work, []
        for waiter in woken:
            _wake(waiter)

    def notify_final(self, task_ids: Iterable[str]) -> None:
        woken: list[_Waiter] = []
        with self._lock:
            if not self._final:
                return
            for task_id in task_ids:
                woken.extend(self._final.pop(task_id, ()))
        for waiter in woken:
            _wake(waiter)

    def wake_all(self) -> None:
        with self._lock:
            woken = self._work + [w for ws in self._final.values() for w in ws]
            self._work, self._final = [], {}
        for waiter in woken:
            _wake(waiter)

    @property
    def has_final_waiters(self) -> bool:
        return bool(self._final)

    @staticmethod
    def _new() -> _Waiter:
        loop = asyncio.get_running_loop()
        return loop, loop.create_future()


async def wait_armed(
    waiters: Waiters, future: asyncio.Future[None], timeout_s: float, task_id: str | None = None
) -> None:
    """Wait for an armed future up to `timeout_s`, and always disarm it."""
    try:
        if timeout_s > 0:
            await asyncio.wait_for(asyncio.shield(future), timeout_s)
    except TimeoutError:
        pass
    finally:
        waiters.disarm(future, task_id)


async def wait_until_final(
    waiters: Waiters, task_id: str, timeout_s: float, fetch: Callable[[], Awaitable[Task | None]]
) -> Task | None:
    """A backend's `wait_for_final`: arm, read, and sleep until woken or out of time."""
    deadline = time.monotonic() + timeout_s
    while True:
        armed = waiters.arm_final(task_id)
        try:
            task = await fetch()
        except BaseException:
            waiters.disarm(armed, task_id)
            raise
        remaining = deadline - time.monotonic()
        if task is None or task.status.is_final or remaining <= 0:
            waiters.disarm(armed, task_id)
            return task
        await wait_armed(waiters, armed, remaining, task_id)
