"""POST /tasks as a user tries it: the task's shape, batches, and every kind of bad input."""

from __future__ import annotations

import concurrent.futures
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.servers import (
    BUILTIN_TYPES,
    RFC3339_UTC,
    TASK_FIELDS,
    TIME_FIELDS,
    Server,
    ServerFactory,
    assert_problem,
    parse_time,
)

USER_TYPES = ("always_fails", "context", "greet", "quit_loop", "quit_thread", "record")


@pytest.fixture(scope="module")
def api(module_server: ServerFactory) -> Server:
    """API only: tasks stay as submitted, so counts and shapes are stable."""
    return module_server("--no-workers", "--app", "userapp:app")


def test_one_task_is_201_with_the_full_shape_and_defaults(api: Server) -> None:
    before = datetime.now(UTC)
    response = api.post("/tasks", json={"type": "echo"})
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    task = response.json()
    for field in TASK_FIELDS:
        assert field in task, field
    assert uuid.UUID(task["id"]).version == 7
    assert str(uuid.UUID(task["id"])) == task["id"]  # canonical lower-case form
    assert task["type"] == "echo"
    assert task["payload"] == {}
    assert task["priority"] == 5
    assert task["queue"] == "default"
    assert task["status"] == "pending"
    assert task["attempts"] == 0
    assert task["result"] is None
    assert task["error"] is None
    assert task["initiated_by"] == api.node_id
    assert task["handled_by"] is None
    for field in TIME_FIELDS:
        value = task[field]
        assert value is None or RFC3339_UTC.match(value), (field, value)
    created = parse_time(task["created_at"])
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC) + timedelta(seconds=1)
    assert (task["started_at"], task["finished_at"]) == (None, None)
    # the id's UUIDv7 timestamp is the creation time (to the millisecond)
    id_ms = uuid.UUID(task["id"]).int >> 80
    assert abs(id_ms - created.timestamp() * 1000) < 1000
    # what was returned is what is stored
    assert api.task(task["id"]) == task


def test_given_fields_are_kept(api: Server) -> None:
    body = {
        "type": "add",
        "payload": {"a": 1, "b": 2.5},
        "priority": 9,
        "queue": "reports.daily",
    }
    task = api.submit(body)
    assert (task["type"], task["payload"], task["priority"], task["queue"]) == (
        "add",
        {"a": 1, "b": 2.5},
        9,
        "reports.daily",
    )
    assert api.submit({"type": "echo", "priority": 0})["priority"] == 0
    nested = {"deep": {"list": [1, "two", None, True, {"x": 1.5}]}, "unicode": "żółw ✓"}
    assert api.task(api.submit({"type": "echo", "payload": nested})["id"])["payload"] == nested


def test_times_are_given_back_in_utc_with_a_z(api: Server) -> None:
    task = api.submit({"type": "echo", "run_at": "2030-01-01T02:00:00+02:00"})
    assert task["run_at"] == "2030-01-01T00:00:00.000000Z"
    assert RFC3339_UTC.match(task["created_at"])
    delayed = api.submit({"type": "echo", "delay": 60})
    gap = parse_time(delayed["run_at"]) - parse_time(delayed["created_at"])
    assert gap == timedelta(seconds=60)


def test_ids_are_time_ordered_strings(api: Server) -> None:
    ids = []
    for _ in range(5):
        ids.append(api.submit({"type": "echo"})["id"])
        time.sleep(0.002)
    assert all(isinstance(i, str) for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 5


def test_a_user_app_type_is_accepted(api: Server) -> None:
    task = api.submit({"type": "greet", "payload": {"name": "ada"}})
    assert (task["type"], task["payload"]) == ("greet", {"name": "ada"})


def test_a_batch_is_201_with_every_task_in_order(api: Server) -> None:
    before = api.total()
    response = api.post(
        "/tasks",
        json={
            "tasks": [
                {"type": "echo", "payload": {"n": 1}},
                {"type": "add", "payload": {"a": 1, "b": 2}, "priority": 8},
                {"type": "echo", "queue": "other"},
            ]
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == ["tasks"]
    tasks = body["tasks"]
    assert [t["type"] for t in tasks] == ["echo", "add", "echo"]
    assert [t["priority"] for t in tasks] == [5, 8, 5]
    assert [t["queue"] for t in tasks] == ["default", "default", "other"]
    assert len({t["id"] for t in tasks}) == 3
    for task in tasks:
        for field in TASK_FIELDS:
            assert field in task
        assert api.task(task["id"]) == task
    assert api.total() == before + 3


def test_a_batch_of_one_is_still_a_batch(api: Server) -> None:
    response = api.post("/tasks", json={"tasks": [{"type": "echo"}]})
    assert response.status_code == 201
    [task] = response.json()["tasks"]
    assert task["type"] == "echo"


@pytest.mark.parametrize(
    ("bad_task", "field"),
    [
        ({"type": "echo", "priority": 12}, "tasks[1].priority"),
        ({"type": "echo", "priority": "high"}, "tasks[1].priority"),
        ({"type": "nope"}, "tasks[1].type"),
        ({"type": "add", "payload": {"a": 1}}, "tasks[1].payload.b"),
        ({"type": "echo", "payload": [1]}, "tasks[1].payload"),
        ({"payload": {}}, "tasks[1].type"),
    ],
)
def test_a_batch_with_one_bad_task_is_422_naming_it_and_stores_nothing(
    api: Server, bad_task: dict[str, Any], field: str
) -> None:
    marker = f"batch-{uuid.uuid4().hex[:12]}"
    before = api.stats()
    response = api.post(
        "/tasks",
        json={
            "tasks": [
                {"type": "echo", "queue": marker},
                {**bad_task, "queue": marker},
                {"type": "echo", "queue": marker},
            ]
        },
    )
    assert_problem(response, 422, field)
    assert api.stats() == before
    assert api.get("/tasks", params={"queue": marker}).json()["tasks"] == []


@pytest.mark.parametrize(
    ("bad_task", "field"),
    [
        ({"type": "echo", "priority": 12}, "tasks[0].priority"),
        ({"type": "nope"}, "tasks[0].type"),
        ({"type": "add", "payload": {"a": 1}}, "tasks[0].payload.b"),
    ],
)
def test_a_batch_of_one_bad_task_names_it_by_index(
    api: Server, bad_task: dict[str, Any], field: str
) -> None:
    before = api.total()
    assert_problem(api.post("/tasks", json={"tasks": [bad_task]}), 422, field)
    assert api.total() == before


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "echo"',
        b"",
        b"{type: echo}",
        b'{"type": "echo"} trailing',
        b'{"type": "echo", "payload": {"x": NaN}}',
        b'{"type": "\xff\xfe"}',
    ],
    ids=["truncated", "empty", "unquoted", "trailing", "nan", "not-utf8"],
)
def test_malformed_json_is_a_400_problem_and_stores_nothing(api: Server, body: bytes) -> None:
    before = api.total()
    response = api.post("/tasks", content=body, headers={"content-type": "application/json"})
    problem = assert_problem(response, 400)
    assert "JSON" in problem["detail"]
    assert api.total() == before


def test_an_unknown_type_is_422_listing_the_known_types(api: Server) -> None:
    before = api.total()
    problem = assert_problem(api.post("/tasks", json={"type": "nope"}), 422, "type")
    assert "nope" in problem["detail"]
    for known in (*BUILTIN_TYPES, *USER_TYPES):
        assert known in problem["detail"], known
    assert api.total() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payload": {}}, "type"),
        ({"type": 5}, "type"),
        ({"type": None}, "type"),
        ({"type": ["echo"]}, "type"),
        ({"type": "echo", "priority": "high"}, "priority"),
        ({"type": "echo", "priority": "5"}, "priority"),
        ({"type": "echo", "priority": 5.5}, "priority"),
        ({"type": "echo", "priority": True}, "priority"),
        ({"type": "echo", "priority": 10}, "priority"),
        ({"type": "echo", "priority": -1}, "priority"),
        ({"type": "echo", "priority": 1000000}, "priority"),
        ({"type": "echo", "queue": 5}, "queue"),
        ({"type": "echo", "queue": ""}, "queue"),
        ({"type": "echo", "queue": "has spaces"}, "queue"),
        ({"type": "echo", "payload": [1, 2]}, "payload"),
        ({"type": "echo", "payload": "text"}, "payload"),
        ({"type": "echo", "payload": 3}, "payload"),
        ({"type": "echo", "payload": None}, "payload"),
        ({"type": "add", "payload": {"a": "x", "b": 1}}, "payload.a"),
        ({"type": "add", "payload": {"a": 1}}, "payload.b"),
        ({"type": "add", "payload": {"a": 1, "b": 2, "c": 3}}, "payload.c"),
        ({"type": "greet", "payload": {}}, "payload.name"),
        ({"type": "echo", "delay": "soon"}, "delay"),
        ({"type": "echo", "surprise": 1}, "surprise"),
        ({"tasks": []}, "tasks"),
        ({"tasks": "x"}, "tasks"),
        ({"tasks": [5]}, "tasks[0]"),
        ([{"type": "echo"}], "body"),
        ("echo", "body"),
        (None, "body"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
    api: Server, body: Any, field: str
) -> None:
    before = api.total()
    raw = json.dumps(body).encode()  # `null` too, which json=None would not send
    response = api.post("/tasks", content=raw, headers={"content-type": "application/json"})
    assert_problem(response, 422, field)
    assert api.total() == before


def test_an_idempotency_key_returns_the_first_task(api: Server) -> None:
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = api.post("/tasks", json={"type": "echo", "payload": {"n": 1}}, headers=key)
    again = api.post("/tasks", json={"type": "echo", "payload": {"n": 2}}, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_other_routes_answer_problems_too(api: Server) -> None:
    assert_problem(api.client.delete("/tasks"), 405)
    assert_problem(api.get("/no-such-route"), 404)


def test_a_body_over_the_limit_is_413_and_stores_nothing(server: ServerFactory) -> None:
    small = server("--no-workers", env={"CONVEYOR_MAX_BODY_BYTES": "2048"})
    before = small.total()
    big = {"type": "echo", "payload": {"x": "a" * 5000}}
    problem = assert_problem(small.post("/tasks", json=big), 413)
    assert "2048" in problem["detail"]
    batch = {"tasks": [{"type": "echo", "payload": {"x": "a" * 100}} for _ in range(30)]}
    assert_problem(small.post("/tasks", json=batch), 413)

    # without a Content-Length (chunked), the limit holds while reading
    def chunks() -> Any:
        yield b'{"type": "echo", "payload": {"x": "'
        for _ in range(10):
            yield b"a" * 500
        yield b'"}}'

    assert_problem(small.post("/tasks", content=chunks()), 413)
    assert small.total() == before
    # just under the limit is fine, and the server still serves
    fits = {"type": "echo", "payload": {"x": "a" * 1800}}
    assert small.post("/tasks", json=fits).status_code == 201
    assert small.total() == before + 1


def test_the_default_limit_is_one_mebibyte(api: Server) -> None:
    before = api.total()
    over = {"type": "echo", "payload": {"x": "a" * (1024 * 1024)}}
    assert_problem(api.post("/tasks", json=over), 413)
    under = {"type": "echo", "payload": {"x": "a" * (1024 * 1024 - 100)}}
    assert api.post("/tasks", json=under).status_code == 201
    assert api.total() == before + 1


def test_concurrent_submits_are_all_stored(api: Server) -> None:
    marker = f"conc-{uuid.uuid4().hex[:8]}"

    def one(n: int) -> str:
        with httpx.Client(base_url=api.base_url, timeout=30) as client:
            response = client.post(
                "/tasks", json={"type": "echo", "queue": marker, "payload": {"n": n}}
            )
            assert response.status_code == 201
            task_id: str = response.json()["id"]
            return task_id

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(one, range(40)))
    assert len(set(ids)) == 40
    listed = api.get("/tasks", params={"queue": marker, "limit": 100}).json()["tasks"]
    assert {t["id"] for t in listed} == set(ids)
