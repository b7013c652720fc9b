"""Seed 001 (`001_*.txt`, "Task Processing System", FastAPI + PostgreSQL + Redis):
`GET /task/{id}` and `PATCH /task/{id}/cancel` in the document's shape. `POST /task` is in
`task_route` (shared with seed 003); `GET /health` is Conveyor's own.

A seed-001 task is the built-in `content` type: `processing` for `--content-seconds`
(3 by default, as the document's consumer sleeps), then `completed`.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from conveyor.api.compat.bodies import refuse_unknown_keys
from conveyor.api.problems import problem
from conveyor.api.responses import json_response
from conveyor.errors import InvalidTask, TaskFinished
from conveyor.node import Node
from conveyor.service import TaskRequest
from conveyor.task import JSONObject, Status, Task, format_time

CONTENT_TYPE = "content"


def content_request(body: JSONObject, seconds: float, idempotency_key: str | None) -> TaskRequest:
    refuse_unknown_keys(body, {"content"}, 'the body is {"content": "..."}')
    if not isinstance(body.get("content"), str):
        raise InvalidTask("content must be a string", field="content")
    return TaskRequest(
        type=CONTENT_TYPE,
        payload={"content": body["content"], "seconds": seconds},
        idempotency_key=idempotency_key,
    )


def content_view(task: Task) -> JSONObject:
    """A task in the document's five fields, in its order."""
    return {
        "id": task.id,
        "content": task.payload.get("content"),
        "status": task.status.value,
        "created_at": format_time(task.created_at),
        "updated_at": format_time(task.updated_at),
    }


def router(node: Node) -> APIRouter:
    api = APIRouter(tags=["compat: seed 001 (task API)"])
    service = node.service
    # A running task stops at its handler's next cancel check (the built-in one checks
    # every 0.1 s) or is abandoned after the grace period: wait that long for it.
    settle_s = min(node.settings.cancel_grace_seconds + 2.0, node.settings.max_wait_seconds)

    @api.get("/task/{task_id}", summary="A task as seed 001 shows it")
    async def get_task(task_id: str) -> Response:
        return json_response(content_view(await service.get(task_id)))

    @api.patch(
        "/task/{task_id}/cancel",
        summary="Cancel a pending or processing task (400 once completed)",
    )
    async def cancel_task(task_id: str) -> Response:
        try:
            task = (await service.cancel(task_id)).task
        except TaskFinished:
            task = await service.get(task_id)
            if task.status is Status.CANCELED:  # canceling twice changes nothing
                return json_response(content_view(task))
            return _not_cancelable(task)
        if not task.status.is_final:
            task = await service.wait(task_id, settle_s)
        if task.status is Status.CANCELED:
            return json_response(content_view(task))
        if task.status.is_final:  # it finished before the cancel reached its handler
            return _not_cancelable(task)
        return json_response(content_view(task), 202)  # still stopping: poll GET /task/{id}

    return api


def _not_cancelable(task: Task) -> Response:
    return problem(
        400,
        "task-finished",
        "Task already finished",
        f"task {task.id} is already {task.status.value}; it cannot be canceled",
        f"/task/{task.id}/cancel",
        task_status=task.status.value,
    )
