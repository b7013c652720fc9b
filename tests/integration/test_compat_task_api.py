"""Seed 001 (FastAPI + PostgreSQL + Redis task system): its routes and reply shapes."""

from __future__ import annotations

import time

import pytest

from tests.servers import Server, ServerFactory, assert_problem, parse_time, wait_until

SHAPE = ["id", "content", "status", "created_at", "updated_at"]
UNKNOWN_ID = "01a2bc00-0000-7000-8000-000000000000"


@pytest.fixture(scope="module")
def api(module_server: ServerFactory) -> Server:
    return module_server("--content-seconds", "1.5")


def create(api: Server, content: str) -> dict[str, object]:
    response = api.post("/task", json={"content": content})
    assert response.status_code == 201, response.text
    task: dict[str, object] = response.json()
    return task


def get(api: Server, task_id: object) -> dict[str, object]:
    response = api.get(f"/task/{task_id}")
    assert response.status_code == 200, response.text
    task: dict[str, object] = response.json()
    return task


def test_create_answers_201_in_the_documented_shape(api: Server) -> None:
    task = create(api, "hello world")
    assert list(task) == SHAPE
    assert (task["content"], task["status"], task["updated_at"]) == ("hello world", "pending", None)
    parse_time(str(task["created_at"]))
    assert get(api, task["id"])["content"] == "hello world"


def test_a_task_is_processing_then_completed_after_content_seconds(api: Server) -> None:
    task = create(api, "work")
    started = time.monotonic()
    processing = wait_until(
        lambda: (t := get(api, task["id"]))["status"] == "processing" and t, 10, "processing"
    )
    assert list(processing) == SHAPE
    assert processing["updated_at"] is not None
    done = wait_until(
        lambda: (t := get(api, task["id"]))["status"] == "completed" and t, 15, "completed"
    )
    assert time.monotonic() - started >= 1.4  # it took --content-seconds
    assert parse_time(str(done["updated_at"])) > parse_time(str(processing["updated_at"]))


def test_cancel_a_pending_task(api: Server) -> None:
    # A queue of tasks ahead keeps this one pending long enough to cancel it.
    for n in range(12):
        create(api, f"filler {n}")
    task = create(api, "to cancel")
    response = api.client.patch(f"/task/{task['id']}/cancel")
    assert response.status_code == 200, response.text
    canceled = response.json()
    assert list(canceled) == SHAPE
    assert canceled["status"] == "canceled"
    assert canceled["updated_at"] is not None
    assert get(api, task["id"])["status"] == "canceled"


def test_cancel_a_processing_task_answers_canceled(api: Server) -> None:
    task = create(api, "long")
    wait_until(lambda: get(api, task["id"])["status"] == "processing", 15, "processing")
    response = api.client.patch(f"/task/{task['id']}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "canceled"
    time.sleep(2)  # past its content-seconds: it stays canceled, never completed
    assert get(api, task["id"])["status"] == "canceled"


def test_cancel_a_completed_task_is_400_and_changes_nothing(api: Server) -> None:
    task = create(api, "quick")
    wait_until(lambda: get(api, task["id"])["status"] == "completed", 15, "completed")
    problem = assert_problem(api.client.patch(f"/task/{task['id']}/cancel"), 400)
    assert "completed" in problem["detail"]
    assert get(api, task["id"])["status"] == "completed"


def test_unknown_ids_are_404(api: Server) -> None:
    assert_problem(api.get(f"/task/{UNKNOWN_ID}"), 404)
    assert_problem(api.client.patch(f"/task/{UNKNOWN_ID}/cancel"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": 5}, "content"),
        ({"content": "x", "priority": 1}, "priority"),
        ({"content": "x", "a": 1}, "body"),
        ({}, "body"),
        (["content"], "body"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(api: Server, body: object, field: str) -> None:
    before = api.total()
    problem = assert_problem(api.post("/task", json=body), 422, field)
    if field == "body":
        assert '{"content": "..."}' in problem["detail"]
        assert '{"a": number, "b": number}' in problem["detail"]
    assert api.total() == before


def test_health(api: Server) -> None:
    response = api.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
