"""The one error tree. A class's docstring is its default message; data lives in attributes."""

from __future__ import annotations

from collections.abc import Iterable


class ConveyorError(Exception):
    """Conveyor failed."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or type(self).__name__).strip()
        super().__init__(self.message)


class InvalidTask(ConveyorError):
    """The task is not valid."""

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class UnknownTaskType(InvalidTask):
    """No handler is registered for this task type."""

    def __init__(self, task_type: str, known: Iterable[str], *, field: str = "type") -> None:
        self.task_type = task_type
        self.known = sorted(known)
        super().__init__(
            f"unknown task type {task_type!r}; known types: {', '.join(self.known) or 'none'}",
            field=field,
        )


class TaskNotFound(ConveyorError):
    """No task has this id."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"no task with id {task_id!r}")


class TaskFinished(ConveyorError):
    """The task has already finished."""

    def __init__(self, task_id: str, status: str, action: str) -> None:
        self.task_id = task_id
        self.status = status
        super().__init__(f"task {task_id} is already {status}; it cannot be {action}")


class TaskRunning(ConveyorError):
    """The task is running and this action needs it not to be."""

    def __init__(self, task_id: str, message: str) -> None:
        self.task_id = task_id
        super().__init__(message)


class LeaseLost(ConveyorError):
    """The worker no longer holds the lease on this task; its outcome was not recorded."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"the lease on task {task_id} was lost; outcome discarded")


class BackendUnavailable(ConveyorError):
    """The storage backend cannot be reached."""

    def __init__(self, url: str, reason: str = "") -> None:
        self.url = url
        super().__init__(f"backend {url} is unavailable" + (f": {reason}" if reason else ""))


class MissingDependency(ConveyorError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(f"{package} is not installed; install conveyor[{extra}]")


class Retry(ConveyorError):
    """The handler asks to be run again later."""

    def __init__(self, reason: str = "", *, delay: float | None = None) -> None:
        self.delay_s = delay
        super().__init__(f"retry requested{': ' + reason if reason else ''}")


class TaskFailedError(ConveyorError):
    """The task failed."""

    def __init__(self, task_id: str, error: str | None) -> None:
        self.task_id = task_id
        self.error = error
        super().__init__(f"task {task_id} failed: {error}")


class TaskCanceledError(ConveyorError):
    """The task was canceled."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"task {task_id} was canceled")


class WaitTimeout(ConveyorError):
    """The task did not finish in time."""

    def __init__(self, task_id: str, timeout_s: float) -> None:
        self.task_id = task_id
        super().__init__(f"task {task_id} did not finish within {timeout_s:g} s")


class InvalidRecord(ConveyorError):
    """The ingested record is not valid."""

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class IngestBusy(ConveyorError):
    """The ingestion queue is full; try again shortly."""


class IngestWriteFailed(ConveyorError):
    """The records could not be written to disk; nothing was acknowledged."""
