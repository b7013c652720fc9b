"""Worker processes are recycled after a number of tasks, between tasks, losing nothing."""

from __future__ import annotations

from typing import Any

from tests.servers import StartServer, wait_until


def test_worker_processes_retire_after_max_tasks_and_are_replaced(
    start_server: StartServer,
) -> None:
    server = start_server("--processes", "1", "--max-tasks-per-child", "5")
    tasks = server.client.post(
        "/tasks", json={"tasks": [{"type": "add", "payload": {"a": n, "b": 1}} for n in range(12)]}
    ).json()["tasks"]
    for n, task in enumerate(tasks):
        done = server.client.get(f"/tasks/{task['id']}", params={"wait": 30}).json()
        assert (done["status"], done["result"], done["attempts"]) == ("completed", n + 1, 1)

    def child() -> dict[str, Any]:
        workers = server.client.get("/workers").json()["workers"]
        [parent] = [w for w in workers if w["info"].get("role") == "supervisor"]
        found: dict[str, Any] = parent["info"]["processes"][0]
        return found

    wait_until(
        lambda: child()["restarts"] >= 2 and child()["alive"],
        timeout_s=20,
        what="the worker process recycled twice",
    )
    assert "recycled" in child()["last_exit"]
