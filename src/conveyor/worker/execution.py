"""Running one claimed task's handler and turning what happened into an Outcome."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import orjson

from conveyor.backends.base import Outcome, OutcomeKind, Renewal
from conveyor.backoff import retry_delay_s
from conveyor.errors import Retry, TaskCanceledError
from conveyor.registry import Handler, TaskContext
from conveyor.task import JSONValue, Task, utcnow


class CancelFlag:
    """Set once a cancel is requested; read by the handler's thread. A plain flag, not a
    threading.Event: nothing blocks on it, and an Event (a lock and a condition) per
    task was a measurable share of a busy worker's time."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


@dataclass(eq=False)
class Running:
    """A task this process holds the lease on, from claim until its outcome is stored."""

    task: Task
    handler: Handler | None
    cancel_event: CancelFlag = field(default_factory=CancelFlag)
    progress: tuple[float, str | None] | None = None
    lease_lost: bool = False
    cancel_seen_monotonic: float | None = None
    has_outcome: bool = False
    started_monotonic: float = field(default_factory=time.monotonic)
    asyncio_task: asyncio.Task[Outcome] | None = None
    on_progress: Callable[[], None] | None = None
    """Called on each progress report: progress is a sign of life for the thread."""

    @property
    def token(self) -> str:
        assert self.task.lease_token is not None
        return self.task.lease_token

    def report_progress(self, fraction: float, message: str | None) -> None:
        self.progress = (fraction, message)
        if self.on_progress is not None:
            self.on_progress()

    def take_renewal(self) -> Renewal:
        progress, self.progress = self.progress, None
        if progress is None:
            return Renewal(self.task.id, self.token)
        return Renewal(self.task.id, self.token, progress[0], progress[1])

    def context(self) -> TaskContext:
        return TaskContext(
            self.task.id,
            self.task.type,
            self.task.attempts,
            self.task.max_attempts,
            self.report_progress,
            self.cancel_event,
        )


def completed(running: Running, result: JSONValue) -> Outcome:
    try:
        orjson.dumps(result)
    except TypeError as exc:
        return Outcome(
            running.task.id,
            running.token,
            OutcomeKind.FAILED,
            error=f"the handler's result is not JSON: {exc}",
        )
    return Outcome(running.task.id, running.token, OutcomeKind.COMPLETED, result=result)


def errored(running: Running, error: BaseException, *, retryable: bool = True) -> Outcome:
    """Retry with backoff while attempts remain, else fail; keep the error and traceback.
    A `Retry` raised by the handler asks for this on purpose, with its own delay."""
    task = running.task
    if isinstance(error, Retry):
        if task.attempts < task.max_attempts:
            delay = error.delay_s if error.delay_s is not None else _backoff(running)
            return Outcome(
                task.id,
                running.token,
                OutcomeKind.RETRY,
                error=error.message,
                run_at=utcnow() + timedelta(seconds=delay),
            )
        return Outcome(
            task.id,
            running.token,
            OutcomeKind.FAILED,
            error=f"{error.message}, but all {task.max_attempts} attempts are used",
        )
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    trace = "".join(traceback.format_exception(error))
    if running.cancel_event.is_set():
        return Outcome(task.id, running.token, OutcomeKind.CANCELED, error="canceled on request")
    if retryable and task.attempts < task.max_attempts:
        run_at = utcnow() + timedelta(seconds=_backoff(running))
        return Outcome(
            task.id, running.token, OutcomeKind.RETRY, error=text, traceback=trace, run_at=run_at
        )
    return Outcome(task.id, running.token, OutcomeKind.FAILED, error=text, traceback=trace)


def _backoff(running: Running) -> float:
    base = running.handler.options.backoff_s if running.handler is not None else None
    if base is None:
        return retry_delay_s(running.task.attempts)
    return retry_delay_s(running.task.attempts, base_s=base)


def no_handler(running: Running, worker_id: str) -> Outcome:
    return Outcome(
        running.task.id,
        running.token,
        OutcomeKind.FAILED,
        error=f"no handler for task type {running.task.type!r} on worker {worker_id}",
    )


def run_sync(running: Running) -> Outcome:
    """Run a sync handler on the calling thread. BaseExceptions other than Exception
    (SystemExit, KeyboardInterrupt) propagate after the caller records a failure."""
    assert running.handler is not None
    try:
        result = running.handler.func(running.context(), **running.task.payload)
    except TaskCanceledError:
        return Outcome(
            running.task.id, running.token, OutcomeKind.CANCELED, error="canceled on request"
        )
    except Exception as exc:
        return errored(running, exc)
    return completed(running, result)


async def run_async(running: Running) -> Outcome:
    assert running.handler is not None
    timeout = running.task.timeout_s
    try:
        coroutine = running.handler.func(running.context(), **running.task.payload)
        result = await asyncio.wait_for(coroutine, timeout) if timeout else await coroutine
    except (asyncio.CancelledError, TaskCanceledError):
        if running.cancel_event.is_set():
            return Outcome(
                running.task.id, running.token, OutcomeKind.CANCELED, error="canceled on request"
            )
        raise
    except TimeoutError as exc:
        return errored(running, TimeoutError(f"timed out after {timeout:g} s") if timeout else exc)
    except Exception as exc:
        return errored(running, exc)
    except BaseException as exc:  # SystemExit and friends: fail the task, not the loop
        return Outcome(
            running.task.id,
            running.token,
            OutcomeKind.FAILED,
            error=f"{type(exc).__name__} raised by the handler: {exc}",
        )
    return completed(running, result)


DeliverOutcome = Callable[[Running, Outcome], None]
