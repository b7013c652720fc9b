"""A worker process the OS kills (SIGKILL, as when out of memory) mid-task: the tasks it
ran say so in their error, and complete on retry when attempts remain."""

from __future__ import annotations

import os
import signal
from typing import Any

from tests.servers import StartServer, pid_alive, supervised_children, wait_until

KILLED = (
    "the worker process running it was killed by SIGKILL (the OS kills this way when out of memory)"
)


def test_tasks_of_a_killed_worker_process_name_the_kill_and_complete_on_retry(
    start_server: StartServer,
) -> None:
    server = start_server("--processes", "1", "--threads", "2")
    # A retry runs for 3 s, long enough to see the task running again with the error.
    retried = server.submit({"type": "sleep", "payload": {"seconds": 3}})
    last = server.submit({"type": "sleep", "payload": {"seconds": 3}, "max_attempts": 1})
    for task in (retried, last):
        server.wait_status(task["id"], "processing")
    [child] = supervised_children(server)
    assert server.task(retried["id"])["handled_by"] == child["node"]
    os.kill(child["pid"], signal.SIGKILL)  # by PID: the child only, as the OOM killer does

    def rerunning() -> dict[str, Any] | None:
        task = server.task(retried["id"])
        return task if task["status"] == "processing" and task["attempts"] == 2 else None

    again = wait_until(rerunning, timeout_s=20, what="the task running again")
    assert again["error"] == f"{KILLED} (attempt 1 of 3, worker {child['node']})", again
    failed = server.wait_final(last["id"])
    assert failed["status"] == "failed", failed
    assert failed["error"] == f"{KILLED} (attempt 1 of 1, worker {child['node']})", failed
    done = server.wait_final(retried["id"])
    assert (done["status"], done["attempts"]) == ("completed", 2), done

    [now] = supervised_children(server)
    assert not pid_alive(child["pid"])
    assert (now["restarts"], now["alive"]) == (1, True)
    assert "killed by SIGKILL" in now["last_exit"]
