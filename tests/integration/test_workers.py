"""Workers as a user sees them: priority order, supervision, the demo producer."""

from __future__ import annotations

import os
import signal

from tests.servers import Server, StartServer, wait_until


def threads_of(server: Server) -> list[dict[str, object]]:
    [worker] = server.client.get("/workers").json()["workers"]
    threads: list[dict[str, object]] = worker["threads"]
    return threads


def test_a_late_priority_nine_task_starts_before_earlier_priority_zero_ones(
    start_server: StartServer,
) -> None:
    server = start_server("--threads", "1", "--processes", "0")
    blocker = server.client.post("/tasks", json={"type": "sleep", "payload": {"seconds": 1}})
    wait_until(
        lambda: (
            server.client.get(f"/tasks/{blocker.json()['id']}").json()["status"] == "processing"
        ),
        what="blocker started",
    )
    low = [
        server.client.post("/tasks", json={"type": "echo", "priority": 0}).json()["id"]
        for _ in range(4)
    ]
    high = server.client.post("/tasks", json={"type": "echo", "priority": 9}).json()["id"]
    started = {}
    for task_id in [*low, high]:
        task = server.client.get(f"/tasks/{task_id}", params={"wait": 20}).json()
        assert task["status"] == "completed"
        started[task_id] = task["started_at"]
    assert all(started[high] < started[task_id] for task_id in low)


def test_workers_lists_consumers_and_the_monitor(start_server: StartServer) -> None:
    server = start_server("--processes", "0")
    threads = threads_of(server)
    roles = [t["role"] for t in threads]
    assert roles.count("consumer") == 5
    assert roles.count("monitor") == 1
    for thread in threads:
        assert set(thread) >= {"name", "role", "state", "task_id", "last_active", "restarts"}
    [worker] = server.client.get("/workers").json()["workers"]
    assert worker["node"] == "node-0"
    assert worker["pid"] == server.process.pid
    assert worker["alive"] is True


def test_a_thread_killed_by_its_handler_is_replaced(start_server: StartServer) -> None:
    server = start_server("--app", "userapp:app", "--threads", "2", "--processes", "0")
    task = server.client.post("/tasks", json={"type": "quit_thread"}).json()
    failed = server.client.get(f"/tasks/{task['id']}", params={"wait": 10}).json()
    assert failed["status"] == "failed"
    assert "SystemExit" in failed["error"]

    def restarted() -> bool:
        consumers = [t for t in threads_of(server) if t["role"] == "consumer"]
        return len(consumers) == 2 and sum(int(str(t["restarts"])) for t in consumers) == 1

    wait_until(restarted, what="consumer restarted")
    greeting = server.client.post("/tasks", json={"type": "greet", "payload": {"name": "ada"}})
    done = server.client.get(f"/tasks/{greeting.json()['id']}", params={"wait": 10}).json()
    assert done["result"] == "hello ada"


def test_demo_mode_has_a_producer_that_submits(start_server: StartServer) -> None:
    server = start_server("--demo", "--demo-rate", "20", "--processes", "0")
    assert any(t["role"] == "producer" for t in threads_of(server))

    def some_completed() -> bool:
        return int(server.client.get("/tasks").json()["stats"]["completed"]) >= 5

    wait_until(some_completed, what="demo tasks completed")
    tasks = server.client.get("/tasks").json()["tasks"]
    assert {t["type"] for t in tasks} <= {"calculation", "validation", "add", "sleep", "echo"}


def test_worker_processes_are_supervised(start_server: StartServer) -> None:
    server = start_server("--processes", "2", "--app", "userapp:app", "--lease-seconds", "30")

    def workers() -> list[dict[str, object]]:
        found: list[dict[str, object]] = server.client.get("/workers").json()["workers"]
        return found

    wait_until(lambda: len(workers()) == 3, what="supervisor and two worker processes listed")
    [parent] = [w for w in workers() if w["info"].get("role") == "supervisor"]  # type: ignore[index]
    assert parent["pid"] == server.process.pid
    children = parent["info"]["processes"]  # type: ignore[index]
    assert [c["node"] for c in children] == ["node-0-w1", "node-0-w2"]
    for child in workers():
        if child["id"] != "node-0":
            assert [t["role"] for t in child["threads"]].count("consumer") == 5  # type: ignore[union-attr]

    task = server.client.post("/tasks", json={"type": "sleep", "payload": {"seconds": 3}}).json()
    wait_until(
        lambda: server.client.get(f"/tasks/{task['id']}").json()["status"] == "processing",
        what="task started",
    )
    holder = server.client.get(f"/tasks/{task['id']}").json()["handled_by"]
    [victim] = [c for c in children if c["node"] == holder]
    os.kill(int(victim["pid"]), signal.SIGKILL)

    def restarted() -> bool:
        [again] = [w for w in workers() if w["info"].get("role") == "supervisor"]
        [child] = [c for c in again["info"]["processes"] if c["node"] == holder]  # type: ignore[index]
        return bool(child["restarts"] == 1 and child["alive"] and "SIGKILL" in child["last_exit"])

    wait_until(restarted, what="the killed worker process restarted")
    # The restarted process reclaims its dead predecessor's task at once (not after 30 s).
    done = server.client.get(f"/tasks/{task['id']}", params={"wait": 20}).json()
    assert (done["status"], done["attempts"]) == ("completed", 2)
