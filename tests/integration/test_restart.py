"""Nothing accepted is lost: kill -9 mid-run, restart, every accepted task completes."""

from __future__ import annotations

import signal
import time

from tests.servers import StartServer


def test_kill_nine_then_restart_completes_every_accepted_task(start_server: StartServer) -> None:
    server = start_server("--app", "userapp:app", "--lease-seconds", "2")
    accepted = []
    for n in range(30):
        body = (
            {"type": "sleep", "payload": {"seconds": 0.2}}
            if n % 3 == 0
            else {"type": "record", "payload": {"label": str(n)}}
        )
        response = server.client.post("/tasks", json=body)
        assert response.status_code == 201
        accepted.append(response.json()["id"])
    time.sleep(0.3)  # some are running now
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL

    restarted = start_server("--app", "userapp:app", "--lease-seconds", "2")
    for task_id in accepted:
        task = restarted.client.get(f"/tasks/{task_id}", params={"wait": 30}).json()
        assert task["status"] == "completed", task


def test_sigterm_finishes_running_tasks_and_exits_cleanly(start_server: StartServer) -> None:
    server = start_server()
    task = server.client.post("/tasks", json={"type": "sleep", "payload": {"seconds": 1}}).json()
    deadline = time.monotonic() + 10
    while server.client.get(f"/tasks/{task['id']}").json()["status"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert server.stop(signal.SIGTERM) == 0
    restarted = start_server()
    done = restarted.client.get(f"/tasks/{task['id']}").json()
    assert (done["status"], done["attempts"]) == ("completed", 1)
