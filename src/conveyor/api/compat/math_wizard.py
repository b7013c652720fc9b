"""Seed 003 (`003_*.txt`, "Distributed Math Wizard"): `GET /add` (synchronous),
`GET /tasks/{id}/status` with the three identities, and `GET /valkey_test`. Its
`POST /task` is in `task_route` (shared with seed 001); `GET /whoami` is Conveyor's own,
and `GET /` (the page with the add panel) is the dashboard's.
"""

from __future__ import annotations

import math
import time

from fastapi import APIRouter, Request
from starlette.responses import Response

from conveyor.api.compat.bodies import refuse_unknown_keys
from conveyor.api.problems import problem
from conveyor.api.responses import json_response
from conveyor.config import redact
from conveyor.errors import BackendUnavailable, InvalidTask
from conveyor.node import Node
from conveyor.service import TaskRequest
from conveyor.task import JSONObject, Status, Task

ADD_TYPE = "add"
Number = int | float


def parse_number(text: str | None, field: str) -> Number:
    """A query or body number: an integer stays one (2 + 3 is 5, not 5.0)."""
    if text is None or not text.strip():
        raise InvalidTask(f"{field}: a number is required", field=field)
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise InvalidTask(f"{field}: {text!r} is not a number", field=field) from None
    if not math.isfinite(value):
        raise InvalidTask(f"{field}: must be a finite number, not {text}", field=field)
    return value


def json_number(value: object, field: str) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTask(f"{field}: must be a number", field=field)
    return value


def add_request(body: JSONObject, idempotency_key: str | None) -> TaskRequest:
    refuse_unknown_keys(body, {"a", "b"}, 'the body is {"a": n, "b": n}')
    payload = {name: json_number(body.get(name), name) for name in ("a", "b")}
    return TaskRequest(type=ADD_TYPE, payload=payload, idempotency_key=idempotency_key)


def status_view(task: Task, checked_by: str) -> JSONObject:
    view: JSONObject = {"task_id": task.id, "status": task.status.value}
    if task.status is Status.COMPLETED:
        view["result"] = task.result
    if task.error is not None:
        view["error"] = task.error
    view["initiated_by"] = task.initiated_by
    view["checked_by"] = checked_by
    if task.handled_by is not None:
        view["handled_by"] = task.handled_by
    return view


def router(node: Node) -> APIRouter:
    api = APIRouter(tags=["compat: seed 003 (Math Wizard)"])
    node_id = node.settings.node_id

    @api.get("/add", summary="a + b, computed now by the API node answering")
    async def add(request: Request) -> Response:
        try:
            a = parse_number(request.query_params.get("a"), "a")
            b = parse_number(request.query_params.get("b"), "b")
        except InvalidTask as exc:  # no task here: a plain invalid request
            return problem(
                422, "invalid-request", "Invalid request", exc.message, "/add", field=exc.field
            )
        return json_response({"a": a, "b": b, "result": a + b, "handled_by": node_id})

    @api.get(
        "/tasks/{task_id}/status", summary="Status, result, and who initiated, checked, ran it"
    )
    async def task_status(task_id: str) -> Response:
        return json_response(status_view(await node.service.get(task_id), node_id))

    @api.get("/valkey_test", summary="Backend diagnostics: 200 when it answers, 503 when not")
    async def backend_test() -> Response:
        backend = redact(node.settings.backend)
        started = time.perf_counter()
        try:
            facts = await node.backend.diagnostics()
        except BackendUnavailable as exc:
            return problem(
                503,
                "backend-unavailable",
                "Backend unavailable",
                exc.message,
                "/valkey_test",
                reachable=False,
                backend=backend,
                checked_by=node_id,
            )
        round_trip_ms = round((time.perf_counter() - started) * 1000, 3)
        return json_response(
            {
                "reachable": True,
                "round_trip_ms": round_trip_ms,
                "backend": backend,
                "checked_by": node_id,
                **facts,
            }
        )

    return api
