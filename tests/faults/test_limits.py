"""Timeouts that really stop waiting, and cancel racing completion."""

from __future__ import annotations

import concurrent.futures
import time

import httpx

from tests.servers import StartServer


def test_a_hanging_handler_times_out_while_other_tasks_flow(start_server: StartServer) -> None:
    server = start_server("--app", "userapp:app", "--processes", "0", "--threads", "2")
    hung = server.client.post(
        "/tasks", json={"type": "hang", "timeout": 1, "max_attempts": 1}
    ).json()
    others = server.client.post(
        "/tasks", json={"tasks": [{"type": "add", "payload": {"a": i, "b": 1}} for i in range(100)]}
    ).json()["tasks"]
    started = time.monotonic()
    failed = server.client.get(f"/tasks/{hung['id']}", params={"wait": 20}).json()
    assert failed["status"] == "failed"
    assert "timed out after 1 s" in failed["error"]
    assert time.monotonic() - started < 5
    for n, task in enumerate(others):
        done = server.client.get(f"/tasks/{task['id']}", params={"wait": 20}).json()
        assert (done["status"], done["result"]) == ("completed", n + 1)


def test_cancel_racing_completion_ends_in_exactly_one_final_state(
    start_server: StartServer,
) -> None:
    server = start_server("--processes", "2")
    submitted = server.client.post(
        "/tasks",
        json={"tasks": [{"type": "sleep", "payload": {"seconds": 0.01}} for _ in range(1000)]},
    ).json()["tasks"]

    def cancel(task_id: str) -> tuple[str, int]:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            return task_id, client.post(f"/tasks/{task_id}/cancel").status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = dict(pool.map(cancel, [t["id"] for t in submitted]))
    assert set(answers.values()) <= {200, 202, 409}
    finals = {}
    for task in submitted:
        final = server.client.get(f"/tasks/{task['id']}", params={"wait": 30}).json()
        finals[task["id"]] = final
        assert final["status"] in ("completed", "canceled"), final
        if answers[task["id"]] == 200:  # canceled while pending: it never ran
            assert final["status"] == "canceled"
            assert final["started_at"] is None
        if answers[task["id"]] == 409:  # it had finished first
            assert final["status"] == "completed"
        if final["status"] == "canceled":
            assert final["result"] is None
    stats = server.client.get("/tasks").json()["stats"]
    assert stats["completed"] + stats["canceled"] == 1000
    assert stats["pending"] == stats["processing"] == 0
