"""Seed 000 (multithreaded Flask system): its README's curl lines and routes, unchanged."""

from __future__ import annotations

import pytest

from tests.integration.compat_support import run_curl
from tests.servers import Server, ServerFactory, assert_problem

DOCUMENTED_BASE = "http://localhost:5000"
ADD_TASK = """curl -X POST http://localhost:5000/tasks \\
  -H "Content-Type: application/json" \\
  -d '{"task_data": {"type": "calculation", "input_value": 42}, "priority": 8}'"""


@pytest.fixture(scope="module")
def api(module_server: ServerFactory) -> Server:
    return module_server("--demo", "--demo-rate", "2", "--processes", "0")


def test_the_documented_task_submit_runs_the_calculation(api: Server) -> None:
    status, task = run_curl(api, ADD_TASK, DOCUMENTED_BASE)
    assert status == 201
    assert (task["type"], task["payload"], task["priority"]) == (
        "calculation",
        {"input_value": 42},
        8,
    )
    done = api.wait_final(task["id"])
    assert done["status"] == "completed"
    assert done["result"]["result"] == 42 * 42


def test_an_unknown_or_missing_type_goes_to_the_default_handler(api: Server) -> None:
    unknown = api.submit({"task_data": {"type": "reindex", "shard": 3}})
    missing = api.submit({"task_data": {"note": "no type"}})
    assert (unknown["type"], unknown["payload"]) == ("default", {"type": "reindex", "shard": 3})
    assert missing["type"] == "default"
    assert api.wait_final(unknown["id"])["result"] == {
        "processed": True,
        "type": "reindex",
        "fields": {"type": "reindex", "shard": 3},
    }
    assert api.wait_final(missing["id"])["status"] == "completed"


def test_the_canonical_form_still_rejects_unknown_types(api: Server) -> None:
    assert_problem(api.post("/tasks", json={"type": "reindex"}), 422, "type")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task_data": "calculation"}, "task_data"),
        ({"task_data": {"type": "calculation"}, "priority": "high"}, "priority"),
        ({"task_data": {"type": "calculation"}, "priority": 12}, "priority"),
        ({"task_data": {"type": "calculation"}, "queue_name": "x"}, "queue_name"),
        ({"task_data": {"type": "calculation", "input_value": "many"}}, "payload.input_value"),
    ],
)
def test_a_bad_task_data_body_is_a_422_naming_the_field_and_stores_nothing(
    api: Server, body: dict[str, object], field: str
) -> None:
    assert_problem(api.post("/tasks", json=body), 422, field)
    # The demo producer keeps submitting, so counts move: look for this body's task.
    listed = api.get("/tasks", params={"limit": 1000}).json()["tasks"]
    assert all(task["payload"] != body["task_data"] for task in listed)


def test_status_and_queue_status_answer(api: Server) -> None:
    status = api.get("/status").json()
    assert status["status"] == "ok"
    assert "calculation" in status["task_types"]
    queue = api.get("/tasks").json()
    assert set(queue["stats"]) >= {"pending", "processing", "completed"}


def test_thread_status_lists_producer_consumers_and_monitor(api: Server) -> None:
    body = api.get("/thread-status").json()
    roles = body["by_role"]
    assert roles["producer"] == 1
    assert roles["monitor"] >= 1
    assert roles["consumer"] == 5  # the seed's five consumer threads, by default
    assert body["total"] == body["alive"] == len(body["threads"])
    for thread in body["threads"]:
        assert {"name", "role", "state", "restarts", "last_active", "node", "pid"} <= set(thread)
    assert api.node_id in {thread["node"] for thread in body["threads"]}
