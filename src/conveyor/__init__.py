"""Conveyor: durable task processing for Python, over HTTP or from Python."""

from conveyor.app import App
from conveyor.client import TaskFunction, TaskHandle
from conveyor.config import Settings
from conveyor.errors import (
    BackendUnavailable,
    ConveyorError,
    InvalidTask,
    LeaseLost,
    MissingDependency,
    Retry,
    TaskCanceledError,
    TaskFailedError,
    TaskFinished,
    TaskNotFound,
    UnknownTaskType,
    WaitTimeout,
)
from conveyor.registry import TaskContext
from conveyor.task import Status, Task

__all__ = [
    "App",
    "BackendUnavailable",
    "ConveyorError",
    "InvalidTask",
    "LeaseLost",
    "MissingDependency",
    "Retry",
    "Settings",
    "Status",
    "Task",
    "TaskCanceledError",
    "TaskContext",
    "TaskFailedError",
    "TaskFinished",
    "TaskFunction",
    "TaskHandle",
    "TaskNotFound",
    "UnknownTaskType",
    "WaitTimeout",
]
