"""`POST /task`, shared by seed 001 (`{"content": "..."}`) and seed 003 (`{"a": .., "b": ..}`):
the body's shape picks the system, and a body that is neither is a 422 naming both."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from starlette.responses import Response

from conveyor.api.compat.math_wizard import add_request
from conveyor.api.compat.task_api import content_request, content_view
from conveyor.api.responses import json_response, read_json
from conveyor.errors import InvalidTask
from conveyor.node import Node

SHAPES = '{"content": "..."} (seed 001) or {"a": number, "b": number} (seed 003)'


def router(node: Node) -> APIRouter:
    api = APIRouter(tags=["compat: seeds 001 and 003"])
    service = node.service

    @api.post("/task", status_code=201, summary=f"Queue a task: {SHAPES}")
    async def submit(
        request: Request,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> Response:
        body = await read_json(request)
        is_object = isinstance(body, dict)
        if is_object and "content" in body and not {"a", "b"} & set(body):
            request_ = content_request(body, node.settings.content_seconds, idempotency_key)
            [done] = await service.submit([request_])
            return json_response(content_view(done.task), 201 if done.created else 200)
        if is_object and {"a", "b"} & set(body) and "content" not in body:
            [done] = await service.submit([add_request(body, idempotency_key)])
            reply = {
                "task_id": done.task.id,
                "status": done.task.status.value,
                "initiated_by": done.task.initiated_by,
            }
            return json_response(
                reply, 201 if done.created else 200, {"Location": f"/tasks/{done.task.id}/status"}
            )
        raise InvalidTask(f"the body must be {SHAPES}", field="body")

    return api
