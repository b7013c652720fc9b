"""Tasks as Redis hashes and back: every value a string, a missing field for None."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from conveyor.backends.encoding import dumps, from_micros, micros
from conveyor.task import Status, Task

_TIMES = {
    "created_us": "created_at",
    "run_at_us": "run_at",
    "updated_us": "updated_at",
    "started_us": "started_at",
    "finished_us": "finished_at",
    "lease_expires_us": "lease_expires_at",
}
_TEXTS = (
    "error",
    "traceback",
    "idempotency_key",
    "initiated_by",
    "handled_by",
    "progress_message",
    "lease_token",
)


def task_fields(task: Task) -> dict[str, str]:
    """The hash fields of a task; None values are left out."""
    fields = {
        "id": task.id,
        "type": task.type,
        "payload": dumps(task.payload),
        "priority": str(task.priority),
        "queue": task.queue,
        "status": task.status.value,
        "attempts": str(task.attempts),
        "max_attempts": str(task.max_attempts),
        "cancel_requested": "1" if task.cancel_requested else "0",
    }
    for field, attribute in _TIMES.items():
        if (value := getattr(task, attribute)) is not None:
            fields[field] = str(micros(value))
    for field in _TEXTS:
        if (text := getattr(task, field)) is not None:
            fields[field] = text
    if task.result is not None:
        fields["result"] = dumps(task.result)
    if task.timeout_s is not None:
        fields["timeout_s"] = repr(task.timeout_s)
    if task.progress is not None:
        fields["progress"] = repr(task.progress)
    return fields


# Every field a task hash can hold. A claim reads them with one HMGET and answers the
# values in this order (None where a field is missing): no field names to send and parse.
FIELDS = (
    "id",
    "type",
    "payload",
    "priority",
    "queue",
    "status",
    "attempts",
    "max_attempts",
    "cancel_requested",
    *_TIMES,
    *_TEXTS,
    "result",
    "timeout_s",
    "progress",
)


def values_task(values: Sequence[str | None]) -> Task:
    """A task from the values of FIELDS, in order."""
    return fields_task({f: v for f, v in zip(FIELDS, values, strict=True) if v is not None})


def pairs_to_dict(flat: Sequence[str]) -> dict[str, str]:
    """HGETALL as a Lua script returns it: [field, value, field, value, ...]."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def fields_task(fields: Mapping[str, str]) -> Task:
    times: dict[str, Any] = {
        attribute: from_micros(int(fields[field]))
        for field, attribute in _TIMES.items()
        if field in fields
    }
    texts: dict[str, Any] = {field: fields.get(field) for field in _TEXTS}
    result = fields.get("result")
    timeout_s = fields.get("timeout_s")
    progress = fields.get("progress")
    return Task(
        id=fields["id"],
        type=fields["type"],
        payload=orjson.loads(fields["payload"]),
        priority=int(fields["priority"]),
        queue=fields["queue"],
        status=Status(fields["status"]),
        attempts=int(fields["attempts"]),
        max_attempts=int(fields["max_attempts"]),
        result=None if result is None else orjson.loads(result),
        timeout_s=None if timeout_s is None else float(timeout_s),
        progress=None if progress is None else float(progress),
        cancel_requested=fields.get("cancel_requested") == "1",
        **times,
        **texts,
    )
