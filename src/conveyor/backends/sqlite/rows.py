"""Tasks as SQLite rows and back: the column list, times as integer microseconds, JSON text."""

from __future__ import annotations

from typing import Any

import orjson

from conveyor.backends.encoding import dumps, from_micros, from_micros_opt, micros, micros_opt
from conveyor.task import Status, Task

COLUMNS = (
    "id, type, payload, priority, queue, status, attempts, max_attempts, created_us, run_at_us,"
    " updated_us, started_us, finished_us, result, error, traceback, timeout_s, idempotency_key,"
    " initiated_by, handled_by, progress, progress_message, cancel_requested, lease_token,"
    " lease_expires_us"
)


def row_to_task(row: tuple[Any, ...]) -> Task:
    (
        id_,
        type_,
        payload,
        priority,
        queue,
        status,
        attempts,
        max_attempts,
        created,
        run_at,
        updated,
        started,
        finished,
        result,
        error,
        traceback,
        timeout_s,
        key,
        initiated_by,
        handled_by,
        progress,
        progress_message,
        cancel_requested,
        token,
        lease_expires,
    ) = row
    return Task(
        id=str(id_),
        type=str(type_),
        payload=orjson.loads(str(payload)),
        priority=int(priority),
        queue=str(queue),
        status=Status(status),
        attempts=int(attempts),
        max_attempts=int(max_attempts),
        created_at=from_micros(created),
        run_at=from_micros(run_at),
        updated_at=from_micros_opt(updated),
        started_at=from_micros_opt(started),
        finished_at=from_micros_opt(finished),
        result=None if result is None else orjson.loads(str(result)),
        error=error,
        traceback=traceback,
        timeout_s=timeout_s,
        idempotency_key=key,
        initiated_by=initiated_by,
        handled_by=handled_by,
        progress=progress,
        progress_message=progress_message,
        cancel_requested=bool(cancel_requested),
        lease_token=token,
        lease_expires_at=from_micros_opt(lease_expires),
    )


def task_row(task: Task) -> tuple[object, ...]:
    return (
        task.id,
        task.type,
        dumps(task.payload),
        task.priority,
        task.queue,
        task.status.value,
        task.attempts,
        task.max_attempts,
        micros(task.created_at),
        micros(task.run_at),
        micros_opt(task.updated_at),
        micros_opt(task.started_at),
        micros_opt(task.finished_at),
        None if task.result is None else dumps(task.result),
        task.error,
        task.traceback,
        task.timeout_s,
        task.idempotency_key,
        task.initiated_by,
        task.handled_by,
        task.progress,
        task.progress_message,
        int(task.cancel_requested),
        task.lease_token,
        micros_opt(task.lease_expires_at),
    )


def placeholders(count: int) -> str:
    return ", ".join("?" * count)
