"""Seed 000 (`000_*.txt`, "Multithreaded Flask Application"): `POST /tasks` with
`{"task_data": {"type": ..., ...fields}, "priority": N}`, and `GET /thread-status`.

`GET /status` and `GET /tasks` are Conveyor's own routes, which answer what the seed's did.
"""

from __future__ import annotations

import os

from fastapi import APIRouter
from starlette.responses import Response

from conveyor.api.compat.bodies import refuse_unknown_keys
from conveyor.api.responses import json_response
from conveyor.api.system import worker_list
from conveyor.errors import InvalidTask
from conveyor.node import Node
from conveyor.registry import Registry
from conveyor.service import TaskRequest
from conveyor.task import JSONObject

DEFAULT_TYPE = "default"
"""The built-in handler for a `task_data` with a missing or unregistered type."""

_ACCEPTED_KEYS = frozenset({"task_data", "priority"})


def is_task_data(body: JSONObject) -> bool:
    return "task_data" in body


def task_data_request(
    body: JSONObject, registry: Registry, idempotency_key: str | None
) -> TaskRequest:
    """The task a seed-000 body asks for: `type` picks the handler and the other fields
    are its payload; an unknown or missing type goes to `default` with every field."""
    refuse_unknown_keys(body, _ACCEPTED_KEYS, "the body holds task_data and priority only")
    data = body["task_data"]
    if not isinstance(data, dict):
        raise InvalidTask("task_data must be a JSON object", field="task_data")
    priority = body.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
        raise InvalidTask("priority must be an integer", field="priority")
    task_type = data.get("type")
    if isinstance(task_type, str) and task_type in registry and task_type != DEFAULT_TYPE:
        payload = {key: value for key, value in data.items() if key != "type"}
    else:
        task_type, payload = DEFAULT_TYPE, dict(data)
    return TaskRequest(
        type=task_type, payload=payload, priority=priority, idempotency_key=idempotency_key
    )


def thread_rows(processes: list[JSONObject]) -> list[JSONObject]:
    """Every thread of every worker process, flat, each naming its process and node."""
    rows: list[JSONObject] = []
    for process in processes:
        for thread in process["threads"]:
            alive = thread.get("alive")
            rows.append(
                {
                    **thread,
                    "process": process["id"],
                    "node": process["node"],
                    "pid": process["pid"],
                    "alive": bool(process["alive"]) and alive is not False,
                }
            )
    return rows


def summary(rows: list[JSONObject]) -> JSONObject:
    by_role: dict[str, int] = {}
    for row in rows:
        by_role[row["role"]] = by_role.get(row["role"], 0) + 1
    return {
        "total": len(rows),
        "alive": sum(1 for row in rows if row["alive"]),
        "restarts": sum(int(row["restarts"]) for row in rows),
        "by_role": by_role,
    }


def router(node: Node) -> APIRouter:
    api = APIRouter(tags=["compat: seed 000 (Flask threads)"])

    @api.get("/thread-status", summary="Every producer, consumer and monitor thread")
    async def thread_status() -> Response:
        processes = await worker_list(node)
        if node.roster.records() and all(p["id"] != node.settings.node_id for p in processes):
            # An API-only node registers no worker, but its own threads (the --demo
            # producer) are threads the seed's clients expect to see.
            processes.append(
                {
                    "id": node.settings.node_id,
                    "node": node.settings.node_id,
                    "pid": os.getpid(),
                    "alive": True,
                    "threads": node.roster.snapshot(),
                }
            )
        rows = thread_rows(processes)
        return json_response({"node": node.settings.node_id, "threads": rows, **summary(rows)})

    return api
