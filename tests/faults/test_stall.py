"""A worker process that stops heartbeating (frozen, not dead) is killed and replaced."""

from __future__ import annotations

import os
import signal
from typing import Any

from tests.servers import StartServer, wait_until


def test_a_frozen_worker_process_is_restarted_and_ready_says_so(
    start_server: StartServer,
) -> None:
    server = start_server("--processes", "2", env={"CONVEYOR_HEARTBEAT_SECONDS": "0.2"})

    def supervisor() -> dict[str, Any]:
        workers = server.client.get("/workers").json()["workers"]
        [parent] = [w for w in workers if w["info"].get("role") == "supervisor"]
        found: dict[str, Any] = parent
        return found

    wait_until(
        lambda: len(server.client.get("/workers").json()["workers"]) == 3,
        what="two worker processes registered",
    )
    child = supervisor()["info"]["processes"][0]
    os.kill(child["pid"], signal.SIGSTOP)  # alive, but doing nothing
    wait_until(
        lambda: server.client.get("/ready").status_code == 503,
        timeout_s=20,
        what="/ready reports the stalled worker",
    )
    assert child["node"] in server.client.get("/ready").json()["detail"]

    def replaced() -> bool:
        [now] = [c for c in supervisor()["info"]["processes"] if c["node"] == child["node"]]
        return bool(now["restarts"] == 1 and now["alive"] and now["pid"] != child["pid"])

    wait_until(replaced, timeout_s=20, what="the frozen worker replaced")
    wait_until(
        lambda: server.client.get("/ready").status_code == 200, timeout_s=20, what="ready again"
    )
    task = server.client.post("/tasks", json={"type": "add", "payload": {"a": 1, "b": 1}})
    done = server.client.get(f"/tasks/{task.json()['id']}", params={"wait": 10}).json()
    assert done["result"] == 2
