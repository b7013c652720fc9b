"""Reading, waiting, listing, cancelling and retrying tasks over HTTP."""

from __future__ import annotations

import time

import pytest

from tests.servers import Server, ServerFactory, wait_until


@pytest.fixture(scope="module")
def server(module_servers: ServerFactory) -> Server:
    return module_servers("--app", "userapp:app")


def submit(server: Server, body: dict[str, object]) -> dict[str, object]:
    response = server.client.post("/tasks", json=body)
    assert response.status_code == 201, response.text
    task: dict[str, object] = response.json()
    return task


def test_unknown_id_is_a_404_problem(server: Server) -> None:
    response = server.client.get("/tasks/01a2bc00-0000-7000-8000-000000000000")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_wait_returns_the_result(server: Server) -> None:
    task = submit(server, {"type": "add", "payload": {"a": 2, "b": 3}})
    done = server.client.get(f"/tasks/{task['id']}", params={"wait": 10}).json()
    assert (done["status"], done["result"], done["attempts"]) == ("completed", 5, 1)
    assert done["handled_by"].startswith("node-0-w")  # a worker process of node-0
    assert done["started_at"] is not None
    assert done["finished_at"] >= done["started_at"]


def test_wait_gives_up_after_the_given_time(server: Server) -> None:
    task = submit(server, {"type": "sleep", "payload": {"seconds": 5}})
    started = time.monotonic()
    current = server.client.get(f"/tasks/{task['id']}", params={"wait": 0.5}).json()
    assert 0.4 <= time.monotonic() - started < 4
    assert current["status"] in ("pending", "processing")


def test_a_wait_longer_than_allowed_is_refused(server: Server) -> None:
    task = submit(server, {"type": "echo"})
    response = server.client.get(f"/tasks/{task['id']}", params={"wait": 3600})
    assert response.status_code == 422
    assert response.json()["field"] == "wait"


def test_list_filters_and_pages(server: Server) -> None:
    ids = {str(submit(server, {"type": "echo", "queue": "listing"})["id"]) for _ in range(7)}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, object] = {"queue": "listing", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = server.client.get("/tasks", params=params).json()
        assert set(page["stats"]) == {"pending", "processing", "completed", "failed", "canceled"}
        seen.extend(t["id"] for t in page["tasks"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(seen) == ids
    assert len(seen) == 7
    assert seen == sorted(seen, reverse=True)
    by_type = server.client.get("/tasks", params={"type": "echo", "status": "pending"}).json()
    assert all(t["type"] == "echo" and t["status"] == "pending" for t in by_type["tasks"])
    bad = server.client.get("/tasks", params={"status": "sideways"})
    assert (bad.status_code, bad.json()["field"]) == (422, "status")


def test_cancel_a_pending_task(server: Server) -> None:
    task = submit(server, {"type": "echo", "delay": 3600})
    response = server.client.post(f"/tasks/{task['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    again = server.client.post(f"/tasks/{task['id']}/cancel")
    assert again.status_code == 409
    assert server.client.post("/tasks/nope/cancel").status_code == 404


def test_cancel_a_finished_task_is_a_409(server: Server) -> None:
    task = submit(server, {"type": "echo"})
    server.client.get(f"/tasks/{task['id']}", params={"wait": 10})
    response = server.client.post(f"/tasks/{task['id']}/cancel")
    assert response.status_code == 409
    assert "completed" in response.json()["detail"]


def test_cancel_a_running_task(server: Server) -> None:
    task = submit(server, {"type": "sleep", "payload": {"seconds": 30}})
    wait_until(
        lambda: server.client.get(f"/tasks/{task['id']}").json()["status"] == "processing",
        what="task started",
    )
    response = server.client.post(f"/tasks/{task['id']}/cancel")
    assert response.status_code == 202
    assert response.json()["cancel_requested"] is True
    final = server.client.get(f"/tasks/{task['id']}", params={"wait": 15}).json()
    assert final["status"] == "canceled"


def test_a_failing_handler_is_retried_then_failed_then_retried_on_request(server: Server) -> None:
    task = submit(server, {"type": "always_fails"})
    failed = server.client.get(f"/tasks/{task['id']}", params={"wait": 20}).json()
    assert (failed["status"], failed["attempts"]) == ("failed", 2)
    assert failed["error"] == "ValueError: nope"
    assert "ValueError" in failed["traceback"]
    again = server.client.post(f"/tasks/{task['id']}/retry")
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
    done = submit(server, {"type": "echo"})
    server.client.get(f"/tasks/{done['id']}", params={"wait": 10})
    assert server.client.post(f"/tasks/{done['id']}/retry").status_code == 409
