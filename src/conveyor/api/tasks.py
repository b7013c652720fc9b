"""Task routes: submit, get (and wait), list, cancel."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from conveyor.api.compat import flask_threads
from conveyor.api.problems import problem
from conveyor.api.responses import json_response, read_json
from conveyor.api.schemas import SUBMIT_BODY_SCHEMA, BatchIn, TaskIn
from conveyor.backends.base import TaskFilter
from conveyor.errors import InvalidTask
from conveyor.registry import Registry
from conveyor.service import Submitted, TaskRequest, TaskService
from conveyor.task import Status, Task


def parse_submit(
    data: Any, idempotency_key: str | None, registry: Registry
) -> tuple[list[TaskRequest], bool]:
    """The requests in a submit body, and whether it was a batch."""
    if not isinstance(data, dict):
        raise InvalidTask("the body must be a JSON object", field="body")
    if flask_threads.is_task_data(data):
        return [flask_threads.task_data_request(data, registry, idempotency_key)], False
    batch = "tasks" in data
    try:
        if batch:
            return [t.to_request() for t in BatchIn.model_validate(data).tasks], True
        return [TaskIn.model_validate(data).to_request(idempotency_key)], False
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error["loc"]]
        field = ".".join(loc).replace(".[", "[") or "body"
        raise InvalidTask(f"{field}: {error['msg']}", field=field) from None


def shown(task: Task, node_id: str) -> dict[str, Any]:
    """A task as the API shows it: with the node that answered (`checked_by`)."""
    return {**task.to_json(), "checked_by": node_id}


def submitted_answer(results: list[Submitted], batch: bool, node_id: str) -> tuple[int, bytes]:
    """The status and JSON body of a submit's answer: 201, or 200 when an idempotency key
    matched an earlier task (a single submit)."""
    if batch:
        return 201, orjson.dumps({"tasks": [shown(r.task, node_id) for r in results]})
    [result] = results
    return 201 if result.created else 200, orjson.dumps(shown(result.task, node_id))


def router(service: TaskService, max_wait_s: float) -> APIRouter:
    api = APIRouter(tags=["tasks"])

    @api.post(
        "/tasks",
        status_code=201,
        openapi_extra={"requestBody": SUBMIT_BODY_SCHEMA},
        summary="Submit one task, or {tasks: [...]} as one all-or-nothing batch",
    )
    async def submit(
        request: Request,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> Response:
        requests, batch = parse_submit(await read_json(request), idempotency_key, service.registry)
        status, body = submitted_answer(
            await service.submit(requests, batch=batch), batch, service.node_id
        )
        return Response(body, status, media_type="application/json")

    @api.get("/tasks", summary="Counts by status and one page of tasks, newest first")
    async def list_tasks(
        status: Annotated[Status | None, Query()] = None,
        type: Annotated[str | None, Query()] = None,
        queue: Annotated[str | None, Query()] = None,
        cursor: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> Response:
        page = await service.list(TaskFilter(status, type, queue), cursor, limit)
        stats = await service.stats()
        return json_response(
            {
                "stats": stats.by_status,
                "queues": stats.by_queue,
                "tasks": [shown(task, service.node_id) for task in page.tasks],
                "next_cursor": page.next_cursor,
            }
        )

    @api.get("/tasks/{task_id}", summary="A task; ?wait=S blocks until it is final")
    async def get_task(
        task_id: str,
        wait: Annotated[
            float | None, Query(ge=0, description="seconds to wait for a final state")
        ] = None,
    ) -> Response:
        if wait is not None and wait > max_wait_s:
            return problem(
                422,
                "invalid-request",
                "Invalid request",
                f"wait: at most {max_wait_s:g} seconds",
                f"/tasks/{task_id}",
                field="wait",
            )
        task = await service.wait(task_id, wait) if wait else await service.get(task_id)
        return json_response(shown(task, service.node_id))

    @api.post(
        "/tasks/{task_id}/cancel",
        summary="Cancel: pending -> canceled (200); running -> cancel requested (202)",
    )
    async def cancel_task(task_id: str) -> Response:
        outcome = await service.cancel(task_id)
        return json_response(
            shown(outcome.task, service.node_id), 200 if outcome.task.status.is_final else 202
        )

    @api.post(
        "/tasks/{task_id}/retry",
        summary="Put a failed or canceled task back to pending (409 otherwise)",
    )
    async def retry_task(task_id: str) -> Response:
        return json_response(shown((await service.retry(task_id)).task, service.node_id))

    return api
