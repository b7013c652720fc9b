"""POST /tasks over HTTP: the task's shape, batches, and every kind of bad input."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.servers import Server, ServerFactory, StartServer

UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
FIELDS = (
    "id",
    "type",
    "payload",
    "priority",
    "queue",
    "status",
    "attempts",
    "result",
    "error",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "initiated_by",
    "handled_by",
)


@pytest.fixture(scope="module")
def server(module_servers: ServerFactory) -> Server:
    return module_servers("--queues", "nobody")  # workers consume only a queue never used


def total(server: Server) -> int:
    return sum(server.client.get("/tasks").json()["stats"].values())


def assert_problem(response: object, status: int, field: str | None = None) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    for key in ("type", "title", "status", "detail"):
        assert key in body
    assert body["status"] == status
    if field is not None:
        assert body["field"] == field, body
    return body


def test_one_task_is_stored_with_defaults(server: Server) -> None:
    response = server.client.post("/tasks", json={"type": "echo"})
    assert response.status_code == 201
    task = response.json()
    for field in FIELDS:
        assert field in task
    assert uuid.UUID(task["id"]).version == 7
    assert (task["priority"], task["queue"], task["payload"], task["status"]) == (
        5,
        "default",
        {},
        "pending",
    )
    assert UTC_TIME.match(task["created_at"])
    assert task["updated_at"] is None
    assert task["initiated_by"] == "node-0"
    assert server.client.get(f"/tasks/{task['id']}").json()["id"] == task["id"]


def test_ids_are_time_ordered(server: Server) -> None:
    ids = [server.client.post("/tasks", json={"type": "echo"}).json()["id"] for _ in range(5)]
    assert ids == sorted(ids)


def test_a_batch_is_all_or_nothing(server: Server) -> None:
    good = server.client.post(
        "/tasks", json={"tasks": [{"type": "echo"}, {"type": "add", "payload": {"a": 1, "b": 2}}]}
    )
    assert good.status_code == 201
    assert [t["type"] for t in good.json()["tasks"]] == ["echo", "add"]
    before = total(server)
    bad = server.client.post(
        "/tasks", json={"tasks": [{"type": "echo"}, {"type": "echo", "priority": 12}]}
    )
    assert_problem(bad, 422, "tasks[1].priority")
    assert total(server) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "nope"}, "type"),
        ({"payload": {}}, "type"),
        ({"type": 5}, "type"),
        ({"type": "echo", "priority": 10}, "priority"),
        ({"type": "echo", "priority": "high"}, "priority"),
        ({"type": "echo", "payload": [1, 2]}, "payload"),
        ({"type": "add", "payload": {"a": "x", "b": 1}}, "payload.a"),
        ({"type": "add", "payload": {"a": 1}}, "payload.b"),
        ({"type": "echo", "queue": "no spaces"}, "queue"),
        ({"type": "echo", "surprise": 1}, "surprise"),
        ({"tasks": []}, "tasks"),
        ([1, 2], "body"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
    server: Server, body: object, field: str
) -> None:
    before = total(server)
    assert_problem(server.client.post("/tasks", json=body), 422, field)
    assert total(server) == before


def test_unknown_type_lists_the_known_ones(server: Server) -> None:
    body = assert_problem(server.client.post("/tasks", json={"type": "nope"}), 422, "type")
    assert "add, calculation, echo" in str(body["detail"])


def test_malformed_json_is_a_400(server: Server) -> None:
    response = server.client.post(
        "/tasks", content=b'{"type": "echo"', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)


def test_an_idempotency_key_returns_the_first_task(server: Server) -> None:
    first = server.client.post("/tasks", json={"type": "echo"}, headers={"Idempotency-Key": "k"})
    again = server.client.post("/tasks", json={"type": "echo"}, headers={"Idempotency-Key": "k"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]


def test_a_body_over_the_limit_is_a_413(start_server: StartServer) -> None:
    server = start_server(env={"CONVEYOR_MAX_BODY_BYTES": "2048"})
    before = total(server)
    response = server.client.post("/tasks", json={"type": "echo", "payload": {"x": "a" * 5000}})
    assert_problem(response, 413)
    assert total(server) == before
    chunked = server.client.post(
        "/tasks", content=iter([b'{"type": "echo", "payload": {"x": "', b"a" * 5000, b'"}}'])
    )
    assert_problem(chunked, 413)
