"""The Python producer surface: submit from any process, hold a handle, wait for results."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from datetime import datetime
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

from conveyor.errors import TaskCanceledError, TaskFailedError, WaitTimeout
from conveyor.registry import RESERVED_OPTION_NAMES, Handler
from conveyor.service import TaskRequest, TaskService
from conveyor.task import JSONValue, Status, Task

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class Portal:
    """An event loop on a daemon thread, so sync code can call the async core."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="conveyor-portal", daemon=True
        )
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()


class Producer(Protocol):
    """What handles and task functions need from the App that made them."""

    @property
    def portal(self) -> Portal: ...

    async def service(self) -> TaskService: ...

    def submit(self, task_type: str, **fields: Any) -> TaskHandle: ...

    async def asubmit(self, task_type: str, **fields: Any) -> TaskHandle: ...

    def submit_many(
        self, task_type: str, payloads: Iterable[dict[str, Any]], **options: Any
    ) -> list[TaskHandle]: ...

    async def asubmit_many(
        self, task_type: str, payloads: Iterable[dict[str, Any]], **options: Any
    ) -> list[TaskHandle]: ...


def request_from_kwargs(task_type: str, fields: dict[str, Any]) -> TaskRequest:
    """Split keyword arguments into payload fields and submit options."""
    options = {name: fields.pop(name) for name in list(fields) if name in RESERVED_OPTION_NAMES}
    run_at = options.get("run_at")
    if isinstance(run_at, str):
        run_at = datetime.fromisoformat(run_at)
    return TaskRequest(
        type=task_type,
        payload=fields,
        priority=options.get("priority"),
        queue=options.get("queue"),
        delay_s=options.get("delay"),
        run_at=run_at,
        max_attempts=options.get("max_attempts"),
        timeout_s=options.get("timeout"),
        idempotency_key=options.get("idempotency_key"),
    )


class TaskHandle:
    """A submitted task: look it up, wait for its result, cancel it."""

    def __init__(self, app: Producer, task: Task, created: bool = True) -> None:
        self._app = app
        self.id = task.id
        self.created = created
        self.submitted = task

    def __repr__(self) -> str:
        return f"TaskHandle(id={self.id!r}, type={self.submitted.type!r})"

    async def aget(self) -> Task:
        return await (await self._app.service()).get(self.id)

    def get(self) -> Task:
        return self._app.portal.call(self.aget())

    async def aresult(self, timeout: float | None = None) -> JSONValue:  # noqa: ASYNC109
        """The handler's return value once the task completes.

        Raises TaskFailedError or TaskCanceledError when it ended otherwise, and
        WaitTimeout when it is not final within `timeout` seconds (None: wait on)."""
        service = await self._app.service()
        limit = float("inf") if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            remaining = deadline - loop.time()
            task = await service.wait(self.id, min(remaining, 60.0))
            if task.status is Status.COMPLETED:
                return task.result
            if task.status is Status.FAILED:
                raise TaskFailedError(task.id, task.error)
            if task.status is Status.CANCELED:
                raise TaskCanceledError(task.id)
            if loop.time() >= deadline:
                raise WaitTimeout(self.id, limit)

    def result(self, timeout: float | None = None) -> JSONValue:
        return self._app.portal.call(self.aresult(timeout))

    async def acancel(self) -> Task:
        return (await (await self._app.service()).cancel(self.id)).task

    def cancel(self) -> Task:
        return self._app.portal.call(self.acancel())


class TaskFunction(Generic[P, R]):
    """A registered handler: call it directly, or `.submit(**fields)` it as a task."""

    def __init__(self, app: Producer, handler: Handler) -> None:
        self._app = app
        self.handler = handler
        self.name = handler.name
        self.__doc__ = handler.func.__doc__

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        result: R = self.handler.func(*args, **kwargs)
        return result

    def submit(self, **fields: Any) -> TaskHandle:
        """Submit with payload `fields`; `priority`, `queue`, `delay`, `run_at`,
        `max_attempts`, `timeout` and `idempotency_key` are options, not payload."""
        return self._app.submit(self.name, **fields)

    async def asubmit(self, **fields: Any) -> TaskHandle:
        return await self._app.asubmit(self.name, **fields)

    def submit_many(self, payloads: Iterable[dict[str, Any]], **options: Any) -> list[TaskHandle]:
        """Submit one task per payload in one transaction (all or none)."""
        return self._app.submit_many(self.name, payloads, **options)

    async def asubmit_many(
        self, payloads: Iterable[dict[str, Any]], **options: Any
    ) -> list[TaskHandle]:
        return await self._app.asubmit_many(self.name, payloads, **options)
