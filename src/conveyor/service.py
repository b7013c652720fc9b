"""The task service: what HTTP routes, the CLI and Python producers call.

It validates, assigns ids and times, group-commits concurrent submits into one backend
call, and turns backend answers into the errors a caller understands.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec
import uuid_utils

from conveyor.backends.base import Backend, Page, Stats, StatusChange, TaskFilter
from conveyor.errors import InvalidTask, TaskFinished, TaskNotFound, TaskRunning
from conveyor.metrics import Metrics
from conveyor.registry import Registry
from conveyor.task import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE,
    MAX_PRIORITY,
    MIN_PRIORITY,
    JSONObject,
    Status,
    Task,
    utcnow,
)

_T = TypeVar("_T")
QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_BATCH = 10_000
MAX_COMMIT = 5_000


class TaskRequest(msgspec.Struct, frozen=True):
    """A task as a producer asks for it; None means the handler's or Conveyor's default.
    A frozen msgspec Struct, as Task is: every submitted task makes one, and a frozen
    dataclass set each field through object.__setattr__ (1.0 us a request, now 0.2)."""

    type: str
    payload: JSONObject | None = None
    priority: int | None = None
    queue: str | None = None
    delay_s: float | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None
    timeout_s: float | None = None
    idempotency_key: str | None = None


class Submitted(msgspec.Struct, frozen=True):
    task: Task
    created: bool
    """False when an idempotency key matched a task stored earlier."""


class TaskService:
    def __init__(
        self, backend: Backend, registry: Registry, node_id: str, metrics: Metrics | None = None
    ) -> None:
        self.backend = backend
        self.registry = registry
        self.node_id = node_id
        self.metrics = metrics or Metrics()
        self._pending: list[tuple[list[Task], asyncio.Future[list[Task]]]] = []
        self._committing = False
        self._drainer: asyncio.Task[None] | None = None

    def build(self, request: TaskRequest, now: datetime, field_prefix: str = "") -> Task:
        """Validate a request and make the task to store; InvalidTask names the field."""

        def invalid(message: str, field: str) -> InvalidTask:
            return InvalidTask(f"{field_prefix}{message}", field=f"{field_prefix}{field}")

        try:
            handler = self.registry.get(request.type)
        except InvalidTask as exc:
            raise invalid(exc.message, "type") from None
        payload = request.payload if request.payload is not None else {}
        if not isinstance(payload, dict):
            raise invalid("payload must be a JSON object", "payload")
        try:
            payload = handler.validate_payload(payload)
        except InvalidTask as exc:
            raise invalid(exc.message, exc.field or "payload") from None
        options = handler.options
        priority = _first(request.priority, options.priority, DEFAULT_PRIORITY)
        if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            raise invalid(
                f"priority must be {MIN_PRIORITY} to {MAX_PRIORITY}, not {priority}", "priority"
            )
        queue = _first(request.queue, options.queue, DEFAULT_QUEUE)
        if not QUEUE_NAME.match(queue):
            raise invalid("queue must be 1-64 letters, digits or _ . : - characters", "queue")
        max_attempts = _first(request.max_attempts, options.max_attempts, DEFAULT_MAX_ATTEMPTS)
        if not 1 <= max_attempts <= 1000:
            raise invalid("max_attempts must be 1 to 1000", "max_attempts")
        timeout_s = request.timeout_s if request.timeout_s is not None else options.timeout_s
        if timeout_s is not None and timeout_s <= 0:
            raise invalid("timeout must be positive", "timeout")
        if request.delay_s is not None and request.run_at is not None:
            raise invalid("give delay or run_at, not both", "delay")
        run_at = now
        if request.delay_s is not None:
            if request.delay_s < 0:
                raise invalid("delay must not be negative", "delay")
            run_at = now + timedelta(seconds=request.delay_s)
        elif request.run_at is not None:
            if request.run_at.tzinfo is None:
                raise invalid("run_at needs a time zone (e.g. a trailing Z)", "run_at")
            run_at = max(request.run_at, now)
        key = request.idempotency_key
        if key is not None and not 1 <= len(key) <= 200:
            raise invalid("idempotency_key must be 1 to 200 characters", "idempotency_key")
        return Task(
            id=str(uuid_utils.uuid7()),
            type=request.type,
            payload=payload,
            priority=priority,
            queue=queue,
            status=Status.PENDING,
            attempts=0,
            max_attempts=max_attempts,
            created_at=now,
            run_at=run_at,
            timeout_s=timeout_s,
            idempotency_key=key,
            initiated_by=self.node_id,
        )

    async def submit(
        self, requests: Sequence[TaskRequest], *, batch: bool = False
    ) -> list[Submitted]:
        """Store all the tasks or none; return after they are committed. In a `batch`
        (or any submit of several), an error names its task: `tasks[3].priority`."""
        tasks = self._build_all(requests, batch)
        return self._submitted(tasks, await self._commit(tasks))

    def submit_blocking(
        self, requests: Sequence[TaskRequest], *, batch: bool = False
    ) -> list[Submitted]:
        """`submit` from a thread outside any event loop, through the backend's blocking
        path (its own transaction: it does not join this service's group commit)."""
        tasks = self._build_all(requests, batch)
        return self._submitted(tasks, self.backend.submit_blocking(tasks))

    def _build_all(self, requests: Sequence[TaskRequest], batch: bool) -> list[Task]:
        if not requests:
            raise InvalidTask("a batch needs at least one task", field="tasks")
        if len(requests) > MAX_BATCH:
            raise InvalidTask(f"a batch holds at most {MAX_BATCH} tasks", field="tasks")
        now = utcnow()
        batch = batch or len(requests) > 1
        return [self.build(r, now, f"tasks[{i}]." if batch else "") for i, r in enumerate(requests)]

    def _submitted(self, tasks: list[Task], stored: list[Task]) -> list[Submitted]:
        for task_type, count in Counter([task.type for task in tasks]).items():
            self.metrics.submitted.labels(task_type).inc(count)  # once a type, not a task
        return [Submitted(s, s.id == t.id) for s, t in zip(stored, tasks, strict=True)]

    async def _commit(self, tasks: list[Task]) -> list[Task]:
        """Join the next group commit: submits that arrive while one commit runs are
        stored together by the next, so many concurrent requests cost one transaction."""
        future: asyncio.Future[list[Task]] = asyncio.get_running_loop().create_future()
        self._pending.append((tasks, future))
        if not self._committing:
            self._committing = True
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                group: list[tuple[list[Task], asyncio.Future[list[Task]]]] = []
                size = 0
                while self._pending and (
                    not group or size + len(self._pending[0][0]) <= MAX_COMMIT
                ):
                    entry = self._pending.pop(0)
                    group.append(entry)
                    size += len(entry[0])
                try:
                    stored = await self.backend.submit([t for tasks, _ in group for t in tasks])
                except Exception as exc:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                offset = 0
                for tasks, future in group:
                    if not future.done():
                        future.set_result(stored[offset : offset + len(tasks)])
                    offset += len(tasks)
        finally:
            self._committing = False

    async def get(self, task_id: str) -> Task:
        [task] = await self.backend.get([task_id])
        if task is None:
            raise TaskNotFound(task_id)
        return task

    async def wait(self, task_id: str, timeout_s: float) -> Task:
        """The task once final, or as it is when `timeout_s` runs out."""
        task = await self.backend.wait_for_final(task_id, timeout_s)
        if task is None:
            raise TaskNotFound(task_id)
        return task

    async def list(self, filter: TaskFilter, cursor: str | None, limit: int) -> Page:
        return await self.backend.list(filter, cursor, limit)

    async def stats(self) -> Stats:
        return await self.backend.stats()

    async def cancel(self, task_id: str) -> StatusChange:
        """Pending: canceled now. Running: cancel requested (the handler is told).
        Finished: TaskFinished."""
        [outcome] = await self.backend.cancel([task_id], utcnow())
        if outcome is None:
            raise TaskNotFound(task_id)
        if outcome.previous.is_final:
            raise TaskFinished(task_id, outcome.previous.value, "canceled")
        return outcome

    async def retry(self, task_id: str) -> StatusChange:
        """A failed or canceled task goes back to pending with a fresh attempt budget."""
        [change] = await self.backend.retry([task_id], utcnow())
        if change is None:
            raise TaskNotFound(task_id)
        if change.previous is Status.COMPLETED:
            raise TaskFinished(task_id, "completed", "retried")
        if not change.previous.is_final:
            raise TaskRunning(
                task_id,
                f"task {task_id} is {change.previous.value}; only failed or canceled tasks"
                " can be retried",
            )
        return change


def _first(*values: _T | None) -> _T:
    for value in values:
        if value is not None:
            return value
    raise ValueError("no default")
